package controller

import (
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/metadata"
)

func alterISR(t *testing.T, controller *Controller, epochs map[int32]int64, topic string, index int32, isr []int32) (metadata.PartitionImage, error) {
	t.Helper()
	image := controller.Image()
	partition := image.Topics[topic].Partitions[index]
	return controller.AlterPartition(testContext(t), AlterPartitionRequest{
		BrokerID: partition.Leader, BrokerEpoch: epochs[partition.Leader], TopicID: image.Topics[topic].ID, Partition: index,
		LeaderEpoch: partition.LeaderEpoch, PartitionEpoch: partition.PartitionEpoch, NewISR: isr,
	})
}

// TestReassignmentMovesLeader: {1,2} -> {2,3}: replicas become 2,3,1 with 3
// adding and 1 removing; the ISR expansion with 3 completes the move, which
// drops 1 and moves leadership from 1 to 2.
func TestReassignmentMovesLeader(t *testing.T) {
	controller, epochs := startLongSessions(t, 3, nil)
	createManual(t, controller, "moving", map[int32][]int32{0: {1, 2}}, nil)
	target := TopicPartition{Topic: "moving", Partition: 0}
	results := controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{target: {2, 3}}, ReassignOptions{AllowReplicationFactorChange: true})
	if err := results[target]; err != nil || len(results) != 1 {
		t.Fatalf("start: %v", results)
	}
	wantPartition(t, controller.Image(), "moving", 0, metadata.PartitionImage{
		Replicas: []int32{2, 3, 1}, ISR: []int32{1, 2}, Leader: 1, PartitionEpoch: 1, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1},
	})
	want := map[TopicPartition]Reassignment{target: {Replicas: []int32{2, 3, 1}, Adding: []int32{3}, Removing: []int32{1}}}
	if got := controller.ListPartitionReassignments(nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("list: %+v", got)
	}
	if got := controller.ListPartitionReassignments([]TopicPartition{target, {Topic: "none", Partition: 0}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("list named: %+v", got)
	}
	// A shrink that leaves the adding replica out changes only the ISR.
	if _, err := alterISR(t, controller, epochs, "moving", 0, []int32{1}); err != nil {
		t.Fatal(err)
	}
	_, err := alterISR(t, controller, epochs, "moving", 0, []int32{1, 3})
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("completing expansion: %v", err)
	}
	wantPartition(t, controller.Image(), "moving", 0, metadata.PartitionImage{Replicas: []int32{2, 3}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 3})
	if got := controller.ListPartitionReassignments(nil); len(got) != 0 {
		t.Fatalf("list after completion: %+v", got)
	}
}

// TestReassignmentImmediateAndCancel: a pure reorder or shrink within the
// ISR completes at once; a cancel reverts; errors per partition.
func TestReassignmentImmediateAndCancel(t *testing.T) {
	controller, epochs := startLongSessions(t, 3, nil)
	createManual(t, controller, "small", map[int32][]int32{0: {1, 2}}, nil)
	createManual(t, controller, "single", map[int32][]int32{0: {1}}, nil)
	p0, p1 := TopicPartition{Topic: "small", Partition: 0}, TopicPartition{Topic: "single", Partition: 0}
	results := controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p0: {2}, p1: {3}}, ReassignOptions{AllowReplicationFactorChange: true})
	if results[p0] != nil || results[p1] != nil {
		t.Fatalf("start: %v", results)
	}
	image := controller.Image()
	wantPartition(t, image, "small", 0, metadata.PartitionImage{Replicas: []int32{2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1})
	wantPartition(t, image, "single", 0, metadata.PartitionImage{Replicas: []int32{3, 1}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 1, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}})
	results = controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p0: nil, p1: nil}, ReassignOptions{AllowReplicationFactorChange: true})
	if !errors.Is(results[p0], ErrNoReassignmentInProgress) || results[p1] != nil {
		t.Fatalf("cancel: %v", results)
	}
	wantPartition(t, controller.Image(), "single", 0, metadata.PartitionImage{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 2})
	bad := map[TopicPartition][]int32{
		p0: {}, p1: {1, 1}, {Topic: "small", Partition: 1}: {1}, {Topic: "none", Partition: 0}: {1},
		{Topic: "small", Partition: -1}: {1},
	}
	results = controller.AlterPartitionReassignments(testContext(t), bad, ReassignOptions{AllowReplicationFactorChange: true})
	if !errors.Is(results[p0], ErrInvalidReplicaAssignment) || !errors.Is(results[p1], ErrInvalidReplicaAssignment) {
		t.Fatalf("bad lists: %v", results)
	}
	for _, name := range []TopicPartition{{Topic: "small", Partition: 1}, {Topic: "none", Partition: 0}, {Topic: "small", Partition: -1}} {
		if !errors.Is(results[name], ErrUnknownTopicOrPartition) {
			t.Fatalf("%v: %v", name, results[name])
		}
	}
	results = controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p0: {9}}, ReassignOptions{AllowReplicationFactorChange: true})
	if !errors.Is(results[p0], ErrInvalidReplicaAssignment) {
		t.Fatalf("unknown broker: %v", results)
	}
	if _, err := controller.BrokerHeartbeat(testContext(t), HeartbeatRequest{BrokerID: 3, BrokerEpoch: epochs[3], WantFence: true, CurrentMetadataOffset: int64(controller.Image().AppliedIndex)}); err != nil {
		t.Fatal(err)
	}
	if !controller.Image().Brokers[3].Fenced {
		t.Fatal("heartbeat WantFence did not fence broker 3")
	}
	results = controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p0: {3}}, ReassignOptions{AllowReplicationFactorChange: true})
	if !errors.Is(results[p0], ErrInvalidReplicaAssignment) {
		t.Fatalf("fenced broker: %v", results)
	}
}

// TestReassignmentReplicationFactorGuard (KIP-860): without
// AllowReplicationFactorChange a target of another size is refused per
// partition and nothing changes; a same-size move and a cancel still work.
func TestReassignmentReplicationFactorGuard(t *testing.T) {
	controller, _ := startLongSessions(t, 3, nil)
	createManual(t, controller, "guarded", map[int32][]int32{0: {1, 2}, 1: {1, 2}}, nil)
	p0, p1 := TopicPartition{Topic: "guarded", Partition: 0}, TopicPartition{Topic: "guarded", Partition: 1}
	strict := ReassignOptions{}
	results := controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p0: {1, 2, 3}, p1: {2, 3}}, strict)
	if !errors.Is(results[p0], ErrReplicationFactorChange) || results[p1] != nil {
		t.Fatalf("start: %v", results)
	}
	if code := KafkaError(results[p0]); code != kerr.InvalidReplicationFactor {
		t.Fatalf("p0 maps to %v, want INVALID_REPLICATION_FACTOR", code)
	}
	wantPartition(t, controller.Image(), "guarded", 0, metadata.PartitionImage{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1})
	// p1 is now {2,3,1} with 3 adding: the size is judged on the replicas
	// before the reassignment, so another same-size target is accepted.
	results = controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p1: {3, 1}}, strict)
	if results[p1] != nil {
		t.Fatalf("same size during a reassignment: %v", results)
	}
	// 3 is not in the ISR yet, so it is still being added.
	wantPartition(t, controller.Image(), "guarded", 1, metadata.PartitionImage{
		Replicas: []int32{3, 1, 2}, ISR: []int32{1, 2}, Leader: 1, PartitionEpoch: 2, AddingReplicas: []int32{3}, RemovingReplicas: []int32{2},
	})
	results = controller.AlterPartitionReassignments(testContext(t), map[TopicPartition][]int32{p1: nil}, strict)
	if results[p1] != nil {
		t.Fatalf("cancel: %v", results)
	}
	wantPartition(t, controller.Image(), "guarded", 1, metadata.PartitionImage{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, PartitionEpoch: 3})
}
