package controller

import (
	"fmt"
	"slices"
	"testing"

	"samsa/internal/metadata"
)

// TestBrokerOnlyNodeFollowsAsNonvoter: a node outside the voters that
// registers at the active controller is added as a Raft non-voter and
// applies the committed metadata log, snapshot and entries alike; it never
// becomes a voter or the active controller.
func TestBrokerOnlyNodeFollowsAsNonvoter(t *testing.T) {
	voters := loopbackVoters(t, 1)
	leader := startNodeWith(t, 1, voters, t.TempDir(), func(cfg *Config) { cfg.BrokerListener = "PLAINTEXT" })
	ctx := testContext(t)
	if err := leader.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	registerUnfenced(t, leader, metadata.RegisterBroker{ID: 1, IncarnationID: metadata.NewUUID(),
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 1}}})
	if results := leader.CreateTopics(ctx, []CreateTopic{{Name: "before", NumPartitions: 2, ReplicationFactor: 1}}, false); results[0].ErrorCode != 0 {
		t.Fatalf("create: %+v", results[0])
	}
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}

	port := freePorts(t, 1)[0]
	address := fmt.Sprintf("127.0.0.1:%d", port)
	follower, err := Start(Config{NodeID: 7, Voters: voters, Bind: address, Advertise: address, BrokerListener: "PLAINTEXT",
		DataDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { follower.Close() })
	registerUnfenced(t, leader, metadata.RegisterBroker{ID: 7, IncarnationID: metadata.NewUUID(),
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: int32(port)}}})
	if got := leader.Nonvoters(); !slices.Equal(got, []int32{7}) {
		t.Fatalf("non-voters = %v, want [7]", got)
	}
	if err := follower.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if results := leader.CreateTopics(ctx, []CreateTopic{{Name: "after", NumPartitions: 1, ReplicationFactor: 1}}, false); results[0].ErrorCode != 0 {
		t.Fatalf("create: %+v", results[0])
	}
	poll(t, "the non-voter applies both topics and both brokers", func() bool {
		image := follower.Image()
		return image.Topics["before"] != nil && len(image.Topics["before"].Partitions) == 2 &&
			image.Topics["after"] != nil && len(image.Brokers) == 2 && image.ClusterID == leader.Image().ClusterID
	})
	if follower.IsActive() || follower.LeaderID() != 1 {
		t.Fatalf("non-voter: active=%v leader=%d, want inactive with leader 1", follower.IsActive(), follower.LeaderID())
	}
	// Registering again (a restart) leaves the membership as it is.
	registerUnfenced(t, leader, metadata.RegisterBroker{ID: 7, IncarnationID: metadata.NewUUID(),
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: int32(port)}}})
	if got := leader.Nonvoters(); !slices.Equal(got, []int32{7}) {
		t.Fatalf("non-voters after re-registration = %v, want [7]", got)
	}
}
