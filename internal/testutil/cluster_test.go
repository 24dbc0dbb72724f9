package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterFormsAndForwards: three in-process nodes agree on the brokers
// and the controller, and a topic created through a node that is not the
// active controller is created (the write is forwarded).
func TestClusterFormsAndForwards(t *testing.T) {
	c := StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var controller int32 = -1
	for _, b := range c.Nodes {
		// A fresh client each time: kgo serves repeated metadata requests
		// from its cache, which would keep an early, partial view.
		var meta kadm.Metadata
		Poll(t, 30*time.Second, func() bool {
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
			if err != nil {
				return false
			}
			defer cl.Close()
			meta, err = kadm.NewClient(cl).BrokerMetadata(ctx)
			return err == nil && len(meta.Brokers) == 3
		})
		if controller == -1 {
			controller = meta.Controller
		} else if meta.Controller != controller {
			t.Fatalf("node %s says controller %d, another said %d", b.Addr, meta.Controller, controller)
		}
	}
	// Create a topic through a node that is not the controller.
	var follower *Broker
	for i, b := range c.Nodes {
		if int32(i+1) != controller {
			follower = b
			break
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(follower.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 6, 3, nil, "spread")
	if err != nil || resp.Err != nil {
		t.Fatalf("create through a follower: %v %v", err, resp.Err)
	}
	Poll(t, 30*time.Second, func() bool {
		td, err := kadm.NewClient(cl).ListTopics(ctx, "spread")
		return err == nil && len(td["spread"].Partitions) == 6
	})
}

// TestReplicationAndFailover: rf=3 with acks=all; every replica joins the
// ISR; closing the leader moves leadership to an in-sync follower and every
// acknowledged record is still there, in order, with nothing twice.
func TestReplicationAndFailover(t *testing.T) {
	c := StartCluster(t, 3, "replica.lag.time.max.ms=2000", "broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if resp, err := adm.CreateTopic(ctx, 1, 3, nil, "replicated"); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: "replicated", Partition: 0, Value: []byte(fmt.Sprintf("v%04d", i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
		}
	}
	produce(0, 100)
	var leader int32
	Poll(t, 30*time.Second, func() bool {
		fresh, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
		if err != nil {
			return false
		}
		defer fresh.Close()
		td, err := kadm.NewClient(fresh).ListTopics(ctx, "replicated")
		if err != nil {
			return false
		}
		p := td["replicated"].Partitions[0]
		leader = p.Leader
		return len(p.ISR) == 3
	})
	// Close the leader; the producer must carry on with the new one.
	c.Nodes[leader-1].Close()
	produce(100, 200)

	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"replicated": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got []string
	for len(got) < 200 {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after %d records: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i, v := range got {
		if want := fmt.Sprintf("v%04d", i); v != want {
			t.Fatalf("record %d is %q, want %q", i, v, want)
		}
	}
	if len(got) != 200 {
		t.Fatalf("consumed %d records, want 200", len(got))
	}
}
