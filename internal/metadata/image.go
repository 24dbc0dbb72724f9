// Package metadata defines Samsa's cluster metadata records and the
// immutable Image built by applying them in log order.
package metadata

import (
	"maps"
	"slices"
	"sort"
)

// BrokerImage is the registered state of one broker.
type BrokerImage struct {
	ID            int32
	Endpoints     []Endpoint
	Rack          string
	IncarnationID UUID
	Fenced        bool
	Epoch         int64 // log index of the latest registration
	// InControlledShutdown is set while the broker hands over its
	// leaderships before stopping; cleared by unfencing or re-registration.
	InControlledShutdown bool `json:",omitempty"`
}

// PartitionImage is the state of one partition.
type PartitionImage struct {
	Partition      int32
	Replicas       []int32
	ISR            []int32
	Leader         int32 // -1 = none
	LeaderEpoch    int32
	PartitionEpoch int32
	// AddingReplicas and RemovingReplicas describe a reassignment in
	// progress (KIP-455): Replicas is then the target set followed by the
	// replicas being removed. Both are empty when none is in progress.
	AddingReplicas   []int32 `json:",omitempty"`
	RemovingReplicas []int32 `json:",omitempty"`
}

// Reassigning reports whether a reassignment of the partition is in progress.
func (partition *PartitionImage) Reassigning() bool {
	return len(partition.AddingReplicas) > 0 || len(partition.RemovingReplicas) > 0
}

// TopicImage is the state of one topic. Partitions[i] is partition i.
type TopicImage struct {
	Name       string
	ID         UUID
	Partitions []PartitionImage
	Configs    map[string]string // overrides only
}

// Image is an immutable view of the cluster metadata. Never modify one:
// Apply returns a new Image sharing unchanged parts with the old one.
type Image struct {
	ClusterID      string
	Brokers        map[int32]*BrokerImage
	Topics         map[string]*TopicImage
	TopicsByID     map[UUID]*TopicImage
	BrokerConfigs  map[string]map[string]string // "" = cluster default, else broker id
	NextProducerID int64
	AppliedIndex   uint64 // log index of the last applied entry
}

// Empty returns the image of an empty log.
func Empty() *Image {
	return &Image{
		Brokers:       map[int32]*BrokerImage{},
		Topics:        map[string]*TopicImage{},
		TopicsByID:    map[UUID]*TopicImage{},
		BrokerConfigs: map[string]map[string]string{},
	}
}

// Topic returns the topic named name.
func (image *Image) Topic(name string) (*TopicImage, bool) {
	topic, ok := image.Topics[name]
	return topic, ok
}

// TopicByID returns the topic with the given id.
func (image *Image) TopicByID(id UUID) (*TopicImage, bool) {
	topic, ok := image.TopicsByID[id]
	return topic, ok
}

// TopicNames returns every topic name, sorted.
func (image *Image) TopicNames() []string {
	names := make([]string, 0, len(image.Topics))
	for name := range image.Topics {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// BrokerIDs returns every registered broker id, sorted.
func (image *Image) BrokerIDs() []int32 {
	ids := make([]int32, 0, len(image.Brokers))
	for id := range image.Brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// UnfencedBrokers returns the unfenced brokers sorted by id.
func (image *Image) UnfencedBrokers() []*BrokerImage {
	var brokers []*BrokerImage
	for _, id := range image.BrokerIDs() {
		if broker := image.Brokers[id]; !broker.Fenced {
			brokers = append(brokers, broker)
		}
	}
	return brokers
}

// UsableBrokers returns the brokers that may take new replicas and
// leaderships (unfenced and not in controlled shutdown), sorted by id.
func (image *Image) UsableBrokers() []*BrokerImage {
	var brokers []*BrokerImage
	for _, broker := range image.UnfencedBrokers() {
		if !broker.InControlledShutdown {
			brokers = append(brokers, broker)
		}
	}
	return brokers
}

// IsUsable reports whether broker id is registered, unfenced and not in
// controlled shutdown: eligible to lead and to join an ISR.
func (image *Image) IsUsable(id int32) bool {
	broker, ok := image.Brokers[id]
	return ok && !broker.Fenced && !broker.InControlledShutdown
}

// clone returns a shallow copy of the topic whose partition slice and
// configs may be modified without affecting the original.
func (topic *TopicImage) clone() *TopicImage {
	copied := *topic
	copied.Partitions = slices.Clone(topic.Partitions)
	copied.Configs = maps.Clone(topic.Configs)
	if copied.Configs == nil {
		copied.Configs = map[string]string{}
	}
	return &copied
}
