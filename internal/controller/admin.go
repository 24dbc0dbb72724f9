package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/config"
	"samsa/internal/metadata"
)

func isNotController(err error) bool {
	return errors.Is(err, ErrNotController)
}

func sortedKeys(values map[string]string) []string {
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// DeleteTopicResult is the outcome of deleting one topic.
type DeleteTopicResult struct {
	Name         string
	ID           metadata.UUID
	ErrorCode    int16
	ErrorMessage string
}

// DeleteTopics deletes topics named in names, then those identified in ids;
// results follow the same order (names first).
func (c *Controller) DeleteTopics(ctx context.Context, names []string, ids [][16]byte) []DeleteTopicResult {
	c.write.Lock()
	defer c.write.Unlock()
	image := c.Image()
	broker := c.brokerConfig(image)
	results := make([]DeleteTopicResult, 0, len(names)+len(ids))
	removing := map[metadata.UUID]bool{}
	var records []metadata.Record
	var pending []int
	add := func(result DeleteTopicResult, topic *metadata.TopicImage, unknown *kerr.Error) {
		switch {
		case topic == nil:
			result.ErrorCode, result.ErrorMessage = unknown.Code, unknown.Message
		case !broker.DeleteTopicEnable:
			result.ErrorCode, result.ErrorMessage = kerr.TopicDeletionDisabled.Code, "Topic deletion is disabled."
		default:
			result.Name, result.ID = topic.Name, topic.ID
			if !removing[topic.ID] {
				removing[topic.ID] = true
				records = append(records, metadata.RemoveTopic{ID: topic.ID})
			}
			pending = append(pending, len(results))
		}
		results = append(results, result)
	}
	for _, name := range names {
		add(DeleteTopicResult{Name: name}, image.Topics[name], kerr.UnknownTopicOrPartition)
	}
	for _, id := range ids {
		add(DeleteTopicResult{ID: id}, image.TopicsByID[id], kerr.UnknownTopicID)
	}
	if err := c.propose(ctx, records); err != nil {
		for _, index := range pending {
			results[index].ErrorCode, results[index].ErrorMessage = writeError(err).Code, err.Error()
		}
	}
	return results
}

// CreatePartitions is one topic of a CreatePartitions request.
type CreatePartitions struct {
	Topic      string
	Count      int32     // new total partition count
	Assignment [][]int32 // replicas of each new partition, or nil
}

// CreatePartitions grows topics to the requested partition counts.
func (c *Controller) CreatePartitions(ctx context.Context, requests []CreatePartitions, validateOnly bool) []Result {
	c.write.Lock()
	defer c.write.Unlock()
	image := c.Image()
	results := make([]Result, len(requests))
	for index, request := range requests {
		results[index] = Result{Name: request.Topic, ResourceType: metadata.ResourceTopic}
	}
	c.planAndPropose(ctx, results, validateOnly, func(index int) ([]metadata.Record, *kerr.Error, string) {
		return c.planPartitions(image, requests[index])
	})
	return results
}

// planAndPropose plans the records of every request (plan(i) for
// results[i]), records each refusal in its result, and unless validateOnly
// proposes the records of the accepted ones in one write; a failed write
// becomes the error of every accepted request.
func (c *Controller) planAndPropose(ctx context.Context, results []Result, validateOnly bool, plan func(index int) ([]metadata.Record, *kerr.Error, string)) {
	var records []metadata.Record
	var pending []int
	for index := range results {
		planned, code, message := plan(index)
		if code != nil {
			results[index].ErrorCode, results[index].ErrorMessage = code.Code, message
			continue
		}
		if !validateOnly {
			records = append(records, planned...)
			pending = append(pending, index)
		}
	}
	if err := c.propose(ctx, records); err != nil {
		for _, index := range pending {
			results[index].ErrorCode, results[index].ErrorMessage = writeError(err).Code, err.Error()
		}
	}
}

func (c *Controller) planPartitions(image *metadata.Image, request CreatePartitions) ([]metadata.Record, *kerr.Error, string) {
	topic, ok := image.Topics[request.Topic]
	if !ok {
		return nil, kerr.UnknownTopicOrPartition, "This server does not host this topic-partition."
	}
	current := int32(len(topic.Partitions))
	if request.Count <= current {
		return nil, kerr.InvalidPartitions, fmt.Sprintf("Topic currently has %d partitions, which is higher than or equal to the requested %d.", current, request.Count)
	}
	if request.Count-current > maxPartitions {
		return nil, kerr.InvalidPartitions, "Too many partitions."
	}
	replicationFactor := len(topic.Partitions[0].Replicas)
	added := int(request.Count - current)
	assignment := request.Assignment
	if assignment != nil {
		if len(assignment) != added {
			return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("Increasing the number of partitions by %d but %d assignments provided.", added, len(assignment))
		}
		for index, replicas := range assignment {
			if message := checkReplicas(image, replicas, replicationFactor); message != "" {
				return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("Partition %d: %s", int(current)+index, message)
			}
		}
	} else {
		live := image.UsableBrokers()
		if replicationFactor > len(live) {
			return nil, kerr.InvalidReplicationFactor, fmt.Sprintf("Replication factor %d is larger than the %d live brokers.", replicationFactor, len(live))
		}
		placement := newPlacer(live, newRandom())
		for index := range added {
			assignment = append(assignment, placement.assign(int(current)+index, replicationFactor))
		}
	}
	records := make([]metadata.Record, 0, added)
	for index, replicas := range assignment {
		records = append(records, newPartition(image, topic.ID, current+int32(index), replicas))
	}
	return records, nil, ""
}

// AlterConfig alters the configs of one topic or broker resource.
type AlterConfig struct {
	ResourceType int8 // metadata.ResourceTopic or metadata.ResourceBroker
	Name         string
	Incremental  bool // false: Ops (all OpSet) replace the whole set
	Ops          []config.AlterOp
}

// AlterConfigs applies config changes; validateOnly stops after validation.
func (c *Controller) AlterConfigs(ctx context.Context, requests []AlterConfig, validateOnly bool) []Result {
	c.write.Lock()
	defer c.write.Unlock()
	image := c.Image()
	results := make([]Result, len(requests))
	for index, request := range requests {
		results[index] = Result{Name: request.Name, ResourceType: request.ResourceType}
	}
	c.planAndPropose(ctx, results, validateOnly, func(index int) ([]metadata.Record, *kerr.Error, string) {
		return planConfigs(image, requests[index])
	})
	return results
}

func planConfigs(image *metadata.Image, request AlterConfig) ([]metadata.Record, *kerr.Error, string) {
	var current map[string]string
	switch request.ResourceType {
	case metadata.ResourceTopic:
		topic, ok := image.Topics[request.Name]
		if !ok {
			return nil, kerr.UnknownTopicOrPartition, "Topic " + request.Name + " does not exist."
		}
		current = topic.Configs
	case metadata.ResourceBroker:
		if request.Name != "" {
			if _, err := strconv.ParseInt(request.Name, 10, 32); err != nil {
				return nil, kerr.InvalidRequest, "Broker resource name must be empty or a broker id."
			}
		}
		current = image.BrokerConfigs[request.Name]
	default:
		return nil, kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type %d.", request.ResourceType)
	}
	next, err := nextConfigs(current, request)
	if err == nil && request.ResourceType == metadata.ResourceTopic {
		err = config.ValidateTopicConfigs(next)
	} else if err == nil {
		err = config.ValidateBrokerConfigs(next)
	}
	if err != nil {
		return nil, kerr.InvalidConfig, err.Error()
	}
	return configDiff(request.ResourceType, request.Name, current, next), nil, ""
}

func nextConfigs(current map[string]string, request AlterConfig) (map[string]string, error) {
	if request.Incremental {
		return config.ApplyIncremental(current, request.Ops)
	}
	next := map[string]string{}
	for _, op := range request.Ops {
		if op.Op != config.OpSet {
			return nil, fmt.Errorf("%w: %s: only SET is allowed in a full replacement", config.ErrInvalidConfig, op.Name)
		}
		next[op.Name] = op.Value
	}
	return next, nil
}

// configDiff returns records turning current into next.
func configDiff(resourceType int8, name string, current, next map[string]string) []metadata.Record {
	var records []metadata.Record
	for _, key := range sortedKeys(current) {
		if _, kept := next[key]; !kept {
			records = append(records, metadata.ConfigRecord{ResourceType: resourceType, Name: name, Key: key})
		}
	}
	for _, key := range sortedKeys(next) {
		if old, ok := current[key]; !ok || old != next[key] {
			value := next[key]
			records = append(records, metadata.ConfigRecord{ResourceType: resourceType, Name: name, Key: key, Value: &value})
		}
	}
	return records
}
