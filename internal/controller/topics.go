package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/config"
	"samsa/internal/metadata"
)

// MaxTopicNameLength is Kafka's limit on topic name length.
const MaxTopicNameLength = 249

// maxPartitions bounds partitions per request so bad input cannot exhaust memory.
const maxPartitions = 1 << 16

// CreateTopic is one topic of a CreateTopics request.
type CreateTopic struct {
	Name                 string
	NumPartitions        int32 // -1 = num.partitions
	ReplicationFactor    int16 // -1 = default.replication.factor
	Assignment           map[int32][]int32
	Configs              map[string]string
	CapReplicationFactor bool // internal topics: cap the factor to the live brokers
}

// CreateTopicResult is the outcome for one topic.
type CreateTopicResult struct {
	Name              string
	ID                metadata.UUID
	ErrorCode         int16
	ErrorMessage      string
	NumPartitions     int32
	ReplicationFactor int16
	Configs           []config.Entry
}

// Result is the outcome for one resource of CreatePartitions or AlterConfigs.
type Result struct {
	Name         string
	ResourceType int8
	ErrorCode    int16
	ErrorMessage string
}

// ValidateTopicName checks Kafka's topic name rules.
func ValidateTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > MaxTopicNameLength {
		return fmt.Errorf("topic name %q is illegal: it must be 1-%d characters and not '.' or '..'", name, MaxTopicNameLength)
	}
	for _, character := range []byte(name) {
		valid := character >= 'a' && character <= 'z' || character >= 'A' && character <= 'Z' ||
			character >= '0' && character <= '9' || character == '.' || character == '_' || character == '-'
		if !valid {
			return fmt.Errorf("topic name %q is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

// brokerConfig returns the broker config with the image's dynamic configs applied.
func (c *Controller) brokerConfig(image *metadata.Image) *config.Broker {
	perBroker := image.BrokerConfigs[strconv.Itoa(int(c.config.NodeID))]
	withDynamic, err := c.config.Broker.WithDynamic(perBroker, image.BrokerConfigs[""])
	if err != nil {
		return c.config.Broker
	}
	return withDynamic
}

// CreateTopics validates and creates topics; validateOnly stops after validation.
func (c *Controller) CreateTopics(ctx context.Context, requests []CreateTopic, validateOnly bool) []CreateTopicResult {
	c.write.Lock()
	defer c.write.Unlock()
	image := c.Image()
	broker := c.brokerConfig(image)
	results := make([]CreateTopicResult, len(requests))
	counts := map[string]int{}
	for _, request := range requests {
		counts[request.Name]++
	}
	var records []metadata.Record
	var created []int
	for index, request := range requests {
		results[index] = CreateTopicResult{Name: request.Name, NumPartitions: -1, ReplicationFactor: -1}
		if counts[request.Name] > 1 {
			results[index].fail(kerr.InvalidRequest, "topic "+request.Name+" appears more than once in the request")
			continue
		}
		topicRecords, err := c.planTopic(image, broker, request, &results[index])
		if err != nil {
			continue
		}
		if !validateOnly {
			records = append(records, topicRecords...)
		}
		created = append(created, index)
	}
	if err := c.propose(ctx, records); err != nil {
		for _, index := range created {
			results[index].failWrite(err)
		}
	}
	return results
}

func (result *CreateTopicResult) fail(code *kerr.Error, message string) {
	result.ErrorCode, result.ErrorMessage = code.Code, message
	result.NumPartitions, result.ReplicationFactor, result.Configs, result.ID = -1, -1, nil, metadata.UUID{}
}

func (result *CreateTopicResult) failWrite(err error) {
	result.fail(writeError(err), err.Error())
}

// writeError maps a propose error to a Kafka error code.
func writeError(err error) *kerr.Error {
	if err == ErrNotController || isNotController(err) {
		return kerr.NotController
	}
	return kerr.UnknownServerError
}

// planTopic validates one request and returns its records, filling result.
func (c *Controller) planTopic(image *metadata.Image, broker *config.Broker, request CreateTopic, result *CreateTopicResult) ([]metadata.Record, error) {
	reject := func(code *kerr.Error, message string) ([]metadata.Record, error) {
		result.fail(code, message)
		return nil, code
	}
	if err := ValidateTopicName(request.Name); err != nil {
		return reject(kerr.InvalidTopicException, err.Error())
	}
	if _, exists := image.Topics[request.Name]; exists {
		return reject(kerr.TopicAlreadyExists, "Topic '"+request.Name+"' already exists.")
	}
	c.warnOnCollision(image, request.Name)
	assignment, code, message := c.planAssignment(image, broker, request)
	if code != nil {
		return reject(code, message)
	}
	if err := config.ValidateTopicConfigs(request.Configs); err != nil {
		return reject(kerr.InvalidConfig, err.Error())
	}
	id := metadata.NewUUID()
	for image.TopicsByID[id] != nil {
		id = metadata.NewUUID()
	}
	result.ID, result.NumPartitions, result.ReplicationFactor = id, int32(len(assignment)), int16(len(assignment[0]))
	result.Configs = broker.DescribeTopic(request.Configs)
	records := []metadata.Record{metadata.TopicRecord{Name: request.Name, ID: id}}
	for _, key := range sortedKeys(request.Configs) {
		value := request.Configs[key]
		records = append(records, metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, Name: request.Name, Key: key, Value: &value})
	}
	for partition, replicas := range assignment {
		records = append(records, newPartition(image, id, int32(partition), replicas))
	}
	return records, nil
}

func newRandom() *rand.Rand {
	return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

// newPartition returns a new partition whose ISR is its usable replicas,
// led by the first of them (callers ensure there is one).
func newPartition(image *metadata.Image, id metadata.UUID, partition int32, replicas []int32) metadata.PartitionRecord {
	isr := make([]int32, 0, len(replicas))
	for _, replica := range replicas {
		if image.IsUsable(replica) {
			isr = append(isr, replica)
		}
	}
	leader := int32(-1)
	if len(isr) > 0 {
		leader = isr[0]
	} else {
		isr = slices.Clone(replicas)
	}
	return metadata.PartitionRecord{TopicID: id, Partition: partition, Replicas: replicas, ISR: isr, Leader: leader}
}

// planAssignment returns the replicas of every partition or an error code and message.
func (c *Controller) planAssignment(image *metadata.Image, broker *config.Broker, request CreateTopic) ([][]int32, *kerr.Error, string) {
	if len(request.Assignment) > 0 {
		if request.NumPartitions != -1 || request.ReplicationFactor != -1 {
			return nil, kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."
		}
		return checkAssignment(image, request.Assignment)
	}
	partitions, replicationFactor := request.NumPartitions, int(request.ReplicationFactor)
	if partitions == -1 {
		partitions = broker.NumPartitions
	}
	if replicationFactor == -1 {
		replicationFactor = int(broker.DefaultReplicationFactor)
	}
	if partitions <= 0 || partitions > maxPartitions {
		return nil, kerr.InvalidPartitions, fmt.Sprintf("Number of partitions must be between 1 and %d.", maxPartitions)
	}
	live := image.UsableBrokers()
	if request.CapReplicationFactor && replicationFactor > len(live) && len(live) > 0 {
		replicationFactor = len(live)
	}
	if replicationFactor <= 0 {
		return nil, kerr.InvalidReplicationFactor, "Replication factor must be larger than 0."
	}
	if replicationFactor > len(live) {
		return nil, kerr.InvalidReplicationFactor, fmt.Sprintf("Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.", replicationFactor, replicationFactor, len(live))
	}
	placement := newPlacer(live, newRandom())
	assignment := make([][]int32, partitions)
	for partition := range assignment {
		assignment[partition] = placement.assign(partition, replicationFactor)
	}
	return assignment, nil, ""
}

// checkAssignment validates a manual assignment: partitions 0..n-1, same
// non-zero replica count, no duplicate replicas, registered brokers only.
func checkAssignment(image *metadata.Image, manual map[int32][]int32) ([][]int32, *kerr.Error, string) {
	if len(manual) > maxPartitions {
		return nil, kerr.InvalidPartitions, "Too many partitions."
	}
	assignment := make([][]int32, len(manual))
	for partition, replicas := range manual {
		if partition < 0 || int(partition) >= len(manual) {
			return nil, kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence."
		}
		assignment[partition] = replicas
	}
	for partition, replicas := range assignment {
		if message := checkReplicas(image, replicas, len(assignment[0])); message != "" {
			return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("Partition %d: %s", partition, message)
		}
	}
	return assignment, nil, ""
}

func checkReplicas(image *metadata.Image, replicas []int32, expected int) string {
	if len(replicas) == 0 {
		return "replica list is empty"
	}
	if len(replicas) != expected {
		return "all partitions must have the same number of replicas"
	}
	for index, replica := range replicas {
		if slices.Contains(replicas[:index], replica) {
			return fmt.Sprintf("duplicate replica %d", replica)
		}
		if _, ok := image.Brokers[replica]; !ok {
			return fmt.Sprintf("broker %d is not registered", replica)
		}
	}
	if !slices.ContainsFunc(replicas, image.IsUsable) {
		return "all brokers of the assignment are fenced or in controlled shutdown"
	}
	return ""
}

// warnOnCollision logs, as Kafka does, when name differs from an existing
// topic only by '.' versus '_' (their metric names would collide).
func (c *Controller) warnOnCollision(image *metadata.Image, name string) {
	if !strings.ContainsAny(name, "._") {
		return
	}
	normalized := strings.ReplaceAll(name, ".", "_")
	for existing := range image.Topics {
		if existing != name && strings.ReplaceAll(existing, ".", "_") == normalized {
			c.logger.Warn("topic name collides with an existing topic because of '.' and '_'", "topic", name, "existing", existing)
			return
		}
	}
}
