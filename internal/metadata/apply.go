package metadata

import (
	"fmt"
	"maps"
	"slices"
)

// builder applies records to copies of an image's maps, copying each map
// at most once per batch.
type builder struct {
	image         *Image
	brokersCopied bool
	topicsCopied  bool
	configsCopied bool
	ownedTopics   map[*TopicImage]bool // topics already cloned in this batch
}

// Apply returns the image after applying records as the log entry at
// index. The batch is atomic: on error the receiver is unchanged and the
// error (wrapping ErrBadRecord) says which record was rejected.
func (image *Image) Apply(index uint64, records []Record) (*Image, error) {
	next := *image
	current := &builder{image: &next, ownedTopics: map[*TopicImage]bool{}}
	for position, record := range records {
		if err := current.apply(int64(index), record); err != nil {
			return nil, fmt.Errorf("%w: record %d (%s): %v", ErrBadRecord, position, record.recordType(), err)
		}
	}
	next.AppliedIndex = index
	return &next, nil
}

func (current *builder) apply(index int64, record Record) error {
	switch typed := record.(type) {
	case ClusterIDRecord:
		current.image.ClusterID = typed.ClusterID
	case RegisterBroker:
		current.brokers()[typed.ID] = &BrokerImage{ID: typed.ID, Endpoints: slices.Clone(typed.Endpoints), Rack: typed.Rack, IncarnationID: typed.IncarnationID, Fenced: typed.Fenced, Epoch: index}
	case FenceBroker:
		return current.setFenced(typed.ID, true)
	case UnfenceBroker:
		return current.setFenced(typed.ID, false)
	case BrokerControlledShutdown:
		return current.setControlledShutdown(typed.ID)
	case TopicRecord:
		return current.addTopic(typed)
	case PartitionRecord:
		return current.setPartition(typed)
	case PartitionChange:
		return current.changePartition(typed)
	case RemoveTopic:
		return current.removeTopic(typed.ID)
	case ConfigRecord:
		return current.setConfig(typed)
	case ProducerIDsBlock:
		if typed.NextProducerID < current.image.NextProducerID {
			return fmt.Errorf("producer id block moves backwards to %d", typed.NextProducerID)
		}
		current.image.NextProducerID = typed.NextProducerID
	default:
		return fmt.Errorf("unknown record %T", record)
	}
	return nil
}

func (current *builder) brokers() map[int32]*BrokerImage {
	if !current.brokersCopied {
		current.image.Brokers = maps.Clone(current.image.Brokers)
		current.brokersCopied = true
	}
	return current.image.Brokers
}

func (current *builder) setFenced(id int32, fenced bool) error {
	broker, ok := current.image.Brokers[id]
	if !ok {
		return fmt.Errorf("broker %d is not registered", id)
	}
	copied := *broker
	copied.Fenced = fenced
	if !fenced {
		copied.InControlledShutdown = false
	}
	current.brokers()[id] = &copied
	return nil
}

func (current *builder) setControlledShutdown(id int32) error {
	broker, ok := current.image.Brokers[id]
	if !ok {
		return fmt.Errorf("broker %d is not registered", id)
	}
	copied := *broker
	copied.InControlledShutdown = true
	current.brokers()[id] = &copied
	return nil
}

func (current *builder) topics() {
	if !current.topicsCopied {
		current.image.Topics = maps.Clone(current.image.Topics)
		current.image.TopicsByID = maps.Clone(current.image.TopicsByID)
		current.topicsCopied = true
	}
}

func (current *builder) addTopic(record TopicRecord) error {
	if _, exists := current.image.Topics[record.Name]; exists {
		return fmt.Errorf("topic %q exists", record.Name)
	}
	if _, exists := current.image.TopicsByID[record.ID]; exists || record.ID.IsZero() {
		return fmt.Errorf("topic id %s is zero or in use", record.ID)
	}
	current.topics()
	topic := &TopicImage{Name: record.Name, ID: record.ID, Configs: map[string]string{}}
	current.ownedTopics[topic] = true
	current.image.Topics[record.Name] = topic
	current.image.TopicsByID[record.ID] = topic
	return nil
}

// mutableTopic returns a copy of the topic owned by this batch.
func (current *builder) mutableTopic(id UUID) (*TopicImage, error) {
	topic, ok := current.image.TopicsByID[id]
	if !ok {
		return nil, fmt.Errorf("unknown topic id %s", id)
	}
	if current.ownedTopics[topic] {
		return topic, nil
	}
	current.topics()
	copied := topic.clone()
	current.ownedTopics[copied] = true
	current.image.Topics[copied.Name] = copied
	current.image.TopicsByID[id] = copied
	return copied, nil
}

func (current *builder) setPartition(record PartitionRecord) error {
	topic, err := current.mutableTopic(record.TopicID)
	if err != nil {
		return err
	}
	if record.Partition < 0 || int(record.Partition) > len(topic.Partitions) {
		return fmt.Errorf("partition %d of %q out of order", record.Partition, topic.Name)
	}
	partition := PartitionImage{
		Partition: record.Partition, Replicas: slices.Clone(record.Replicas), ISR: slices.Clone(record.ISR),
		Leader: record.Leader, LeaderEpoch: record.LeaderEpoch, PartitionEpoch: record.PartitionEpoch,
		AddingReplicas: cloneOrNil(record.AddingReplicas), RemovingReplicas: cloneOrNil(record.RemovingReplicas),
	}
	if int(record.Partition) == len(topic.Partitions) {
		topic.Partitions = append(topic.Partitions, partition)
	} else {
		topic.Partitions[record.Partition] = partition
	}
	return nil
}

func (current *builder) changePartition(record PartitionChange) error {
	topic, err := current.mutableTopic(record.TopicID)
	if err != nil {
		return err
	}
	if record.Partition < 0 || int(record.Partition) >= len(topic.Partitions) {
		return fmt.Errorf("unknown partition %d of %q", record.Partition, topic.Name)
	}
	partition := &topic.Partitions[record.Partition]
	if record.Leader != nil && *record.Leader != partition.Leader {
		partition.Leader = *record.Leader
		partition.LeaderEpoch++
	}
	if record.ISR != nil {
		partition.ISR = slices.Clone(record.ISR)
	}
	if record.Replicas != nil {
		partition.Replicas = slices.Clone(record.Replicas)
	}
	if record.AddingReplicas != nil {
		partition.AddingReplicas = cloneOrNil(record.AddingReplicas)
	}
	if record.RemovingReplicas != nil {
		partition.RemovingReplicas = cloneOrNil(record.RemovingReplicas)
	}
	partition.PartitionEpoch++
	return nil
}

func (current *builder) removeTopic(id UUID) error {
	topic, ok := current.image.TopicsByID[id]
	if !ok {
		return fmt.Errorf("unknown topic id %s", id)
	}
	current.topics()
	delete(current.image.Topics, topic.Name)
	delete(current.image.TopicsByID, id)
	return nil
}

func (current *builder) setConfig(record ConfigRecord) error {
	switch record.ResourceType {
	case ResourceTopic:
		existing, ok := current.image.Topics[record.Name]
		if !ok {
			return fmt.Errorf("config for unknown topic %q", record.Name)
		}
		topic, err := current.mutableTopic(existing.ID)
		if err != nil {
			return err
		}
		setOrDelete(topic.Configs, record.Key, record.Value)
	case ResourceBroker:
		if !current.configsCopied {
			current.image.BrokerConfigs = maps.Clone(current.image.BrokerConfigs)
			current.configsCopied = true
		}
		configs := maps.Clone(current.image.BrokerConfigs[record.Name])
		if configs == nil {
			configs = map[string]string{}
		}
		setOrDelete(configs, record.Key, record.Value)
		if len(configs) == 0 {
			delete(current.image.BrokerConfigs, record.Name)
		} else {
			current.image.BrokerConfigs[record.Name] = configs
		}
	default:
		return fmt.Errorf("unsupported resource type %d", record.ResourceType)
	}
	return nil
}

func setOrDelete(configs map[string]string, key string, value *string) {
	if value == nil {
		delete(configs, key)
	} else {
		configs[key] = *value
	}
}

// cloneOrNil copies ids, returning nil for an empty list so that images
// compare and encode the same whichever way "none" was written.
func cloneOrNil(ids []int32) []int32 {
	if len(ids) == 0 {
		return nil
	}
	return slices.Clone(ids)
}
