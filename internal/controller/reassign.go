package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"samsa/internal/metadata"
)

// Reassignment is a partition reassignment in progress (KIP-455): Replicas
// is the full replica set (the target followed by the replicas being
// removed), Adding the target replicas not yet replicas before it started,
// Removing the replicas that leave when it completes.
type Reassignment struct {
	Replicas []int32
	Adding   []int32
	Removing []int32
}

// partitionState is the state a partition change aims at.
type partitionState struct {
	leader                          int32
	isr, replicas, adding, removing []int32
}

func stateOf(partition *metadata.PartitionImage) partitionState {
	return partitionState{
		leader: partition.Leader, isr: partition.ISR, replicas: partition.Replicas,
		adding: partition.AddingReplicas, removing: partition.RemovingReplicas,
	}
}

// AlterPartitionReassignments starts (a replica list) or cancels (a nil
// list) reassignments. Starting one makes the replicas the target set T
// followed by the current replicas not in T; the replicas added follow the
// leader, and once every one of them is in the ISR (AlterPartition) the
// reassignment completes: the replicas become T, the ISR loses the removed
// replicas and a leader outside T hands over to the first of T in the ISR.
// A reassignment that can complete at once does. Cancelling reverts to the
// replicas before the reassignment. Each partition maps to nil or its error
// (ErrInvalidReplicaAssignment, ErrNoReassignmentInProgress,
// ErrUnknownTopicOrPartition, ErrNotController, a write error).
func (c *Controller) AlterPartitionReassignments(ctx context.Context, targets map[TopicPartition][]int32, options ReassignOptions) map[TopicPartition]error {
	c.write.Lock()
	defer c.write.Unlock()
	results := make(map[TopicPartition]error, len(targets))
	names := make([]TopicPartition, 0, len(targets))
	for target := range targets {
		names = append(names, target)
	}
	slices.SortFunc(names, compareTopicPartitions)
	if !c.syncSessionsLocked() {
		for _, name := range names {
			results[name] = ErrNotController
		}
		return results
	}
	image := c.Image()
	unclean := c.newUncleanCache(image)
	var records []metadata.Record
	var pending []TopicPartition
	for _, name := range names {
		record, err := planReassignment(image, unclean, name, targets[name], options)
		results[name] = err
		if record != nil {
			records = append(records, record)
			pending = append(pending, name)
		}
	}
	if err := c.propose(ctx, records); err != nil {
		for _, name := range pending {
			results[name] = err
		}
	}
	return results
}

// ReassignOptions qualifies a batch of reassignments.
type ReassignOptions struct {
	// AllowReplicationFactorChange lets a target have another size than
	// the partition's replica set (always true before
	// AlterPartitionReassignments v1).
	AllowReplicationFactorChange bool
}

func compareTopicPartitions(a, b TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// ListPartitionReassignments returns the reassignments in progress among
// partitions (nil = every partition); partitions that are unknown or not
// being reassigned are left out, as Kafka does.
func (c *Controller) ListPartitionReassignments(partitions []TopicPartition) map[TopicPartition]Reassignment {
	image := c.Image()
	if partitions == nil {
		partitions = allPartitions(image)
	}
	results := map[TopicPartition]Reassignment{}
	for _, name := range partitions {
		topic, ok := image.Topics[name.Topic]
		if !ok || name.Partition < 0 || int(name.Partition) >= len(topic.Partitions) {
			continue
		}
		partition := &topic.Partitions[name.Partition]
		if !partition.Reassigning() {
			continue
		}
		results[name] = Reassignment{
			Replicas: slices.Clone(partition.Replicas),
			Adding:   slices.Clone(partition.AddingReplicas),
			Removing: slices.Clone(partition.RemovingReplicas),
		}
	}
	return results
}

func planReassignment(image *metadata.Image, unclean *uncleanCache, name TopicPartition, target []int32, options ReassignOptions) (metadata.Record, error) {
	topic, ok := image.Topics[name.Topic]
	if !ok || name.Partition < 0 || int(name.Partition) >= len(topic.Partitions) {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopicOrPartition, name.Topic, name.Partition)
	}
	partition := &topic.Partitions[name.Partition]
	if target == nil {
		return planCancel(image, unclean, topic, partition)
	}
	if err := checkReplicaAssignment(image, target); err != nil {
		return nil, err
	}
	current := partition.Replicas
	// A new target during a reassignment is judged against the replicas
	// before it: a replica still being added stays "adding" until it is in
	// the ISR, even when the new target keeps it.
	original := minus(current, partition.AddingReplicas)
	if !options.AllowReplicationFactorChange && len(target) != len(original) {
		return nil, fmt.Errorf("%w: the replication factor of %s-%d would change from %d to %d", ErrReplicationFactorChange, name.Topic, name.Partition, len(original), len(target))
	}
	state := stateOf(partition)
	state.replicas = append(slices.Clone(target), minus(current, target)...)
	state.adding = minus(target, original)
	state.removing = minus(current, target)
	completeReassignment(image, &state)
	return changeTo(topic, partition, state), nil
}

// checkReplicaAssignment rejects an empty target, duplicates and brokers
// that are not registered or are fenced.
func checkReplicaAssignment(image *metadata.Image, target []int32) error {
	if len(target) == 0 {
		return fmt.Errorf("%w: the replica list is empty", ErrInvalidReplicaAssignment)
	}
	for index, id := range target {
		if slices.Contains(target[:index], id) {
			return fmt.Errorf("%w: broker %d appears twice", ErrInvalidReplicaAssignment, id)
		}
		broker, ok := image.Brokers[id]
		if !ok {
			return fmt.Errorf("%w: broker %d is not registered", ErrInvalidReplicaAssignment, id)
		}
		if broker.Fenced {
			return fmt.Errorf("%w: broker %d is fenced", ErrInvalidReplicaAssignment, id)
		}
	}
	return nil
}

// planCancel reverts a reassignment: the replicas before it (the current
// ones minus those being added), the ISR restricted to them, and a leader
// among them. An ISR left empty needs unclean.leader.election.enable.
func planCancel(image *metadata.Image, unclean *uncleanCache, topic *metadata.TopicImage, partition *metadata.PartitionImage) (metadata.Record, error) {
	if !partition.Reassigning() {
		return nil, fmt.Errorf("%w: %s-%d", ErrNoReassignmentInProgress, topic.Name, partition.Partition)
	}
	state := stateOf(partition)
	state.replicas = minus(partition.Replicas, partition.AddingReplicas)
	state.isr = minus(partition.ISR, partition.AddingReplicas)
	state.adding, state.removing = []int32{}, []int32{}
	if len(state.isr) == 0 {
		next := firstUsable(image, state.replicas, state.replicas, -1)
		if !unclean.enabled(topic) || next < 0 {
			return nil, fmt.Errorf("%w: reverting %s-%d would need an unclean leader election", ErrInvalidReplicaAssignment, topic.Name, partition.Partition)
		}
		state.isr = []int32{next}
	}
	if !slices.Contains(state.isr, state.leader) {
		state.leader = firstUsable(image, state.replicas, state.isr, -1)
	}
	return changeTo(topic, partition, state), nil
}

// completeReassignment finishes the reassignment in state when its ISR,
// without the replicas being removed, is not empty and holds every replica
// being added; it reports whether it did.
func completeReassignment(image *metadata.Image, state *partitionState) bool {
	if len(state.adding) == 0 && len(state.removing) == 0 {
		return false
	}
	isr := minus(state.isr, state.removing)
	if len(isr) == 0 {
		return false
	}
	for _, id := range state.adding {
		if !slices.Contains(isr, id) {
			return false
		}
	}
	state.replicas = minus(state.replicas, state.removing)
	state.isr = isr
	state.adding, state.removing = []int32{}, []int32{}
	if !slices.Contains(isr, state.leader) {
		state.leader = firstUsable(image, state.replicas, isr, -1)
	}
	return true
}

// changeTo returns the record moving partition to state, or nil when
// nothing changes. Cleared reassignment lists are written as empty lists.
func changeTo(topic *metadata.TopicImage, partition *metadata.PartitionImage, state partitionState) metadata.Record {
	change := metadata.PartitionChange{TopicID: topic.ID, Partition: partition.Partition}
	changed := false
	if state.leader != partition.Leader {
		leader := state.leader
		change.Leader = &leader
		changed = true
	}
	if !slices.Equal(state.isr, partition.ISR) {
		change.ISR, changed = slices.Clone(state.isr), true
	}
	if !slices.Equal(state.replicas, partition.Replicas) {
		change.Replicas, changed = slices.Clone(state.replicas), true
	}
	if !slices.Equal(state.adding, partition.AddingReplicas) {
		change.AddingReplicas, changed = append([]int32{}, state.adding...), true
	}
	if !slices.Equal(state.removing, partition.RemovingReplicas) {
		change.RemovingReplicas, changed = append([]int32{}, state.removing...), true
	}
	if !changed {
		return nil
	}
	return change
}

// minus returns the ids of from that are not in excluded, in order (a new slice).
func minus(from, excluded []int32) []int32 {
	kept := make([]int32, 0, len(from))
	for _, id := range from {
		if !slices.Contains(excluded, id) {
			kept = append(kept, id)
		}
	}
	return kept
}
