package replication

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
	"samsa/internal/partition"
)

// memClient serves inter-broker requests from partitions in memory, the
// way the broker's handlers are expected to: CheckLeaderEpoch, then
// FollowerFetched and ReadForFollower, long-polling like Fetch.
type memClient struct {
	fetches atomic.Int64
	mu      sync.Mutex
	brokers map[int32]map[partition.ID]*partition.Partition
	down    map[int32]bool
}

func newMemClient() *memClient {
	return &memClient{brokers: make(map[int32]map[partition.ID]*partition.Partition), down: make(map[int32]bool)}
}

func (c *memClient) host(broker int32, p *partition.Partition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.brokers[broker] == nil {
		c.brokers[broker] = make(map[partition.ID]*partition.Partition)
	}
	c.brokers[broker][p.ID] = p
}

func (c *memClient) lookup(broker int32, id partition.ID) (*partition.Partition, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down[broker] {
		return nil, errors.New("connection refused")
	}
	p := c.brokers[broker][id]
	if p == nil {
		return nil, kerr.UnknownTopicOrPartition
	}
	return p, nil
}

var errDown = errors.New("broker down")

func code(err error) int16 {
	var kErr *kerr.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &kErr):
		return kErr.Code
	case errors.Is(err, partition.ErrFencedLeaderEpoch):
		return kerr.FencedLeaderEpoch.Code
	case errors.Is(err, partition.ErrUnknownLeaderEpoch):
		return kerr.UnknownLeaderEpoch.Code
	case errors.Is(err, partition.ErrNotLeader):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, log.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	}
	return kerr.UnknownServerError.Code
}

func (c *memClient) OffsetForLeaderEpoch(ctx context.Context, leader int32, req *kmsg.OffsetForLeaderEpochRequest) (*kmsg.OffsetForLeaderEpochResponse, error) {
	c.mu.Lock()
	down := c.down[leader]
	c.mu.Unlock()
	if down {
		return nil, errDown
	}
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for _, rq := range t.Partitions {
			rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			rp.Partition = rq.Partition
			p, err := c.lookup(leader, partition.ID{Topic: t.Topic, Partition: rq.Partition})
			if err == nil {
				err = p.CheckLeaderEpoch(rq.CurrentLeaderEpoch)
			}
			if err == nil && !p.IsLeader() {
				err = partition.ErrNotLeader
			}
			if err == nil {
				rp.LeaderEpoch, rp.EndOffset = p.EndOffsetForEpoch(rq.LeaderEpoch)
			}
			rp.ErrorCode = code(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func (c *memClient) Fetch(ctx context.Context, leader int32, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
	c.fetches.Add(1)
	c.mu.Lock()
	down := c.down[leader]
	c.mu.Unlock()
	if down {
		return nil, errDown
	}
	wake := make(chan struct{}, 1)
	timer := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	for {
		resp, size, parts := c.fetchOnce(leader, req)
		for _, p := range parts {
			p.Watch(wake)
		}
		// Re-read after registering so nothing is missed.
		resp, size, _ = c.fetchOnce(leader, req)
		if size >= int(req.MinBytes) || hasError(resp) {
			unwatch(parts, wake)
			return resp, nil
		}
		select {
		case <-wake:
			unwatch(parts, wake)
		case <-timer.C:
			unwatch(parts, wake)
			resp, _, _ = c.fetchOnce(leader, req)
			return resp, nil
		case <-ctx.Done():
			unwatch(parts, wake)
			return nil, ctx.Err()
		}
	}
}

func unwatch(parts []*partition.Partition, wake chan struct{}) {
	for _, p := range parts {
		p.Unwatch(wake)
	}
}

func hasError(resp *kmsg.FetchResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}

func (c *memClient) fetchOnce(leader int32, req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, []*partition.Partition) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	size := 0
	var parts []*partition.Partition
	for _, t := range req.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, fp := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = fp.Partition
			rp.HighWatermark, rp.LogStartOffset = -1, -1
			p, err := c.lookup(leader, partition.ID{Topic: t.Topic, Partition: fp.Partition})
			if err == nil {
				err = p.CheckLeaderEpoch(fp.CurrentLeaderEpoch)
			}
			if err == nil {
				parts = append(parts, p)
				err = p.FollowerFetched(req.ReplicaID, fp.FetchOffset, time.Now())
			}
			if err == nil {
				var info partition.ReadInfo
				info, err = p.ReadForFollower(fp.FetchOffset, int(fp.PartitionMaxBytes))
				if err == nil {
					rp.RecordBatches, err = info.Records.AppendTo(nil)
					size += len(rp.RecordBatches)
				}
			}
			if p != nil && errors.Is(err, log.ErrOffsetOutOfRange) {
				rp.LogStartOffset, rp.HighWatermark = p.Log().StartOffset(), p.HighWatermark()
			} else if p != nil && err == nil {
				rp.LogStartOffset, rp.HighWatermark = p.Log().StartOffset(), p.HighWatermark()
			}
			rp.ErrorCode = code(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, size, parts
}
