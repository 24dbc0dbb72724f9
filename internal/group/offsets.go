package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// commitSlot is one partition of an OffsetCommit being written.
type commitSlot struct {
	code  *int16
	tp    topicPartition
	value offset
}

// OffsetCommit handles OffsetCommit v0-9: every partition is answered once
// the commit is durable; the offsets are applied only then. A simple commit
// (generation -1, no member) to an unknown group creates it.
func (s *Shard) OffsetCommit(ctx coordinator.Context, info RequestInfo, req *kmsg.OffsetCommitRequest, respond func(*kmsg.OffsetCommitResponse)) {
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = req.Version
	var slots []commitSlot
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for range t.Partitions {
			rt.Partitions = append(rt.Partitions, kmsg.NewOffsetCommitResponseTopicPartition())
		}
		resp.Topics = append(resp.Topics, rt)
	}
	for ti, t := range req.Topics {
		for pi, p := range t.Partitions {
			rp := &resp.Topics[ti].Partitions[pi]
			rp.Partition = p.Partition
			if !s.partitionExists(t.Topic, p.Partition) {
				rp.ErrorCode = codeUnknownTopicOrPartition
				continue
			}
			slots = append(slots, commitSlot{code: &rp.ErrorCode, tp: topicPartition{t.Topic, p.Partition}, value: s.commitValue(ctx.Now(), req, p)})
		}
	}
	if len(slots) == 0 {
		respond(resp)
		return
	}
	setAll := func(code int16) {
		for _, slot := range slots {
			*slot.code = code
		}
	}
	if code := s.validateCommit(ctx, req); code != codeNone {
		setAll(code)
		respond(resp)
		return
	}
	s.writeCommits(ctx, req.Group, slots, func() { respond(resp) })
}

// commitValue is the offset a request partition commits.
func (s *Shard) commitValue(now time.Time, req *kmsg.OffsetCommitRequest, p kmsg.OffsetCommitRequestTopicPartition) offset {
	o := offset{offset: p.Offset, leaderEpoch: -1, commitTimestamp: now.UnixMilli(), expireTimestamp: -1}
	if req.Version >= 6 {
		o.leaderEpoch = p.LeaderEpoch
	}
	if p.Metadata != nil {
		o.metadata = *p.Metadata
	}
	if req.Version == 1 && p.Timestamp != -1 {
		o.commitTimestamp = p.Timestamp
	}
	if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
		o.expireTimestamp = o.commitTimestamp + req.RetentionTimeMillis
	}
	return o
}

// partitionExists asks Config.PartitionCount (nil accepts everything).
func (s *Shard) partitionExists(topic string, partition int32) bool {
	if s.cfg.PartitionCount == nil {
		return true
	}
	count, ok := s.cfg.PartitionCount(topic)
	return ok && partition >= 0 && partition < count
}

// validateCommit is Kafka's group check of an OffsetCommit; a member's
// commit also counts as a heartbeat.
func (s *Shard) validateCommit(ctx coordinator.Context, req *kmsg.OffsetCommitRequest) int16 {
	if s.closed {
		return codeNotCoordinator
	}
	memberCommit := req.Generation >= 0 || req.MemberID != "" || req.InstanceID != nil
	g := s.groups[req.Group]
	if g == nil {
		switch {
		case req.Generation >= 0:
			return codeIllegalGeneration
		case memberCommit:
			return codeUnknownMemberID
		}
		return codeNone
	}
	if g.state == stateDead {
		return codeCoordinatorNotAvailable
	}
	if memberCommit {
		if code := g.validateMember(req.MemberID, req.InstanceID); code != codeNone {
			return code
		}
		if req.Generation != g.generation {
			return codeIllegalGeneration
		}
	} else if g.state != stateEmpty {
		return codeUnknownMemberID
	}
	switch g.state {
	case stateCompletingRebalance:
		return codeRebalanceInProgress
	case stateStable, statePreparingRebalance:
		m := g.members[req.MemberID]
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
	}
	return codeNone
}

// writeCommits writes the slots' records and applies them once durable.
func (s *Shard) writeCommits(ctx coordinator.Context, groupID string, slots []commitSlot, done func()) {
	var records []coordinator.Record
	var writing []commitSlot
	for _, slot := range slots {
		if len(slot.value.metadata) > OffsetMetadataMaxBytes {
			*slot.code = codeOffsetMetadataTooLarge
			continue
		}
		records = append(records, offsetRecord(groupID, slot.tp, slot.value))
		writing = append(writing, slot)
		s.pendingCommits[groupPartition{groupID, slot.tp}]++
	}
	if len(records) == 0 {
		done()
		return
	}
	now := ctx.Now().UnixMilli()
	ctx.Write(records, func(err error) {
		for _, slot := range writing {
			key := groupPartition{groupID, slot.tp}
			if s.pendingCommits[key]--; s.pendingCommits[key] <= 0 {
				delete(s.pendingCommits, key)
			}
		}
		if err != nil {
			for _, slot := range writing {
				*slot.code = writeErrorCode(err)
			}
			done()
			return
		}
		g := s.groupOrCreate(groupID, now)
		for _, slot := range writing {
			g.offsets[slot.tp] = slot.value
		}
		done()
	})
}

// OffsetFetch answers OffsetFetch for one group in the v8+ shape; topics
// nil means every committed offset. Partitions without a commit are -1.
func (s *Shard) OffsetFetch(ctx coordinator.Context, info RequestInfo, groupID string, topics []kmsg.OffsetFetchRequestTopic, requireStable bool) kmsg.OffsetFetchResponseGroup {
	res := kmsg.NewOffsetFetchResponseGroup()
	res.Group = groupID
	res.Topics = []kmsg.OffsetFetchResponseGroupTopic{}
	if s.closed {
		res.ErrorCode = codeNotCoordinator
		return res
	}
	g := s.groups[groupID]
	if g != nil && g.state == stateDead {
		g = nil
	}
	if topics == nil {
		if g != nil {
			res.Topics = g.allOffsets()
		}
		return res
	}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		rt.Partitions = []kmsg.OffsetFetchResponseGroupTopicPartition{}
		for _, p := range t.Partitions {
			o := offset{offset: -1, leaderEpoch: -1}
			if g != nil {
				if committed, found := g.offsets[topicPartition{t.Topic, p}]; found {
					o = committed
				}
			}
			rt.Partitions = append(rt.Partitions, fetchPartition(p, o))
		}
		res.Topics = append(res.Topics, rt)
	}
	return res
}

func fetchPartition(partition int32, o offset) kmsg.OffsetFetchResponseGroupTopicPartition {
	rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	rp.Partition = partition
	rp.Offset = o.offset
	rp.LeaderEpoch = o.leaderEpoch
	metadata := o.metadata
	rp.Metadata = &metadata
	return rp
}

// allOffsets lists the group's offsets by topic and partition.
func (g *group) allOffsets() []kmsg.OffsetFetchResponseGroupTopic {
	tps := sortedPartitions(g.offsets)
	out := []kmsg.OffsetFetchResponseGroupTopic{}
	for _, tp := range tps {
		if len(out) == 0 || out[len(out)-1].Topic != tp.topic {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = tp.topic
			out = append(out, rt)
		}
		last := &out[len(out)-1]
		last.Partitions = append(last.Partitions, fetchPartition(tp.partition, g.offsets[tp]))
	}
	return out
}

func sortedPartitions(offsets map[topicPartition]offset) []topicPartition {
	tps := make([]topicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sortPartitions(tps)
	return tps
}

func sortPartitions(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
}

// OffsetDelete handles OffsetDelete v0: an Empty group loses any offsets;
// a consumer group keeps those of the topics its members subscribe to.
func (s *Shard) OffsetDelete(ctx coordinator.Context, info RequestInfo, req *kmsg.OffsetDeleteRequest, respond func(*kmsg.OffsetDeleteResponse)) {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.Version = req.Version
	g := s.groups[req.Group]
	switch {
	case s.closed:
		resp.ErrorCode = codeNotCoordinator
	case g == nil || g.state == stateDead:
		resp.ErrorCode = codeGroupIDNotFound
	case g.state != stateEmpty && g.protocolType != "consumer":
		resp.ErrorCode = codeNonEmptyGroup
	}
	if resp.ErrorCode != codeNone {
		respond(resp)
		return
	}
	var deleting []topicPartition
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			switch {
			case !s.partitionExists(t.Topic, p.Partition):
				rp.ErrorCode = codeUnknownTopicOrPartition
			case g.state != stateEmpty && g.isSubscribed(t.Topic):
				rp.ErrorCode = codeGroupSubscribedToTopic
			default:
				deleting = append(deleting, topicPartition{t.Topic, p.Partition})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	// Kafka leaves a group emptied by OffsetDelete in place; the periodic
	// expiry sweep removes it later.
	s.removeOffsets(ctx, g, deleting, false, func(err error) {
		if err != nil {
			resp.ErrorCode = writeErrorCode(err)
			resp.Topics = nil
		}
		respond(resp)
	})
}

// isSubscribed reports whether a member subscribes to topic; true when the
// subscriptions are unknown.
func (g *group) isSubscribed(topic string) bool {
	return g.subscribed == nil || g.subscribed[topic]
}

// removeOffsets writes tombstones for the group's offsets of tps. With
// dropEmpty (the expiry sweep), an Empty group left without offsets becomes
// Dead and its metadata is tombstoned too; the group is Dead while the
// write is under way (joins and commits retry). Changes apply once the
// write is durable.
func (s *Shard) removeOffsets(ctx coordinator.Context, g *group, tps []topicPartition, dropEmpty bool, done func(error)) {
	var records []coordinator.Record
	var removing []topicPartition
	for _, tp := range tps {
		if _, ok := g.offsets[tp]; ok {
			records = append(records, offsetTombstone(g.id, tp))
			removing = append(removing, tp)
		}
	}
	dies := dropEmpty && g.state == stateEmpty && len(g.offsets) == len(removing) && !s.hasPendingCommits(g.id) &&
		len(g.pending) == 0
	if dies {
		records = append(records, groupTombstone(g.id))
	}
	if len(records) == 0 {
		done(nil)
		return
	}
	oldTimestamp := g.stateTimestamp
	if dies {
		g.transition(stateDead, ctx.Now())
	}
	ctx.Write(records, func(err error) {
		if err != nil {
			if dies && g.state == stateDead {
				g.state, g.stateTimestamp = stateEmpty, oldTimestamp
			}
			done(err)
			return
		}
		for _, tp := range removing {
			delete(g.offsets, tp)
		}
		if dies {
			s.forgetGroup(ctx, g)
		}
		done(nil)
	})
}

func (s *Shard) hasPendingCommits(groupID string) bool {
	for key := range s.pendingCommits {
		if key.group == groupID {
			return true
		}
	}
	return false
}

// scheduleExpiry arms the periodic offset expiry.
func (s *Shard) scheduleExpiry(ctx coordinator.Context) {
	s.schedule(ctx, expireKey, OffsetsRetentionCheckInterval, func(c coordinator.Context) {
		s.ExpireOffsets(c)
		s.scheduleExpiry(c)
	})
}

// ExpireOffsets runs one offset expiry sweep now (Loaded schedules it
// every OffsetsRetentionCheckInterval).
func (s *Shard) ExpireOffsets(ctx coordinator.Context) {
	if s.closed {
		return
	}
	now := ctx.Now().UnixMilli()
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g := s.groups[id]
		if g.state == stateDead {
			continue
		}
		expired := s.expiredOffsets(g, now)
		if len(expired) == 0 && !(g.state == stateEmpty && len(g.offsets) == 0) {
			continue
		}
		s.removeOffsets(ctx, g, expired, true, func(error) {})
	}
}

// expiredOffsets is Kafka 2.1+ retention: an Empty group's offsets expire
// OffsetsRetention after it became Empty; a Stable consumer group's offsets
// of topics nobody subscribes to, and a simple group's, after their commit.
// Offsets committed with an explicit retention expire at their timestamp.
func (s *Shard) expiredOffsets(g *group, now int64) []topicPartition {
	retention := s.cfg.OffsetsRetention.Milliseconds()
	var base func(o offset) int64
	var subscribed map[string]bool
	switch {
	case g.protocolType != "" && g.state == stateEmpty:
		base = func(o offset) int64 {
			if g.stateTimestamp >= 0 {
				return g.stateTimestamp
			}
			return o.commitTimestamp
		}
	case g.protocolType == "consumer" && g.subscribed != nil && g.state == stateStable:
		base = func(o offset) int64 { return o.commitTimestamp }
		subscribed = g.subscribed
	case g.protocolType == "":
		base = func(o offset) int64 { return o.commitTimestamp }
	default:
		return nil
	}
	var expired []topicPartition
	for tp, o := range g.offsets {
		if subscribed[tp.topic] || s.pendingCommits[groupPartition{g.id, tp}] > 0 {
			continue
		}
		if (o.expireTimestamp >= 0 && now >= o.expireTimestamp) ||
			(o.expireTimestamp < 0 && now-base(o) >= retention) {
			expired = append(expired, tp)
		}
	}
	sortPartitions(expired)
	return expired
}
