package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// leadersOf returns partition -> leader of topic as a fresh client sees it.
func leadersOf(ctx context.Context, c *Cluster, topic string) map[int32]int32 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		return nil
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return nil
	}
	out := map[int32]int32{}
	for p, d := range td[topic].Partitions {
		out[p] = d.Leader
	}
	return out
}

// TestAutomaticLeaderRebalance: after a broker's restart its preferred
// partitions are led elsewhere; the controller's imbalance check
// (auto.leader.rebalance.enable) hands them back.
func TestAutomaticLeaderRebalance(t *testing.T) {
	c := StartCluster(t, 3, "leader.imbalance.check.interval.seconds=1", "replica.lag.time.max.ms=2000",
		"broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if resp, err := adm.CreateTopic(ctx, 3, 3, nil, "balanced"); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	var preferred map[int32]int32
	Poll(t, 30*time.Second, func() bool {
		preferred = leadersOf(ctx, c, "balanced")
		return len(preferred) == 3
	})
	leaders := map[int32]bool{}
	for _, l := range preferred {
		leaders[l] = true
	}
	if len(leaders) != 3 {
		t.Fatalf("leaders %v: want one partition led by each broker", preferred)
	}
	// Restart the leader of partition 0: it loses its leadership, then gets
	// it back from the imbalance check.
	node := preferred[0]
	c.Nodes[node-1].Close()
	Poll(t, 30*time.Second, func() bool {
		now := leadersOf(ctx, c, "balanced")
		return len(now) == 3 && now[0] != node && now[0] >= 0
	})
	if err := c.Nodes[node-1].start(); err != nil {
		t.Fatalf("restarting node %d: %v", node, err)
	}
	Poll(t, 60*time.Second, func() bool {
		now := leadersOf(ctx, c, "balanced")
		return len(now) == 3 && now[0] == node && now[1] == preferred[1] && now[2] == preferred[2]
	})
}
