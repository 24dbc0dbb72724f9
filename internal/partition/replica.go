package partition

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// replicaSet is the replication state of a partition, guarded by
// Partition.mu. On the leader, followers tracks what each follower has
// fetched; on a follower only leader, replicas and the epochs are used.
type replicaSet struct {
	self           int32
	leader         int32 // the leading broker, -1 when unknown
	partitionEpoch int32
	replicas       []int32
	isr            []int32
	// epochStartOffset is the log end offset when this replica became
	// leader in its current epoch: a follower joins the in-sync set only
	// once it has every record of earlier epochs (Kafka's rule).
	epochStartOffset int64
	followers        map[int32]*followerState
}

// followerState is the leader's view of one follower.
type followerState struct {
	endOffset int64 // the follower's log end offset, -1 until it fetches
	// lastCaughtUp is the last time the follower was known to have every
	// record the leader had (Kafka's lastCaughtUpTimeMs).
	lastCaughtUp time.Time
	// lastFetch and leaderEndAtLastFetch are the time of the previous
	// fetch and the leader's log end offset then.
	lastFetch            time.Time
	leaderEndAtLastFetch int64
}

// MakeLeader makes this replica (broker self) the leader at epoch with the
// given assignment and in-sync set. A new leader epoch resets what is known
// of the followers: their log end offsets become unknown, so the high
// watermark waits until every in-sync follower has fetched; the in-sync
// followers count as caught up now, so they are not dropped at once. The
// same epoch again only updates the replica and in-sync sets. With no other
// replica in the in-sync set the high watermark is the log end offset.
func (p *Partition) MakeLeader(epoch, partitionEpoch int32, replicas, isr []int32, self int32) {
	now := p.clock()
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := &p.mu.replicas
	newEpoch := !p.mu.leader || epoch != p.leaderEpoch.Load()
	p.mu.leader = true
	p.leaderEpoch.Store(epoch)
	rs.self, rs.leader = self, self
	rs.replicas = slices.Clone(replicas)
	if newEpoch || partitionEpoch >= rs.partitionEpoch {
		// In the same leader epoch an older partition epoch does not undo
		// an in-sync set already applied (ApplyISR).
		rs.partitionEpoch = partitionEpoch
		rs.isr = slices.Clone(isr)
	}
	if newEpoch || rs.followers == nil {
		rs.epochStartOffset = p.log.EndOffset()
		rs.followers = make(map[int32]*followerState)
	}
	for _, r := range replicas {
		if r == self || rs.followers[r] != nil {
			continue
		}
		st := &followerState{endOffset: -1, leaderEndAtLastFetch: -1}
		if slices.Contains(isr, r) {
			st.lastCaughtUp = now
		}
		rs.followers[r] = st
	}
	for r := range rs.followers {
		if !slices.Contains(replicas, r) {
			delete(rs.followers, r)
		}
	}
	p.distrustOpenHighWatermarkLocked()
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked(WakeOnAny)
}

// MakeFollower makes this replica a follower of leader at epoch. The high
// watermark is clamped to the log end offset; from now on it comes from
// the leader (SetFollowerHighWatermark). Waiters are woken: a WaitReplicated
// in progress fails with ErrNotLeader.
func (p *Partition) MakeFollower(epoch, partitionEpoch int32, leader int32, replicas []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := &p.mu.replicas
	p.mu.leader = false
	p.leaderEpoch.Store(epoch)
	rs.leader = leader
	rs.partitionEpoch = partitionEpoch
	rs.replicas = slices.Clone(replicas)
	rs.followers = nil
	p.distrustOpenHighWatermarkLocked()
	if leo := p.log.EndOffset(); p.highWatermark.Load() > leo {
		p.highWatermark.Store(leo)
	}
	p.notifyLocked(WakeOnAny)
}

// Leader returns the broker leading this partition as last told by
// MakeLeader or MakeFollower (-1 when unknown).
func (p *Partition) Leader() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.replicas.leader
}

// ISR returns the in-sync replica set (empty for a sole leader made by
// BecomeLeader).
func (p *Partition) ISR() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.mu.replicas.isr)
}

// Replicas returns the assigned replicas.
func (p *Partition) Replicas() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.mu.replicas.replicas)
}

// PartitionEpoch is the epoch of the partition's replica and in-sync sets.
func (p *Partition) PartitionEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.replicas.partitionEpoch
}

// distrustOpenHighWatermarkLocked: after a restart the log may hold records
// that were never committed, so unless this replica leads alone its high
// watermark starts over at the log start and comes from the followers'
// fetches (leader) or from the leader's responses (follower). No
// checkpoint of high watermarks exists yet.
func (p *Partition) distrustOpenHighWatermarkLocked() {
	if !p.mu.hwFromOpen {
		return
	}
	p.mu.hwFromOpen = false
	if p.mu.leader && p.inSyncCountLocked() == 1 {
		return
	}
	p.highWatermark.Store(p.log.StartOffset())
}

// inSyncCountLocked counts the in-sync set; an empty one is the leader alone.
func (p *Partition) inSyncCountLocked() int {
	return max(len(p.mu.replicas.isr), 1)
}

// maybeAdvanceHighWatermarkLocked moves the leader's high watermark up to
// the smallest log end offset of the in-sync set (never backwards), waking
// waiters when it moves.
func (p *Partition) maybeAdvanceHighWatermarkLocked() {
	if !p.mu.leader {
		return
	}
	rs := &p.mu.replicas
	hw := p.log.EndOffset()
	for _, r := range rs.isr {
		if r == rs.self {
			continue
		}
		st := rs.followers[r]
		if st == nil {
			return // an in-sync replica never heard of: wait for it
		}
		hw = min(hw, st.endOffset)
	}
	if hw > p.highWatermark.Load() {
		p.highWatermark.Store(hw)
		p.notifyLocked(WakeOnHighWatermark)
	}
}

// FollowerFetched records, on the leader, a fetch by follower replica from
// fetchOffset (a follower fetches from its log end offset): its log end
// offset, its last caught-up time (Kafka's rule: caught up now if it asked
// for the leader's current log end, else caught up at the previous fetch
// if it asked for at least the log end of then) and the high watermark
// that follows. Offsets outside the log give ErrOffsetOutOfRange, unknown
// replicas and non-leaders ErrNotLeader.
func (p *Partition) FollowerFetched(replica int32, fetchOffset int64, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.leader {
		return ErrNotLeader
	}
	st := p.mu.replicas.followers[replica]
	if st == nil {
		return fmt.Errorf("%w: replica %d is not a follower of %s", ErrNotLeader, replica, p.ID)
	}
	start, leo := p.log.StartOffset(), p.log.EndOffset()
	if fetchOffset < start || fetchOffset > leo {
		return fmt.Errorf("%w: follower fetch at %d, log is [%d, %d]", ErrOffsetOutOfRange, fetchOffset, start, leo)
	}
	switch {
	case fetchOffset >= leo:
		st.lastCaughtUp = later(st.lastCaughtUp, now)
	case fetchOffset >= st.leaderEndAtLastFetch && st.leaderEndAtLastFetch >= 0:
		st.lastCaughtUp = later(st.lastCaughtUp, st.lastFetch)
	}
	st.endOffset = fetchOffset
	st.lastFetch = now
	st.leaderEndAtLastFetch = leo
	p.maybeAdvanceHighWatermarkLocked()
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ReadForFollower returns batches from offset for a follower's fetch: whole
// batches up to the log end offset (not bounded by the high watermark), at
// most maxBytes unless the first batch alone is larger.
func (p *Partition) ReadForFollower(offset int64, maxBytes int) (ReadInfo, error) {
	if !p.IsLeader() {
		return ReadInfo{HighWatermark: -1, LastStable: -1, LogStartOffset: -1}, ErrNotLeader
	}
	hw := p.highWatermark.Load()
	info := ReadInfo{HighWatermark: hw, LastStable: hw, LogStartOffset: p.log.StartOffset()}
	res, err := p.log.Read(offset, max(maxBytes, 0), math.MaxInt64, true)
	if err != nil {
		return info, err
	}
	info.Records = res
	return info, nil
}

// ISRChanges proposes, on the leader, changes to the in-sync set: shrink
// lists in-sync followers not caught up for more than lagTime
// (replica.lag.time.max.ms), expand lists other replicas whose log end
// offset has reached the high watermark and the start of the leader's
// epoch. The caller sends the new set (isr - shrink + expand) to the
// controller (AlterPartition) and applies the accepted one with ApplyISR.
func (p *Partition) ISRChanges(now time.Time, lagTime time.Duration) (shrink, expand []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.leader {
		return nil, nil
	}
	rs := &p.mu.replicas
	hw := p.highWatermark.Load()
	for _, r := range rs.replicas {
		st := rs.followers[r]
		if r == rs.self || st == nil {
			continue
		}
		inSync := slices.Contains(rs.isr, r)
		switch {
		case inSync && now.Sub(st.lastCaughtUp) > lagTime:
			shrink = append(shrink, r)
		case !inSync && st.endOffset >= hw && st.endOffset >= rs.epochStartOffset:
			expand = append(expand, r)
		}
	}
	return shrink, expand
}

// ApplyISR installs an in-sync set the controller accepted (AlterPartition
// or the next metadata image) at partitionEpoch; an older partition epoch
// is ignored. A smaller set may let the high watermark advance; waiters
// are woken either way (acks=all rechecks min.insync.replicas).
func (p *Partition) ApplyISR(isr []int32, partitionEpoch int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := &p.mu.replicas
	if partitionEpoch < rs.partitionEpoch {
		return
	}
	rs.partitionEpoch = partitionEpoch
	rs.isr = slices.Clone(isr)
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked(WakeOnAny)
}
