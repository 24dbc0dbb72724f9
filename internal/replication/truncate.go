package replication

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
	"samsa/internal/partition"
)

// truncate asks the leader where each partition's latest epoch ends
// (OffsetForLeaderEpoch) and truncates the local log there, removing a
// tail the leader does not have (KIP-101, KIP-279).
func (f *fetcher) truncate(list []*followed) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = f.m.cfg.EpochVersion
	req.ReplicaID = f.m.self
	sent := make(map[partition.ID]*followed)
	asked := make(map[partition.ID]int32)
	now := time.Now()
	f.mu.Lock()
	topics := make(map[string]int)
	for _, st := range list {
		if !f.currentLocked(st) {
			continue
		}
		latest := st.p.Log().LatestEpoch()
		if latest < 0 {
			// No epoch to compare (an empty log, or one without epochs):
			// keep only what is known committed.
			f.truncateLocked(st, st.p.HighWatermark(), now)
			continue
		}
		i, ok := topics[st.p.ID.Topic]
		if !ok {
			i = len(req.Topics)
			topics[st.p.ID.Topic] = i
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = st.p.ID.Topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition = st.p.ID.Partition
		rp.CurrentLeaderEpoch = st.epoch
		rp.LeaderEpoch = latest
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		sent[st.p.ID], asked[st.p.ID] = st, latest
	}
	f.mu.Unlock()
	if len(sent) == 0 {
		return
	}
	resp, err := f.m.client.OffsetForLeaderEpoch(f.ctx, f.leader, req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.ctx.Err() == nil {
			f.logger.Warn("OffsetForLeaderEpoch to the leader failed", "err", err)
		}
		for _, st := range sent {
			f.failLocked(st, now)
		}
		return
	}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			id := partition.ID{Topic: t.Topic, Partition: rp.Partition}
			st := sent[id]
			if st == nil {
				continue
			}
			delete(sent, id)
			if f.currentLocked(st) {
				f.applyEpochLocked(st, asked[id], rp, now)
			}
		}
	}
	for _, st := range sent { // missing from the answer
		f.failLocked(st, now)
	}
}

// applyEpochLocked truncates st to the leader's end offset for the epoch
// asked about. When the leader's answer names an older epoch than asked,
// the local end of that epoch bounds the truncation too, and another
// round follows if the local log does not have that epoch.
func (f *fetcher) applyEpochLocked(st *followed, asked int32, rp kmsg.OffsetForLeaderEpochResponseTopicPartition, now time.Time) {
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.FencedLeaderEpoch):
		f.stopLocked(st, err)
		return
	default:
		f.logger.Debug("OffsetForLeaderEpoch refused; retrying", "partition", st.p.ID.String(), "err", err)
		f.failLocked(st, now)
		return
	}
	if rp.LeaderEpoch < 0 || rp.EndOffset < 0 {
		// The leader has no epoch at or below ours: keep what is committed.
		f.truncateLocked(st, st.p.HighWatermark(), now)
		return
	}
	target, again := rp.EndOffset, false
	if rp.LeaderEpoch < asked {
		epoch, end := st.p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
		if end >= 0 {
			target = min(target, end)
		}
		again = epoch != rp.LeaderEpoch
	}
	if f.truncateLocked(st, target, now) && again {
		st.truncate = true
	}
}

// truncateLocked truncates st to offset (no-op at or above the log end)
// and marks it ready to fetch. It reports success.
func (f *fetcher) truncateLocked(st *followed, offset int64, now time.Time) bool {
	before := st.p.Log().EndOffset()
	if err := st.p.TruncateTo(offset); err != nil {
		f.applyErrorLocked(st, err, now)
		return false
	}
	if end := st.p.Log().EndOffset(); end < before {
		f.logger.Info("truncated follower log to the leader's", "partition", st.p.ID.String(), "from", before, "to", end)
	}
	st.truncate, st.failures = false, 0
	return true
}

// applyErrorLocked handles a failed local operation: a replica that is no
// longer a follower (or is closed) stops; anything else is retried.
func (f *fetcher) applyErrorLocked(st *followed, err error, now time.Time) {
	if errors.Is(err, partition.ErrNotFollower) || errors.Is(err, log.ErrClosed) {
		f.stopLocked(st, err)
		return
	}
	f.logger.Warn("applying replicated data failed; retrying", "partition", st.p.ID.String(), "err", err)
	f.failLocked(st, now)
}

func (f *fetcher) stopLocked(st *followed, err error) {
	f.logger.Info("stopped following until the next leader change", "partition", st.p.ID.String(), "epoch", st.epoch, "reason", err)
	st.stopped = true
}
