package controller

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/config"
	"samsa/internal/metadata"
)

func TestSingleNodeTopics(t *testing.T) {
	dir := t.TempDir()
	controller := startSingle(t, dir, 3)
	ctx := testContext(t)
	if controller.LeaderID() != 1 || !controller.IsActive() || controller.Image().ClusterID == "" {
		t.Fatalf("leader %d cluster %q", controller.LeaderID(), controller.Image().ClusterID)
	}
	results := controller.CreateTopics(ctx, []CreateTopic{
		{Name: "orders", NumPartitions: 6, ReplicationFactor: 2, Configs: map[string]string{"retention.ms": "1000"}},
		{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1},
		{Name: "bad/name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "too-wide", NumPartitions: 1, ReplicationFactor: 4},
		{Name: "no-partitions", NumPartitions: 0, ReplicationFactor: 1},
		{Name: "bad-config", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "x"}},
		{Name: "unknown-config", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"nope": "x"}},
		{Name: "manual", NumPartitions: -1, ReplicationFactor: -1, Assignment: map[int32][]int32{0: {3, 1}, 1: {2, 3}}},
		{Name: "bad-manual", NumPartitions: -1, ReplicationFactor: -1, Assignment: map[int32][]int32{0: {3, 3}}},
		{Name: "gap-manual", NumPartitions: -1, ReplicationFactor: -1, Assignment: map[int32][]int32{1: {1}}},
		{Name: "twice", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "twice", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "..", NumPartitions: 1, ReplicationFactor: 1},
		{Name: strings.Repeat("x", 250), NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	wantCodes := []int16{0, 0, kerr.InvalidTopicException.Code, kerr.InvalidReplicationFactor.Code, kerr.InvalidPartitions.Code,
		kerr.InvalidConfig.Code, kerr.InvalidConfig.Code, 0, kerr.InvalidReplicaAssignment.Code, kerr.InvalidReplicaAssignment.Code,
		kerr.InvalidRequest.Code, kerr.InvalidRequest.Code, kerr.InvalidTopicException.Code, kerr.InvalidTopicException.Code}
	for index, result := range results {
		if result.ErrorCode != wantCodes[index] {
			t.Errorf("%s: code %d (%s), want %d", result.Name, result.ErrorCode, result.ErrorMessage, wantCodes[index])
		}
	}
	if results[0].NumPartitions != 6 || results[0].ReplicationFactor != 2 || results[0].ID.IsZero() || len(results[0].Configs) == 0 {
		t.Fatalf("orders result = %+v", results[0])
	}
	image := controller.Image()
	orders := image.Topics["orders"]
	if orders == nil || orders.ID != results[0].ID || len(orders.Partitions) != 6 || orders.Configs["retention.ms"] != "1000" {
		t.Fatalf("orders = %+v", orders)
	}
	leaders := map[int32]int{}
	replicaCounts := map[int32]int{}
	for index, partition := range orders.Partitions {
		if partition.Partition != int32(index) || len(partition.Replicas) != 2 || partition.Replicas[0] == partition.Replicas[1] ||
			partition.Leader != partition.Replicas[0] || !slices.Equal(partition.ISR, partition.Replicas) || partition.LeaderEpoch != 0 {
			t.Fatalf("partition %+v", partition)
		}
		leaders[partition.Leader]++
		for _, replica := range partition.Replicas {
			replicaCounts[replica]++
		}
	}
	for id := int32(1); id <= 3; id++ {
		if leaders[id] != 2 || replicaCounts[id] != 4 {
			t.Fatalf("uneven placement: leaders %v replicas %v", leaders, replicaCounts)
		}
	}
	if len(image.Topics["defaults"].Partitions) != 1 || !slices.Equal(image.Topics["manual"].Partitions[0].Replicas, []int32{3, 1}) {
		t.Fatal("defaults/manual topics wrong")
	}
	again := controller.CreateTopics(ctx, []CreateTopic{{Name: "orders", NumPartitions: 1, ReplicationFactor: 1}, {Name: "validate", NumPartitions: 1, ReplicationFactor: 1}}, true)
	if again[0].ErrorCode != kerr.TopicAlreadyExists.Code || again[1].ErrorCode != 0 || controller.Image().Topics["validate"] != nil {
		t.Fatalf("validate only: %+v", again)
	}

	deleted := controller.DeleteTopics(ctx, []string{"defaults", "missing"}, [][16]byte{image.Topics["manual"].ID, {1}})
	wantDeleted := []int16{0, kerr.UnknownTopicOrPartition.Code, 0, kerr.UnknownTopicID.Code}
	for index, result := range deleted {
		if result.ErrorCode != wantDeleted[index] {
			t.Fatalf("delete %d: %+v", index, result)
		}
	}
	if deleted[2].Name != "manual" || controller.Image().Topics["defaults"] != nil || controller.Image().Topics["manual"] != nil {
		t.Fatalf("delete results %+v", deleted)
	}
}

func TestSingleNodePartitionsConfigsProducerIDs(t *testing.T) {
	controller := startSingle(t, t.TempDir(), 2)
	ctx := testContext(t)
	created := controller.CreateTopics(ctx, []CreateTopic{{Name: "t", NumPartitions: 2, ReplicationFactor: 2}}, false)
	if created[0].ErrorCode != 0 {
		t.Fatal(created[0].ErrorMessage)
	}
	results := controller.CreatePartitions(ctx, []CreatePartitions{
		{Topic: "t", Count: 4},
		{Topic: "missing", Count: 4},
		{Topic: "t", Count: 1},
	}, false)
	wantCodes := []int16{0, kerr.UnknownTopicOrPartition.Code, kerr.InvalidPartitions.Code}
	for index, result := range results {
		if result.ErrorCode != wantCodes[index] {
			t.Fatalf("create partitions %d: %+v", index, result)
		}
	}
	manual := controller.CreatePartitions(ctx, []CreatePartitions{{Topic: "t", Count: 5, Assignment: [][]int32{{2, 1}}}, {Topic: "t", Count: 7, Assignment: [][]int32{{2, 1}}}}, false)
	if manual[0].ErrorCode != 0 || manual[1].ErrorCode != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("manual partitions %+v", manual)
	}
	topic := controller.Image().Topics["t"]
	if len(topic.Partitions) != 5 || !slices.Equal(topic.Partitions[4].Replicas, []int32{2, 1}) || len(topic.Partitions[3].Replicas) != 2 {
		t.Fatalf("partitions %+v", topic.Partitions)
	}

	alters := controller.AlterConfigs(ctx, []AlterConfig{
		{ResourceType: metadata.ResourceTopic, Name: "t", Incremental: true, Ops: []config.AlterOp{{Name: "retention.ms", Op: config.OpSet, Value: "5"}, {Name: "cleanup.policy", Op: config.OpAppend, Value: "compact"}}},
		{ResourceType: metadata.ResourceTopic, Name: "t", Incremental: true, Ops: []config.AlterOp{{Name: "retention.ms", Op: config.OpSet, Value: "bad"}}},
		{ResourceType: metadata.ResourceTopic, Name: "missing", Incremental: true},
		{ResourceType: metadata.ResourceBroker, Name: "", Incremental: true, Ops: []config.AlterOp{{Name: "log.retention.ms", Op: config.OpSet, Value: "77"}}},
		{ResourceType: metadata.ResourceBroker, Name: "1", Incremental: true, Ops: []config.AlterOp{{Name: "num.partitions", Op: config.OpSet, Value: "7"}}},
	}, false)
	wantAlter := []int16{0, kerr.InvalidConfig.Code, kerr.UnknownTopicOrPartition.Code, 0, kerr.InvalidConfig.Code}
	for index, result := range alters {
		if result.ErrorCode != wantAlter[index] {
			t.Fatalf("alter %d: %+v", index, result)
		}
	}
	image := controller.Image()
	if !reflect.DeepEqual(image.Topics["t"].Configs, map[string]string{"retention.ms": "5", "cleanup.policy": "delete,compact"}) {
		t.Fatalf("topic configs %v", image.Topics["t"].Configs)
	}
	if image.BrokerConfigs[""]["log.retention.ms"] != "77" || controller.brokerConfig(image).RetentionMs != 77 {
		t.Fatalf("broker configs %v", image.BrokerConfigs)
	}
	legacy := controller.AlterConfigs(ctx, []AlterConfig{{ResourceType: metadata.ResourceTopic, Name: "t", Ops: []config.AlterOp{{Name: "segment.ms", Op: config.OpSet, Value: "1000"}}}}, false)
	if legacy[0].ErrorCode != 0 || !reflect.DeepEqual(controller.Image().Topics["t"].Configs, map[string]string{"segment.ms": "1000"}) {
		t.Fatalf("legacy alter %+v %v", legacy, controller.Image().Topics["t"].Configs)
	}

	for block := int64(0); block < 3; block++ {
		first, count, err := controller.AllocateProducerIDs(ctx, 1)
		if err != nil || first != block*1000 || count != 1000 {
			t.Fatalf("block %d: %d %d %v", block, first, count, err)
		}
	}
}

func TestRestartAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	controller := startSingle(t, dir, 1)
	ctx := testContext(t)
	var mu sync.Mutex
	var seen []string
	controller.Subscribe(func(prev, next *metadata.Image) {
		mu.Lock()
		defer mu.Unlock()
		for name := range next.Topics {
			if prev.Topics[name] == nil {
				seen = append(seen, name)
			}
		}
	})
	if results := controller.CreateTopics(ctx, []CreateTopic{{Name: "before-snapshot", NumPartitions: 2, ReplicationFactor: 1}}, false); results[0].ErrorCode != 0 {
		t.Fatal(results[0].ErrorMessage)
	}
	mu.Lock()
	if !slices.Equal(seen, []string{"before-snapshot"}) {
		t.Fatalf("subscriber saw %v when the write returned", seen)
	}
	mu.Unlock()
	if _, _, err := controller.AllocateProducerIDs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := controller.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if results := controller.CreateTopics(ctx, []CreateTopic{{Name: "after-snapshot", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"segment.bytes": "4096"}}}, false); results[0].ErrorCode != 0 {
		t.Fatal(results[0].ErrorMessage)
	}
	before := controller.Image()
	voters := controller.config.Voters
	if err := controller.Close(); err != nil {
		t.Fatal(err)
	}

	restarted := startNode(t, 1, voters, dir)
	defer restarted.Close()
	if err := restarted.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if after := restarted.Image(); !reflect.DeepEqual(after, before) {
		t.Fatalf("image after restart differs:\n%+v\n%+v", after, before)
	}
	first, _, err := restarted.AllocateProducerIDs(ctx, 1)
	if err != nil || first != 1000 {
		t.Fatalf("producer ids after restart: %d %v", first, err)
	}
}

func TestThreeVoters(t *testing.T) {
	voters := loopbackVoters(t, 3)
	var nodes []*Controller
	for _, voter := range voters {
		node := startNode(t, voter.ID, voters, t.TempDir())
		defer node.Close()
		nodes = append(nodes, node)
	}
	ctx := testContext(t)
	for _, node := range nodes {
		if err := node.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	leaderID := nodes[0].LeaderID()
	var leader *Controller
	for _, node := range nodes {
		if node.LeaderID() != leaderID {
			t.Fatalf("nodes disagree on the leader")
		}
		if node.IsActive() {
			leader = node
		}
	}
	if leader == nil || leaderID < 1 {
		t.Fatalf("no active controller (leader id %d)", leaderID)
	}
	for _, node := range nodes {
		if node != leader {
			if _, err := node.RegisterBroker(ctx, metadata.RegisterBroker{ID: 9}); err != ErrNotController {
				t.Fatalf("follower write: %v", err)
			}
		}
	}
	for _, voter := range voters {
		registerUnfenced(t, leader, metadata.RegisterBroker{ID: voter.ID, IncarnationID: metadata.NewUUID()})
	}
	results := leader.CreateTopics(ctx, []CreateTopic{{Name: "replicated", NumPartitions: 3, ReplicationFactor: 3}}, false)
	if results[0].ErrorCode != 0 {
		t.Fatal(results[0].ErrorMessage)
	}
	for _, node := range nodes {
		poll(t, "topic replicated", func() bool {
			topic := node.Image().Topics["replicated"]
			return topic != nil && topic.ID == results[0].ID && len(topic.Partitions) == 3
		})
	}
	if !reflect.DeepEqual(nodes[0].Image().Topics, nodes[1].Image().Topics) || nodes[0].Image().ClusterID != nodes[2].Image().ClusterID {
		t.Fatal("images differ between nodes")
	}
}
