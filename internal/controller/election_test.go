package controller

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/metadata"
)

// startLongSessions starts a one-voter controller whose sessions never
// expire during a test, with brokers 1..count registered and unfenced;
// it returns the broker epochs by id.
func startLongSessions(t *testing.T, count int, adjust func(*Config)) (*Controller, map[int32]int64) {
	t.Helper()
	controller := startNodeWith(t, 1, loopbackVoters(t, 1), t.TempDir(), func(cfg *Config) {
		cfg.SessionTimeout = time.Hour
		if adjust != nil {
			adjust(cfg)
		}
	})
	if err := controller.WaitReady(testContext(t)); err != nil {
		t.Fatal(err)
	}
	epochs := map[int32]int64{}
	for id := int32(1); id <= int32(count); id++ {
		epochs[id] = registerUnfenced(t, controller, metadata.RegisterBroker{ID: id, IncarnationID: metadata.NewUUID()})
	}
	return controller, epochs
}

func heartbeat(t *testing.T, controller *Controller, request HeartbeatRequest) HeartbeatResult {
	t.Helper()
	if request.CurrentMetadataOffset == 0 {
		request.CurrentMetadataOffset = int64(controller.Image().AppliedIndex)
	}
	result, err := controller.BrokerHeartbeat(testContext(t), request)
	if err != nil {
		t.Fatalf("heartbeat %+v: %v", request, err)
	}
	return result
}

func TestControlledShutdown(t *testing.T) {
	controller, epochs := startLongSessions(t, 3, nil)
	ctx := testContext(t)
	createManual(t, controller, "moves", map[int32][]int32{0: {1, 2}, 1: {2, 1}}, nil)
	createManual(t, controller, "alone", map[int32][]int32{0: {1}}, nil)
	offset := int64(controller.Image().AppliedIndex)
	request := HeartbeatRequest{BrokerID: 1, BrokerEpoch: epochs[1], WantShutdown: true, CurrentMetadataOffset: offset}
	if result := heartbeat(t, controller, request); result != (HeartbeatResult{}) {
		t.Fatalf("first shutdown heartbeat: %+v", result)
	}
	image := controller.Image()
	if broker := image.Brokers[1]; broker.Fenced || !broker.InControlledShutdown {
		t.Fatalf("broker 1 in controlled shutdown: %+v", broker)
	}
	wantPartition(t, image, "moves", 0, metadata.PartitionImage{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1})
	wantPartition(t, image, "moves", 1, metadata.PartitionImage{Replicas: []int32{2, 1}, ISR: []int32{2}, Leader: 2, PartitionEpoch: 1})
	wantPartition(t, image, "alone", 0, metadata.PartitionImage{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	if results := controller.CreateTopics(ctx, []CreateTopic{{Name: "wide", NumPartitions: 1, ReplicationFactor: 3}}, false); results[0].ErrorCode != kerr.InvalidReplicationFactor.Code {
		t.Fatalf("placement on a shutting-down broker: %+v", results[0])
	}
	// Not yet caught up with the moves: keep going.
	if result := heartbeat(t, controller, request); result != (HeartbeatResult{}) {
		t.Fatalf("shutdown heartbeat before catching up: %+v", result)
	}
	request.CurrentMetadataOffset = int64(controller.Image().AppliedIndex)
	if result := heartbeat(t, controller, request); result != (HeartbeatResult{IsFenced: true, ShouldShutdown: true}) {
		t.Fatalf("shutdown heartbeat after catching up: %+v", result)
	}
	image = controller.Image()
	if !image.Brokers[1].Fenced {
		t.Fatal("broker 1 not fenced after shutdown")
	}
	wantPartition(t, image, "alone", 0, metadata.PartitionImage{Replicas: []int32{1}, ISR: []int32{1}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 1})
	if result := heartbeat(t, controller, request); result != (HeartbeatResult{IsFenced: true, ShouldShutdown: true}) {
		t.Fatalf("heartbeat after shutdown: %+v", result)
	}
	// Restart: a new incarnation registers fenced, then is unfenced and leads its offline partition again.
	registerUnfenced(t, controller, metadata.RegisterBroker{ID: 1, IncarnationID: metadata.NewUUID()})
	image = controller.Image()
	if broker := image.Brokers[1]; broker.Fenced || broker.InControlledShutdown {
		t.Fatalf("broker 1 after restart: %+v", broker)
	}
	wantPartition(t, image, "alone", 0, metadata.PartitionImage{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 2})
}

func TestElectLeadersAndReregistration(t *testing.T) {
	controller, epochs := startLongSessions(t, 3, nil)
	ctx := testContext(t)
	id := createManual(t, controller, "elect", map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}}, nil)
	if err := controller.FenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	wantPartition(t, controller.Image(), "elect", 0, metadata.PartitionImage{Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1})
	if result := heartbeat(t, controller, HeartbeatRequest{BrokerID: 1, BrokerEpoch: epochs[1]}); result.IsFenced {
		t.Fatal("broker 1 still fenced after a heartbeat")
	}
	p0 := TopicPartition{Topic: "elect", Partition: 0}
	p1 := TopicPartition{Topic: "elect", Partition: 1}
	missing := TopicPartition{Topic: "elect", Partition: 2}
	results := controller.ElectLeaders(ctx, true, []TopicPartition{p0, p1, missing, {Topic: "nope"}})
	if len(results) != 4 || !errors.Is(results[p0], ErrPreferredLeaderNotAvailable) || !errors.Is(results[p1], ErrElectionNotNeeded) ||
		!errors.Is(results[missing], ErrUnknownTopicOrPartition) || !errors.Is(results[TopicPartition{Topic: "nope"}], ErrUnknownTopicOrPartition) {
		t.Fatalf("preferred elections: %v", results)
	}
	if _, err := controller.AlterPartition(ctx, AlterPartitionRequest{BrokerID: 2, BrokerEpoch: epochs[2], TopicID: id, Partition: 0, LeaderEpoch: 1, PartitionEpoch: 1, NewISR: []int32{2, 3, 1}}); err != nil {
		t.Fatal(err)
	}
	if results := controller.ElectLeaders(ctx, true, nil); !reflect.DeepEqual(results, map[TopicPartition]error{p0: nil}) {
		t.Fatalf("elect all: %v", results)
	}
	wantPartition(t, controller.Image(), "elect", 0, metadata.PartitionImage{Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3, 1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 3})
	if results := controller.ElectLeaders(ctx, true, nil); len(results) != 0 {
		t.Fatalf("elect all when balanced: %v", results)
	}

	// Re-registration with a new incarnation ends the old session.
	same := controller.Image().Brokers[1]
	if epoch, err := controller.RegisterBroker(ctx, metadata.RegisterBroker{ID: 1, IncarnationID: same.IncarnationID, Endpoints: same.Endpoints}); err != nil || epoch != epochs[1] {
		t.Fatalf("repeated registration: %d %v", epoch, err)
	}
	epoch, err := controller.RegisterBroker(ctx, metadata.RegisterBroker{ID: 1, IncarnationID: metadata.NewUUID()})
	if err != nil || epoch <= epochs[1] {
		t.Fatalf("re-registration: %d %v", epoch, err)
	}
	image := controller.Image()
	if !image.Brokers[1].Fenced {
		t.Fatal("re-registered broker is unfenced")
	}
	wantPartition(t, image, "elect", 0, metadata.PartitionImage{Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}, Leader: 2, LeaderEpoch: 3, PartitionEpoch: 4})
	wantPartition(t, image, "elect", 1, metadata.PartitionImage{Replicas: []int32{2, 3, 1}, ISR: []int32{2, 3}, Leader: 2, PartitionEpoch: 1})
	if _, err := controller.BrokerHeartbeat(ctx, HeartbeatRequest{BrokerID: 1, BrokerEpoch: epochs[1]}); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Fatalf("heartbeat with the old epoch: %v", err)
	}
	if _, err := controller.BrokerHeartbeat(ctx, HeartbeatRequest{BrokerID: 7}); !errors.Is(err, ErrBrokerNotRegistered) {
		t.Fatalf("heartbeat of an unregistered broker: %v", err)
	}
	if result := heartbeat(t, controller, HeartbeatRequest{BrokerID: 1, BrokerEpoch: epoch, CurrentMetadataOffset: epoch - 1}); !result.IsFenced {
		t.Fatal("unfenced before catching up with its registration")
	}
	if result := heartbeat(t, controller, HeartbeatRequest{BrokerID: 1, BrokerEpoch: epoch, WantFence: true}); !result.IsFenced {
		t.Fatal("unfenced although it asked to stay fenced")
	}
}

func TestUncleanElection(t *testing.T) {
	controller, epochs := startLongSessions(t, 3, nil)
	ctx := testContext(t)
	clean := createManual(t, controller, "clean", map[int32][]int32{0: {3, 2}}, nil)
	unclean := createManual(t, controller, "unclean", map[int32][]int32{0: {3, 2}}, map[string]string{"unclean.leader.election.enable": "true"})
	for _, id := range []metadata.UUID{clean, unclean} {
		if _, err := controller.AlterPartition(ctx, AlterPartitionRequest{BrokerID: 3, BrokerEpoch: epochs[3], TopicID: id, NewISR: []int32{3}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := controller.FenceBroker(ctx, 3); err != nil {
		t.Fatal(err)
	}
	image := controller.Image()
	wantPartition(t, image, "clean", 0, metadata.PartitionImage{Replicas: []int32{3, 2}, ISR: []int32{3}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 2})
	wantPartition(t, image, "unclean", 0, metadata.PartitionImage{Replicas: []int32{3, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 2})
	target := TopicPartition{Topic: "clean", Partition: 0}
	if results := controller.ElectLeaders(ctx, false, []TopicPartition{target, {Topic: "unclean"}}); results[target] != nil || !errors.Is(results[TopicPartition{Topic: "unclean"}], ErrElectionNotNeeded) {
		t.Fatalf("unclean election: %v", results)
	}
	wantPartition(t, controller.Image(), "clean", 0, metadata.PartitionImage{Replicas: []int32{3, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 2, PartitionEpoch: 3})
	createManual(t, controller, "solo", map[int32][]int32{0: {1}}, nil)
	if err := controller.FenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	solo := TopicPartition{Topic: "solo"}
	if results := controller.ElectLeaders(ctx, false, []TopicPartition{solo}); !errors.Is(results[solo], ErrEligibleLeadersNotAvailable) {
		t.Fatalf("election without live replicas: %v", results)
	}
	if err := controller.UnfenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	wantPartition(t, controller.Image(), "solo", 0, metadata.PartitionImage{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 2})
}

func TestAutomaticLeaderRebalance(t *testing.T) {
	controller, epochs := startLongSessions(t, 2, func(cfg *Config) { cfg.LeaderImbalanceCheckInterval = 50 * time.Millisecond })
	ctx := testContext(t)
	id := createManual(t, controller, "balance", map[int32][]int32{0: {1, 2}, 1: {2, 1}}, nil)
	if err := controller.FenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	heartbeat(t, controller, HeartbeatRequest{BrokerID: 1, BrokerEpoch: epochs[1]})
	if _, err := controller.AlterPartition(ctx, AlterPartitionRequest{BrokerID: 2, BrokerEpoch: epochs[2], TopicID: id, LeaderEpoch: 1, PartitionEpoch: 1, NewISR: []int32{2, 1}}); err != nil {
		t.Fatal(err)
	}
	poll(t, "leadership back on the preferred replica", func() bool { return partitionOf(t, controller.Image(), "balance", 0).Leader == 1 })
	wantPartition(t, controller.Image(), "balance", 0, metadata.PartitionImage{Replicas: []int32{1, 2}, ISR: []int32{2, 1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 3})
}

func TestImbalancedPartitions(t *testing.T) {
	image := metadata.Empty()
	topicID := metadata.NewUUID()
	records := []metadata.Record{
		metadata.RegisterBroker{ID: 1}, metadata.RegisterBroker{ID: 2}, metadata.RegisterBroker{ID: 3, Fenced: true},
		metadata.TopicRecord{Name: "t", ID: topicID},
	}
	layout := []struct {
		replicas, isr []int32
		leader        int32
	}{
		{[]int32{1, 2}, []int32{1, 2}, 1}, {[]int32{1, 2}, []int32{1, 2}, 2}, {[]int32{1, 2}, []int32{2}, 2},
		{[]int32{2, 1}, []int32{1, 2}, 2}, {[]int32{3, 1}, []int32{1, 3}, 1},
	}
	for index, partition := range layout {
		records = append(records, metadata.PartitionRecord{TopicID: topicID, Partition: int32(index), Replicas: partition.replicas, ISR: partition.isr, Leader: partition.leader})
	}
	image, err := image.Apply(1, records)
	if err != nil {
		t.Fatal(err)
	}
	// Broker 1 prefers 3 partitions and fails to lead 2 of them; only one can move (ISR and usable).
	if got := imbalancedPartitions(image, 10); !reflect.DeepEqual(got, []TopicPartition{{Topic: "t", Partition: 1}}) {
		t.Fatalf("imbalanced = %v", got)
	}
	if got := imbalancedPartitions(image, 40); len(got) != 0 {
		t.Fatalf("imbalanced at 40%% = %v", got)
	}
}
