package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
	"samsa/internal/partition"
	"samsa/internal/peer"
)

// leaderClient lets follower fetchers talk to partition leaders over the
// inter-broker listener.
type leaderClient struct{ peers *peer.Client }

func (c leaderClient) Fetch(ctx context.Context, leader int32, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
	resp, err := c.peers.Request(ctx, leader, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.FetchResponse), nil
}

func (c leaderClient) OffsetForLeaderEpoch(ctx context.Context, leader int32, req *kmsg.OffsetForLeaderEpochRequest) (*kmsg.OffsetForLeaderEpochResponse, error) {
	resp, err := c.peers.Request(ctx, leader, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.OffsetForLeaderEpochResponse), nil
}

// followImage points the follower fetchers at the leaders the image names:
// replicas this broker follows fetch from their leader; replicas it leads,
// or that have no leader, fetch from nobody.
func (b *Broker) followImage(as []partition.Assignment) {
	for _, a := range as {
		p, ok := b.partitions.Get(a.ID)
		if !ok {
			continue
		}
		if a.Leader == b.cfg.NodeID || a.Leader < 0 {
			b.replicas.Unfollow(p)
			continue
		}
		b.replicas.Follow(p, a.Leader, a.LeaderEpoch)
	}
}

// unfollowBefore stops fetching for replicas that this image makes leaders
// or removes, before the replica manager changes them.
func (b *Broker) unfollowBefore(as []partition.Assignment) {
	want := make(map[partition.ID]int32, len(as))
	for _, a := range as {
		want[a.ID] = a.Leader
	}
	for _, p := range b.partitions.All() {
		leader, ok := want[p.ID]
		if !ok || leader == b.cfg.NodeID {
			b.replicas.Unfollow(p)
		}
	}
}

// isrLoop, on the leaders of partitions, shrinks the in-sync set of
// followers that fell behind for replica.lag.time.max.ms and expands it
// with followers that caught up, through the active controller.
func (b *Broker) isrLoop() {
	defer b.wg.Done()
	lag := time.Duration(b.cfg.ReplicaLagTimeMaxMs) * time.Millisecond
	if lag <= 0 {
		lag = 30 * time.Second
	}
	t := time.NewTicker(min(lag/2, time.Second))
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		for _, p := range b.partitions.All() {
			shrink, expand := p.ISRChanges(now, lag)
			if len(shrink) == 0 && len(expand) == 0 {
				continue
			}
			if err := b.alterISR(p, shrink, expand); err != nil {
				b.log.Info("changing the in-sync replicas failed; will retry", "partition", p.ID.String(), "shrink", shrink, "expand", expand, "err", err)
			}
		}
	}
}

// alterISR asks the active controller for the leader's new in-sync set and
// applies what it accepted.
func (b *Broker) alterISR(p *partition.Partition, shrink, expand []int32) error {
	var isr []int32
	for _, r := range p.ISR() {
		if !containsNode(shrink, r) {
			isr = append(isr, r)
		}
	}
	for _, r := range expand {
		if !containsNode(isr, r) {
			isr = append(isr, r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := controller.AlterPartitionRequest{
		BrokerID: b.cfg.NodeID, BrokerEpoch: b.epoch.Load(), TopicID: p.TopicID, Partition: p.ID.Partition,
		LeaderEpoch: p.LeaderEpoch(), PartitionEpoch: p.PartitionEpoch(), NewISR: isr,
	}
	if b.controller.IsActive() {
		img, err := b.controller.AlterPartition(ctx, req)
		if err != nil {
			return err
		}
		p.ApplyISR(img.ISR, img.PartitionEpoch)
		return nil
	}
	kreq := kmsg.NewPtrAlterPartitionRequest()
	kreq.Version = 2
	kreq.BrokerID, kreq.BrokerEpoch = req.BrokerID, req.BrokerEpoch
	kp := kmsg.NewAlterPartitionRequestTopicPartition()
	kp.Partition, kp.LeaderEpoch, kp.PartitionEpoch, kp.NewISR = req.Partition, req.LeaderEpoch, req.PartitionEpoch, isr
	kreq.Topics = []kmsg.AlterPartitionRequestTopic{{TopicID: req.TopicID, Partitions: []kmsg.AlterPartitionRequestTopicPartition{kp}}}
	resp, err := b.requestController(ctx, kreq)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.AlterPartitionResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return err
	}
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return fmt.Errorf("malformed AlterPartition response")
	}
	rp := r.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
		return err
	}
	p.ApplyISR(rp.ISR, rp.PartitionEpoch)
	return nil
}
