package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	"samsa/internal/metadata"
)

// DefaultImbalanceCheckInterval is leader.imbalance.check.interval.seconds's default.
const DefaultImbalanceCheckInterval = 300 * time.Second

// DefaultImbalancePercentage is leader.imbalance.per.broker.percentage's default.
const DefaultImbalancePercentage = 10

// AlterPartitionRequest is a partition leader's ISR change.
type AlterPartitionRequest struct {
	BrokerID       int32
	BrokerEpoch    int64
	TopicID        [16]byte
	Partition      int32
	LeaderEpoch    int32
	PartitionEpoch int32
	NewISR         []int32
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// AlterPartition changes a partition's ISR on behalf of its leader and
// returns the partition as committed. The new ISR must hold the leader and
// only registered, unfenced replicas; brokers it adds must not be in
// controlled shutdown. An ISR equal to the current one writes nothing.
func (c *Controller) AlterPartition(ctx context.Context, request AlterPartitionRequest) (metadata.PartitionImage, error) {
	c.write.Lock()
	defer c.write.Unlock()
	if !c.syncSessionsLocked() {
		return metadata.PartitionImage{}, ErrNotController
	}
	image := c.Image()
	if _, err := c.checkBrokerEpoch(image, request.BrokerID, request.BrokerEpoch); err != nil {
		return metadata.PartitionImage{}, err
	}
	topic, partition, err := lookupPartition(image, metadata.UUID(request.TopicID), request.Partition)
	if err != nil {
		return metadata.PartitionImage{}, err
	}
	if err := checkAlterPartition(image, partition, request); err != nil {
		return *partition, err
	}
	if slices.Equal(request.NewISR, partition.ISR) {
		return *partition, nil
	}
	state := stateOf(partition)
	state.isr = request.NewISR
	completeReassignment(image, &state) // Kafka checks on every ISR change
	if err := c.propose(ctx, []metadata.Record{changeTo(topic, partition, state)}); err != nil {
		return *partition, err
	}
	_, updated, err := lookupPartition(c.Image(), topic.ID, request.Partition)
	if err != nil {
		return metadata.PartitionImage{}, err
	}
	if updated.Leader != request.BrokerID {
		// Only a completed reassignment moves the leader here; the old
		// leader learns its new role from the metadata, as in Kafka.
		return *updated, fmt.Errorf("%w: a completed reassignment moved the leader to %d", ErrNotLeader, updated.Leader)
	}
	return *updated, nil
}

func lookupPartition(image *metadata.Image, id metadata.UUID, index int32) (*metadata.TopicImage, *metadata.PartitionImage, error) {
	topic, ok := image.TopicsByID[id]
	if !ok || index < 0 || int(index) >= len(topic.Partitions) {
		return nil, nil, fmt.Errorf("%w: topic id %s partition %d", ErrUnknownTopicOrPartition, id, index)
	}
	return topic, &topic.Partitions[index], nil
}

func checkAlterPartition(image *metadata.Image, partition *metadata.PartitionImage, request AlterPartitionRequest) error {
	switch {
	case partition.Leader != request.BrokerID:
		return fmt.Errorf("%w: broker %d, leader %d", ErrNotLeader, request.BrokerID, partition.Leader)
	case request.LeaderEpoch < partition.LeaderEpoch:
		return fmt.Errorf("%w: %d, current %d", ErrFencedLeaderEpoch, request.LeaderEpoch, partition.LeaderEpoch)
	case request.LeaderEpoch > partition.LeaderEpoch:
		return fmt.Errorf("%w: leader epoch %d is newer than %d", ErrNotController, request.LeaderEpoch, partition.LeaderEpoch)
	case request.PartitionEpoch != partition.PartitionEpoch:
		return fmt.Errorf("%w: %d, current %d", ErrInvalidUpdateVersion, request.PartitionEpoch, partition.PartitionEpoch)
	case len(request.NewISR) > len(partition.Replicas):
		return fmt.Errorf("%w: the new ISR has %d members for %d replicas", ErrIneligibleReplica, len(request.NewISR), len(partition.Replicas))
	case !slices.Contains(request.NewISR, partition.Leader):
		return fmt.Errorf("%w: the new ISR %v does not contain the leader %d", ErrInvalidRequest, request.NewISR, partition.Leader)
	}
	for index, member := range request.NewISR {
		if slices.Contains(request.NewISR[:index], member) {
			return fmt.Errorf("%w: replica %d appears twice in the new ISR", ErrInvalidRequest, member)
		}
		broker, registered := image.Brokers[member]
		added := !slices.Contains(partition.ISR, member)
		if !slices.Contains(partition.Replicas, member) || !registered || broker.Fenced || added && broker.InControlledShutdown {
			return fmt.Errorf("%w: broker %d", ErrIneligibleReplica, member)
		}
	}
	return nil
}

// ElectLeaders runs a preferred (first replica, if in the ISR and usable)
// or unclean (only for leaderless partitions: an ISR member, else any
// usable replica) election on partitions, nil meaning all; for nil,
// partitions needing no election are left out. Each partition maps to nil
// or its error (ErrElectionNotNeeded, ErrPreferredLeaderNotAvailable,
// ErrEligibleLeadersNotAvailable, ErrUnknownTopicOrPartition,
// ErrNotController, a write error).
func (c *Controller) ElectLeaders(ctx context.Context, preferred bool, partitions []TopicPartition) map[TopicPartition]error {
	c.write.Lock()
	defer c.write.Unlock()
	image := c.Image()
	all := partitions == nil
	if all {
		partitions = allPartitions(image)
	}
	results := make(map[TopicPartition]error, len(partitions))
	if !c.syncSessionsLocked() {
		for _, current := range partitions {
			results[current] = ErrNotController
		}
		return results
	}
	var records []metadata.Record
	var pending []TopicPartition
	for _, current := range partitions {
		if _, seen := results[current]; seen {
			continue
		}
		record, err := electLeader(image, current, preferred)
		if all && err == ErrElectionNotNeeded {
			continue
		}
		results[current] = err
		if record != nil {
			records = append(records, record)
			pending = append(pending, current)
		}
	}
	if err := c.propose(ctx, records); err != nil {
		for _, current := range pending {
			results[current] = err
		}
	}
	return results
}

func allPartitions(image *metadata.Image) []TopicPartition {
	var partitions []TopicPartition
	for _, name := range image.TopicNames() {
		for index := range image.Topics[name].Partitions {
			partitions = append(partitions, TopicPartition{Topic: name, Partition: int32(index)})
		}
	}
	return partitions
}

func electLeader(image *metadata.Image, target TopicPartition, preferred bool) (metadata.Record, error) {
	topic, ok := image.Topics[target.Topic]
	if !ok || target.Partition < 0 || int(target.Partition) >= len(topic.Partitions) {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopicOrPartition, target.Topic, target.Partition)
	}
	partition := &topic.Partitions[target.Partition]
	if len(partition.Replicas) == 0 {
		return nil, ErrEligibleLeadersNotAvailable
	}
	if preferred {
		first := partition.Replicas[0]
		if partition.Leader == first {
			return nil, ErrElectionNotNeeded
		}
		if !slices.Contains(partition.ISR, first) || !image.IsUsable(first) {
			return nil, ErrPreferredLeaderNotAvailable
		}
		return partitionChange(topic, partition, first, partition.ISR), nil
	}
	if partition.Leader >= 0 {
		return nil, ErrElectionNotNeeded
	}
	if next := firstUsable(image, partition.Replicas, partition.ISR, -1); next >= 0 {
		return partitionChange(topic, partition, next, partition.ISR), nil
	}
	// An explicit unclean election ignores unclean.leader.election.enable, as Kafka's does.
	if next := firstUsable(image, partition.Replicas, partition.Replicas, -1); next >= 0 {
		return partitionChange(topic, partition, next, []int32{next}), nil
	}
	return nil, ErrEligibleLeadersNotAvailable
}

func (c *Controller) imbalanceCheckInterval() time.Duration {
	if c.config.LeaderImbalanceCheckInterval > 0 {
		return c.config.LeaderImbalanceCheckInterval
	}
	return DefaultImbalanceCheckInterval
}

// imbalancedPartitions returns the partitions whose preferred leader is
// usable, in the ISR and not leading, counted only for brokers whose share
// of such partitions exceeds percentage.
func imbalancedPartitions(image *metadata.Image, percentage int) []TopicPartition {
	preferredCounts := map[int32]int{}
	movable := map[int32][]TopicPartition{}
	for _, name := range image.TopicNames() {
		for index, partition := range image.Topics[name].Partitions {
			if len(partition.Replicas) == 0 {
				continue
			}
			first := partition.Replicas[0]
			preferredCounts[first]++
			if partition.Leader != first && slices.Contains(partition.ISR, first) && image.IsUsable(first) {
				movable[first] = append(movable[first], TopicPartition{Topic: name, Partition: int32(index)})
			}
		}
	}
	var partitions []TopicPartition
	for _, id := range image.BrokerIDs() {
		if len(movable[id])*100 > percentage*preferredCounts[id] {
			partitions = append(partitions, movable[id]...)
		}
	}
	return partitions
}

// rebalanceLeaders moves leadership back to preferred replicas when
// auto.leader.rebalance.enable is set and a broker's imbalance is too high.
func (c *Controller) rebalanceLeaders() {
	if !c.IsActive() {
		return
	}
	image := c.Image()
	if enabled, _ := c.brokerConfig(image).Value("auto.leader.rebalance.enable"); enabled != "true" {
		return
	}
	percentage := c.config.LeaderImbalancePercentage
	if percentage <= 0 {
		percentage = DefaultImbalancePercentage
	}
	partitions := imbalancedPartitions(image, percentage)
	if len(partitions) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for target, err := range c.ElectLeaders(ctx, true, partitions) {
		if err != nil {
			c.logger.Debug("preferred leader election", "topic", target.Topic, "partition", target.Partition, "error", err)
		}
	}
}
