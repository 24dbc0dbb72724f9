package testutil

import (
	"context"
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
