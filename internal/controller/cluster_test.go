package controller

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/metadata"
)

// heartbeater sends one fake broker's heartbeats to whichever node is the
// active controller, every 30ms, until stopped.
type heartbeater struct {
	nodes  []*Controller
	id     int32
	epoch  int64
	stop   chan struct{}
	group  sync.WaitGroup
	mu     sync.Mutex
	active bool
}

func newHeartbeater(nodes []*Controller, id int32, epoch int64) *heartbeater {
	return &heartbeater{nodes: nodes, id: id, epoch: epoch}
}

func (beater *heartbeater) start(t *testing.T) {
	beater.mu.Lock()
	defer beater.mu.Unlock()
	if beater.active {
		return
	}
	beater.active = true
	beater.stop = make(chan struct{})
	beater.group.Add(1)
	go beater.run(beater.stop)
	t.Cleanup(beater.halt)
}

func (beater *heartbeater) halt() {
	beater.mu.Lock()
	if beater.active {
		close(beater.stop)
		beater.active = false
	}
	beater.mu.Unlock()
	beater.group.Wait()
}

func (beater *heartbeater) run(stop chan struct{}) {
	defer beater.group.Done()
	ticker := time.NewTicker(30 * time.Millisecond)
	defer ticker.Stop()
	for {
		for _, node := range beater.nodes {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := node.BrokerHeartbeat(ctx, HeartbeatRequest{BrokerID: beater.id, BrokerEpoch: beater.epoch, CurrentMetadataOffset: int64(node.Image().AppliedIndex)})
			cancel()
			if !errors.Is(err, ErrNotController) {
				break
			}
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

// startQuorum starts three voters with the given session timeout and waits for them.
func startQuorum(t *testing.T, sessionTimeout time.Duration) []*Controller {
	voters := loopbackVoters(t, 3)
	var nodes []*Controller
	for _, voter := range voters {
		nodes = append(nodes, startNodeWith(t, voter.ID, voters, t.TempDir(), func(cfg *Config) { cfg.SessionTimeout = sessionTimeout }))
	}
	ctx := testContext(t)
	for _, node := range nodes {
		if err := node.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// activeNode polls until one open node of nodes is the active controller.
func activeNode(t *testing.T, nodes []*Controller) *Controller {
	t.Helper()
	var active *Controller
	poll(t, "an active controller", func() bool {
		for _, node := range nodes {
			if node.IsActive() {
				active = node
				return true
			}
		}
		return false
	})
	return active
}

func partitionOf(t *testing.T, image *metadata.Image, topic string, index int) metadata.PartitionImage {
	t.Helper()
	found, ok := image.Topics[topic]
	if !ok || index >= len(found.Partitions) {
		t.Fatalf("no partition %s-%d", topic, index)
	}
	return found.Partitions[index]
}

func wantPartition(t *testing.T, image *metadata.Image, topic string, index int, want metadata.PartitionImage) {
	t.Helper()
	want.Partition = int32(index)
	if got := partitionOf(t, image, topic, index); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s-%d = %+v, want %+v", topic, index, got, want)
	}
}

func createManual(t *testing.T, controller *Controller, name string, assignment map[int32][]int32, configs map[string]string) metadata.UUID {
	t.Helper()
	results := controller.CreateTopics(testContext(t), []CreateTopic{{Name: name, NumPartitions: -1, ReplicationFactor: -1, Assignment: assignment, Configs: configs}}, false)
	if results[0].ErrorCode != 0 {
		t.Fatalf("create %s: %s", name, results[0].ErrorMessage)
	}
	return results[0].ID
}

func TestSessionsFencingAndFailover(t *testing.T) {
	nodes := startQuorum(t, 300*time.Millisecond)
	leader := activeNode(t, nodes)
	ctx := testContext(t)
	beaters := map[int32]*heartbeater{}
	for id := int32(1); id <= 4; id++ {
		epoch, err := leader.RegisterBroker(ctx, metadata.RegisterBroker{ID: id, IncarnationID: metadata.NewUUID()})
		if err != nil || epoch <= 0 || leader.Image().Brokers[id].Epoch != epoch || !leader.Image().Brokers[id].Fenced {
			t.Fatalf("register %d: epoch %d %v", id, epoch, err)
		}
		beaters[id] = newHeartbeater(nodes, id, epoch)
		if id <= 3 {
			beaters[id].start(t)
		}
	}
	poll(t, "brokers 1-3 unfenced", func() bool { return len(leader.Image().UsableBrokers()) == 3 })
	if !leader.Image().Brokers[4].Fenced {
		t.Fatal("broker 4 unfenced without heartbeats")
	}
	replicated := createManual(t, leader, "replicated", map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}, 2: {3, 1, 2}}, nil)
	createManual(t, leader, "single", map[int32][]int32{0: {2}}, nil)
	withFour := createManual(t, leader, "with-four", map[int32][]int32{0: {1, 4}}, nil)
	wantPartition(t, leader.Image(), "with-four", 0, metadata.PartitionImage{Replicas: []int32{1, 4}, ISR: []int32{1}, Leader: 1})

	beaters[2].halt()
	poll(t, "broker 2 fenced", func() bool { return leader.Image().Brokers[2].Fenced })
	image := leader.Image()
	wantPartition(t, image, "replicated", 0, metadata.PartitionImage{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 3}, Leader: 1, PartitionEpoch: 1})
	wantPartition(t, image, "replicated", 1, metadata.PartitionImage{Replicas: []int32{2, 3, 1}, ISR: []int32{3, 1}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 1})
	wantPartition(t, image, "replicated", 2, metadata.PartitionImage{Replicas: []int32{3, 1, 2}, ISR: []int32{3, 1}, Leader: 3, PartitionEpoch: 1})
	wantPartition(t, image, "single", 0, metadata.PartitionImage{Replicas: []int32{2}, ISR: []int32{2}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 1})
	if results := leader.CreateTopics(ctx, []CreateTopic{{Name: "too-wide", NumPartitions: 1, ReplicationFactor: 3}}, false); results[0].ErrorCode != kerr.InvalidReplicationFactor.Code {
		t.Fatalf("replication factor 3 with two live brokers: %+v", results[0])
	}

	beaters[2].start(t)
	poll(t, "broker 2 unfenced", func() bool { return !leader.Image().Brokers[2].Fenced })
	image = leader.Image()
	wantPartition(t, image, "single", 0, metadata.PartitionImage{Replicas: []int32{2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 2, PartitionEpoch: 2})
	wantPartition(t, image, "replicated", 1, metadata.PartitionImage{Replicas: []int32{2, 3, 1}, ISR: []int32{3, 1}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 1})

	epoch3 := beaters[3].epoch
	alter := func(request AlterPartitionRequest) (metadata.PartitionImage, error) {
		return activeNode(t, nodes).AlterPartition(ctx, request)
	}
	base := AlterPartitionRequest{BrokerID: 3, BrokerEpoch: epoch3, TopicID: replicated, Partition: 1, LeaderEpoch: 1, PartitionEpoch: 1, NewISR: []int32{3, 1, 2}}
	rejections := []struct {
		name   string
		change func(*AlterPartitionRequest)
		want   error
	}{
		{"not leader", func(r *AlterPartitionRequest) { r.BrokerID, r.BrokerEpoch = 1, beaters[1].epoch }, ErrNotLeader},
		{"stale broker epoch", func(r *AlterPartitionRequest) { r.BrokerEpoch-- }, ErrStaleBrokerEpoch},
		{"unregistered broker", func(r *AlterPartitionRequest) { r.BrokerID = 9 }, ErrBrokerNotRegistered},
		{"old leader epoch", func(r *AlterPartitionRequest) { r.LeaderEpoch = 0 }, ErrFencedLeaderEpoch},
		{"old partition epoch", func(r *AlterPartitionRequest) { r.PartitionEpoch = 0 }, ErrInvalidUpdateVersion},
		{"unregistered member", func(r *AlterPartitionRequest) { r.NewISR = []int32{3, 9} }, ErrIneligibleReplica},
		{"no leader", func(r *AlterPartitionRequest) { r.NewISR = []int32{1, 2} }, ErrInvalidRequest},
		{"duplicate", func(r *AlterPartitionRequest) { r.NewISR = []int32{3, 1, 1} }, ErrInvalidRequest},
		{"unknown topic", func(r *AlterPartitionRequest) { r.TopicID = [16]byte{7} }, ErrUnknownTopicOrPartition},
		{"unknown partition", func(r *AlterPartitionRequest) { r.Partition = 3 }, ErrUnknownTopicOrPartition},
		{"fenced member", func(r *AlterPartitionRequest) {
			r.BrokerID, r.BrokerEpoch, r.TopicID, r.Partition, r.LeaderEpoch, r.PartitionEpoch, r.NewISR = 1, beaters[1].epoch, withFour, 0, 0, 0, []int32{1, 4}
		}, ErrIneligibleReplica},
		{"not a replica", func(r *AlterPartitionRequest) {
			r.BrokerID, r.BrokerEpoch, r.TopicID, r.Partition, r.LeaderEpoch, r.PartitionEpoch, r.NewISR = 1, beaters[1].epoch, withFour, 0, 0, 0, []int32{1, 2}
		}, ErrIneligibleReplica},
	}
	for _, rejection := range rejections {
		request := base
		request.NewISR = append([]int32(nil), base.NewISR...)
		rejection.change(&request)
		if _, err := alter(request); !errors.Is(err, rejection.want) {
			t.Fatalf("%s: %v, want %v", rejection.name, err, rejection.want)
		}
	}
	updated, err := alter(base)
	want := metadata.PartitionImage{Partition: 1, Replicas: []int32{2, 3, 1}, ISR: []int32{3, 1, 2}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 2}
	if err != nil || !reflect.DeepEqual(updated, want) {
		t.Fatalf("alter partition: %+v %v", updated, err)
	}
	if _, err := alter(base); !errors.Is(err, ErrInvalidUpdateVersion) {
		t.Fatalf("repeated alter partition: %v", err)
	}

	// Kill the active controller: another takes over, restarts sessions, and keeps writing.
	old := activeNode(t, nodes)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	var remaining []*Controller
	for _, node := range nodes {
		if node != old {
			remaining = append(remaining, node)
		}
	}
	next := activeNode(t, remaining)
	if err := next.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if results := next.CreateTopics(ctx, []CreateTopic{{Name: "after-failover", NumPartitions: 2, ReplicationFactor: 3}}, false); results[0].ErrorCode != 0 {
		t.Fatalf("create after failover: %s", results[0].ErrorMessage)
	}
	if got := next.Image().UsableBrokers(); len(got) != 3 {
		t.Fatalf("usable brokers after failover: %d", len(got))
	}
	beaters[3].halt()
	poll(t, "broker 3 fenced by the new controller", func() bool { return next.Image().Brokers[3].Fenced })
	image = next.Image()
	if partition := partitionOf(t, image, "replicated", 1); partition.Leader != 2 || !reflect.DeepEqual(partition.ISR, []int32{1, 2}) || partition.LeaderEpoch != 2 {
		t.Fatalf("replicated-1 after fencing broker 3: %+v", partition)
	}
	for index := range 2 {
		if partition := partitionOf(t, image, "after-failover", index); partition.Leader == 3 || len(partition.ISR) != 2 {
			t.Fatalf("after-failover-%d: %+v", index, partition)
		}
	}
}
