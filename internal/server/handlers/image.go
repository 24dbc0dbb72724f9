package handlers

import (
	"sort"

	"samsa/internal/metadata"
	"samsa/internal/partition"
)

// sortedBrokers returns the registered, unfenced brokers by id.
func sortedBrokers(img *metadata.Image) []*metadata.BrokerImage {
	out := make([]*metadata.BrokerImage, 0, len(img.Brokers))
	for _, b := range img.Brokers {
		if !b.Fenced {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// endpointFor returns the broker's advertised endpoint on the named
// listener: clients get addresses of the listener they came in on.
func endpointFor(b *metadata.BrokerImage, listener string) (metadata.Endpoint, bool) {
	for _, ep := range b.Endpoints {
		if ep.Listener == listener {
			return ep, true
		}
	}
	return metadata.Endpoint{}, false
}

// lookupPartition finds a replica this broker leads. The error tells a
// client whether the partition exists elsewhere or not at all.
func lookupPartition(env *Env, topic string, index int32) (*partition.Partition, error) {
	p, ok := env.Partitions.Get(partition.ID{Topic: topic, Partition: index})
	if ok {
		if !p.IsLeader() {
			return nil, partition.ErrNotLeader
		}
		return p, nil
	}
	t := env.Image().Topics[topic]
	if t == nil || index < 0 || int(index) >= len(t.Partitions) {
		return nil, partition.ErrUnknownPartition
	}
	return nil, partition.ErrNotLeader
}

// topicNameByID resolves a topic id (request versions with topic ids).
func topicNameByID(env *Env, id [16]byte) (string, bool) {
	t := env.Image().TopicsByID[id]
	if t == nil {
		return "", false
	}
	return t.Name, true
}

// rackOf returns the broker's rack, nil when it has none.
func rackOf(b *metadata.BrokerImage) *string {
	if b.Rack == "" {
		return nil
	}
	rack := b.Rack
	return &rack
}
