package testutil

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestReassignPartitions moves partition 0 of an rf=1 topic from node 1 to
// node 2 and of an rf=2 topic from {1,2} to {2,3}, with records produced
// before and during the moves; afterwards the metadata shows the targets,
// the ISR equals them, nothing is listed as in progress and every record is
// read back in order from the new leader.
func TestReassignPartitions(t *testing.T) {
	c := StartCluster(t, 3, reassignOverrides...)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	seeds := c.Bootstrap()
	cl := newClient(t, seeds, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	createAssigned(t, ctx, cl, "single", []int32{1})
	createAssigned(t, ctx, cl, "pair", []int32{1, 2})
	waitPartition(t, ctx, seeds, "pair", 0, "both replicas in sync", func(v partitionView) bool { return sameSet(v.ISR, []int32{1, 2}) })
	produceRange(t, ctx, cl, "single", 0, 2000)
	produceRange(t, ctx, cl, "pair", 0, 2000)

	moves := []struct {
		topic            string
		target, replicas []int32
		adding, removing []int32
	}{
		{"single", []int32{2}, []int32{2, 1}, []int32{2}, []int32{1}},
		{"pair", []int32{2, 3}, []int32{2, 3, 1}, []int32{3}, []int32{1}},
	}
	for _, move := range moves {
		if err := reassign(t, ctx, adm, move.topic, move.target); err != nil {
			t.Fatalf("reassign %s: %v", move.topic, err)
		}
		// The move may already be complete: the check is exact when listed.
		if listed, ok := listReassignment(t, ctx, adm, move.topic); ok {
			if !slices.Equal(listed.Replicas, move.replicas) || !slices.Equal(listed.AddingReplicas, move.adding) || !slices.Equal(listed.RemovingReplicas, move.removing) {
				t.Fatalf("%s in progress: %+v", move.topic, listed)
			}
		} else {
			t.Logf("%s: the move completed before it could be listed", move.topic)
		}
	}
	produceRange(t, ctx, cl, "single", 2000, 2500)
	produceRange(t, ctx, cl, "pair", 2000, 2500)
	for _, move := range moves {
		view := waitPartition(t, ctx, seeds, move.topic, 0, "the target replicas", func(v partitionView) bool {
			return slices.Equal(v.Replicas, move.target) && sameSet(v.ISR, move.target)
		})
		if view.Leader != move.target[0] {
			t.Fatalf("%s: leader %d after the move, want %d", move.topic, view.Leader, move.target[0])
		}
		if listed, ok := listReassignment(t, ctx, adm, move.topic); ok {
			t.Fatalf("%s still listed after completion: %+v", move.topic, listed)
		}
		consumeExactly(t, ctx, seeds, move.topic, 2500)
	}
	all, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"single": {0: {}}, "pair": {0: {}}})
	if err != nil || len(all) != 0 {
		t.Fatalf("reassignments after completion: %+v %v", all, err)
	}
}

// TestReassignCancelAndElectLeaders: with node 3 stopped, a move of its
// offline partition cannot complete (its ISR holds only node 3), so it is
// listed exactly and a cancel reverts it; bad requests get their error
// codes; after node 3 returns, a preferred election gives it back the
// leadership of a partition it prefers, also when asked through a node
// that is not the active controller.
func TestReassignCancelAndElectLeaders(t *testing.T) {
	c := StartCluster(t, 3, reassignOverrides...)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	seeds := c.Bootstrap()
	cl := newClient(t, seeds, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	createAssigned(t, ctx, cl, "stuck", []int32{3})
	createAssigned(t, ctx, cl, "preferred", []int32{3, 1, 2})
	waitPartition(t, ctx, seeds, "preferred", 0, "every replica in sync", func(v partitionView) bool { return len(v.ISR) == 3 })
	produceRange(t, ctx, cl, "stuck", 0, 100)
	produceRange(t, ctx, cl, "preferred", 0, 100)
	if err := electOne(t, ctx, adm, kadm.ElectPreferredReplica, "preferred"); !errors.Is(err, kerr.ElectionNotNeeded) {
		t.Fatalf("preferred election on the preferred leader: %v", err)
	}

	c.Nodes[2].Close()
	live := seeds[:2]
	waitPartition(t, ctx, live, "stuck", 0, "offline", func(v partitionView) bool { return v.Leader == -1 })
	waitPartition(t, ctx, live, "preferred", 0, "failed over", func(v partitionView) bool { return v.Leader == 1 && sameSet(v.ISR, []int32{1, 2}) })
	admLive := kadm.NewClient(newClient(t, live))
	electionErrors := []struct {
		how   kadm.ElectLeadersHow
		topic string
		want  error
	}{
		{kadm.ElectPreferredReplica, "preferred", kerr.PreferredLeaderNotAvailable},
		{kadm.ElectLiveReplica, "preferred", kerr.ElectionNotNeeded},
		{kadm.ElectLiveReplica, "stuck", kerr.EligibleLeadersNotAvailable},
		{kadm.ElectPreferredReplica, "nonexistent", kerr.UnknownTopicOrPartition},
	}
	for _, check := range electionErrors {
		if err := electOne(t, ctx, admLive, check.how, check.topic); !errors.Is(err, check.want) {
			t.Fatalf("election %v on %s: %v, want %v", check.how, check.topic, err, check.want)
		}
	}

	// Node 3 is fenced: the move of "stuck" to node 1 starts but cannot
	// finish, as no in-sync replica remains once node 3 is removed.
	if err := reassign(t, ctx, admLive, "stuck", []int32{1}); err != nil {
		t.Fatalf("reassign stuck: %v", err)
	}
	listed, ok := listReassignment(t, ctx, admLive, "stuck")
	if !ok || !slices.Equal(listed.Replicas, []int32{1, 3}) || !slices.Equal(listed.AddingReplicas, []int32{1}) || !slices.Equal(listed.RemovingReplicas, []int32{3}) {
		t.Fatalf("stuck in progress: %+v %v", listed, ok)
	}
	reassignErrors := []struct {
		topic    string
		replicas []int32
		want     error
	}{
		{"preferred", []int32{}, kerr.InvalidReplicaAssignment},
		{"preferred", []int32{1, 1}, kerr.InvalidReplicaAssignment},
		{"preferred", []int32{1, 9}, kerr.InvalidReplicaAssignment},
		{"preferred", []int32{1, 3}, kerr.InvalidReplicaAssignment}, // node 3 is fenced
		{"preferred", nil, kerr.NoReassignmentInProgress},
		{"nonexistent", []int32{1}, kerr.UnknownTopicOrPartition},
	}
	for _, check := range reassignErrors {
		if err := reassign(t, ctx, admLive, check.topic, check.replicas); !errors.Is(err, check.want) {
			t.Fatalf("reassign %s to %v: %v, want %v", check.topic, check.replicas, err, check.want)
		}
	}
	// v1 (KIP-860) with AllowReplicationFactorChange=false refuses a
	// target of another size; the flag is echoed.
	rfChange := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rfChange.Version, rfChange.TimeoutMillis, rfChange.AllowReplicationFactorChange = 1, 10000, false
	rfTopic := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rfTopic.Topic = "preferred"
	rfPartition := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rfPartition.Replicas = []int32{1}
	rfTopic.Partitions = append(rfTopic.Partitions, rfPartition)
	rfChange.Topics = append(rfChange.Topics, rfTopic)
	rfResp, err := rfChange.RequestWith(ctx, newClient(t, live))
	if err != nil || rfResp.AllowReplicationFactorChange || len(rfResp.Topics) != 1 || len(rfResp.Topics[0].Partitions) != 1 ||
		rfResp.Topics[0].Partitions[0].ErrorCode != kerr.InvalidReplicationFactor.Code {
		t.Fatalf("v1 replication factor change: %+v %v", rfResp, err)
	}
	if err := reassign(t, ctx, admLive, "stuck", nil); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if listed, ok := listReassignment(t, ctx, admLive, "stuck"); ok {
		t.Fatalf("listed after cancel: %+v", listed)
	}
	waitPartition(t, ctx, live, "stuck", 0, "reverted", func(v partitionView) bool {
		return slices.Equal(v.Replicas, []int32{3}) && slices.Equal(v.ISR, []int32{3}) && v.Leader == -1
	})

	c.Nodes[2].Restart()
	waitPartition(t, ctx, seeds, "stuck", 0, "back on node 3", func(v partitionView) bool { return v.Leader == 3 })
	view := waitPartition(t, ctx, seeds, "preferred", 0, "node 3 in sync", func(v partitionView) bool { return len(v.ISR) == 3 })
	if view.Leader != 1 {
		t.Fatalf("preferred moved back before the election: %+v", view)
	}
	results, err := kadm.NewClient(newClient(t, seeds)).ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results["preferred"]) != 1 || results["preferred"][0].Err != nil {
		t.Fatalf("preferred election on every partition: %+v", results)
	}
	waitPartition(t, ctx, seeds, "preferred", 0, "led by node 3", func(v partitionView) bool { return v.Leader == 3 })
	consumeExactly(t, ctx, seeds, "stuck", 100)
	consumeExactly(t, ctx, seeds, "preferred", 100)
	checkForwarded(t, ctx, seeds)
}

// checkForwarded sends ElectLeaders and ListPartitionReassignments to a
// node that is not the active controller: they are answered as the
// controller answers them.
func checkForwarded(t *testing.T, ctx context.Context, seeds []string) {
	t.Helper()
	cl := newClient(t, seeds)
	meta, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := int32(1)
	if meta.Controller == other {
		other = 2
	}
	elect := kmsg.NewPtrElectLeadersRequest()
	elect.TimeoutMillis = 30000
	elect.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "preferred", Partitions: []int32{0}}}
	resp, err := cl.Broker(int(other)).Request(ctx, elect)
	if err != nil {
		t.Fatal(err)
	}
	electResp := resp.(*kmsg.ElectLeadersResponse)
	if len(electResp.Topics) != 1 || len(electResp.Topics[0].Partitions) != 1 || electResp.Topics[0].Partitions[0].ErrorCode != kerr.ElectionNotNeeded.Code {
		t.Fatalf("forwarded election: %+v", electResp)
	}
	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	resp, err = cl.Broker(int(other)).Request(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if listResp := resp.(*kmsg.ListPartitionReassignmentsResponse); listResp.ErrorCode != 0 || len(listResp.Topics) != 0 {
		t.Fatalf("forwarded list: %+v", listResp)
	}
}

// TestReassignOntoAddedBroker: a topic placed while node 4 is down gets a
// replica moved onto node 4 once it (re)joins; records produced before and
// during the move are all there.
func TestReassignOntoAddedBroker(t *testing.T) {
	c := StartCluster(t, 4, reassignOverrides...)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	c.Nodes[3].Close()
	seeds := c.Bootstrap()
	live := seeds[:3]
	cl := newClient(t, live, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	createAssigned(t, ctx, cl, "grow", []int32{1, 2})
	waitPartition(t, ctx, live, "grow", 0, "both replicas in sync", func(v partitionView) bool { return len(v.ISR) == 2 })
	produceRange(t, ctx, cl, "grow", 0, 1000)
	c.Nodes[3].Restart()
	Poll(t, 60*time.Second, func() bool {
		meta, err := kadm.NewClient(newClient(t, seeds)).BrokerMetadata(ctx)
		return err == nil && len(meta.Brokers) == 4
	})
	if err := reassign(t, ctx, adm, "grow", []int32{1, 4}); err != nil {
		t.Fatalf("reassign onto node 4: %v", err)
	}
	produceRange(t, ctx, cl, "grow", 1000, 1500)
	view := waitPartition(t, ctx, seeds, "grow", 0, "on nodes 1 and 4", func(v partitionView) bool {
		return slices.Equal(v.Replicas, []int32{1, 4}) && sameSet(v.ISR, []int32{1, 4})
	})
	if view.Leader != 1 {
		t.Fatalf("leader %d after the move, want 1", view.Leader)
	}
	if listed, ok := listReassignment(t, ctx, adm, "grow"); ok {
		t.Fatalf("still listed: %+v", listed)
	}
	consumeExactly(t, ctx, seeds, "grow", 1500)
}
