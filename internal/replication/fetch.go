package replication

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/partition"
	"samsa/internal/record"
)

// sentPartition is a partition in a fetch request and the offset asked.
type sentPartition struct {
	st     *followed
	offset int64
}

// fetch sends one Fetch for every ready partition, from each log end
// offset, and applies the answer.
func (f *fetcher) fetch(list []*followed) {
	cfg := f.m.cfg
	req := kmsg.NewPtrFetchRequest()
	req.Version = cfg.FetchVersion
	req.ReplicaID = f.m.self
	req.ReplicaState.ID = f.m.self
	req.MaxWaitMillis = int32(cfg.FetchMaxWait.Milliseconds())
	req.MinBytes = cfg.FetchMinBytes
	req.MaxBytes = cfg.FetchMaxBytes
	req.SessionID, req.SessionEpoch = 0, -1 // no fetch session
	sent := make(map[partition.ID]sentPartition)
	names := make(map[[16]byte]string)
	topics := make(map[string]int)
	f.mu.Lock()
	for _, st := range list {
		if !f.currentLocked(st) {
			continue
		}
		p := st.p
		i, ok := topics[p.ID.Topic]
		if !ok {
			i = len(req.Topics)
			topics[p.ID.Topic] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = p.ID.Topic, p.TopicID
			req.Topics = append(req.Topics, t)
			names[p.TopicID] = p.ID.Topic
		}
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = p.ID.Partition
		fp.CurrentLeaderEpoch = st.epoch
		fp.FetchOffset = p.Log().EndOffset()
		fp.LastFetchedEpoch = p.Log().LatestEpoch()
		fp.LogStartOffset = p.Log().StartOffset()
		fp.PartitionMaxBytes = cfg.PartitionMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, fp)
		sent[p.ID] = sentPartition{st: st, offset: fp.FetchOffset}
	}
	f.mu.Unlock()
	if len(sent) == 0 {
		return
	}
	resp, err := f.m.client.Fetch(f.ctx, f.leader, req)
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && resp.ErrorCode != 0 {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		if f.ctx.Err() == nil {
			f.logger.Warn("fetch from the leader failed", "err", err)
		}
		for _, s := range sent {
			f.failLocked(s.st, now)
		}
		return
	}
	for _, t := range resp.Topics {
		name := t.Topic
		if name == "" {
			name = names[t.TopicID]
		}
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			id := partition.ID{Topic: name, Partition: rp.Partition}
			s, ok := sent[id]
			if !ok {
				continue
			}
			delete(sent, id)
			// Only the current follow, and only if nothing moved the log
			// meanwhile.
			if f.currentLocked(s.st) && !s.st.truncate && s.st.p.Log().EndOffset() == s.offset {
				f.applyFetchLocked(s, rp, now)
			}
		}
	}
}

// applyFetchLocked applies one partition of a fetch response.
func (f *fetcher) applyFetchLocked(s sentPartition, rp *kmsg.FetchResponseTopicPartition, now time.Time) {
	st, p := s.st, s.st.p
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		f.outOfRangeLocked(s, rp, now)
		return
	case errors.Is(err, kerr.FencedLeaderEpoch):
		f.stopLocked(st, err)
		return
	default:
		// NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_...:
		// the leader may not have caught up with the metadata yet.
		f.logger.Debug("fetch refused; retrying", "partition", p.ID.String(), "err", err)
		f.failLocked(st, now)
		return
	}
	if rp.DivergingEpoch.Epoch >= 0 && rp.DivergingEpoch.EndOffset >= 0 {
		st.truncate = true // the leader saw our log diverge
		return
	}
	data := wholeBatches(rp.RecordBatches)
	if len(data) == 0 && len(rp.RecordBatches) > 0 {
		// Not even one whole batch: retrying at once would spin.
		f.logger.Warn("fetch returned no complete batch; raise replica.fetch.max.bytes", "partition", p.ID.String(), "bytes", len(rp.RecordBatches))
		f.failLocked(st, now)
		return
	}
	if len(data) > 0 {
		if err := p.AppendAsFollower(data); err != nil {
			f.applyErrorLocked(st, err, now)
			return
		}
	}
	p.SetFollowerHighWatermark(rp.HighWatermark)
	if rp.LogStartOffset >= 0 {
		if err := p.SetFollowerLogStartOffset(rp.LogStartOffset); err != nil {
			f.logger.Warn("moving the follower's log start", "partition", p.ID.String(), "err", err)
		}
	}
	st.failures = 0
}

// outOfRangeLocked: below the leader's log start the follower starts over
// there; otherwise (ahead of the leader's log end) it truncates again.
func (f *fetcher) outOfRangeLocked(s sentPartition, rp *kmsg.FetchResponseTopicPartition, now time.Time) {
	st := s.st
	if rp.LogStartOffset > s.offset {
		f.logger.Info("follower is below the leader's log start; starting over there", "partition", st.p.ID.String(),
			"log_end", s.offset, "leader_log_start", rp.LogStartOffset)
		if err := st.p.TruncateFullyAndStartAt(rp.LogStartOffset); err != nil {
			f.applyErrorLocked(st, err, now)
			return
		}
		st.failures = 0
		return
	}
	st.truncate = true
	f.failLocked(st, now)
}

// wholeBatches returns the complete batches at the start of b: a leader
// may cut the last batch of a response short.
func wholeBatches(b []byte) []byte {
	pos := 0
	for pos < len(b) {
		size, err := record.PeekSize(b[pos:])
		if err != nil || size <= 0 || size > len(b)-pos {
			break
		}
		pos += size
	}
	return b[:pos]
}
