package coordinator

import (
	"log/slog"
	"sync"
	"time"

	"samsa/internal/partition"
)

// Runtime keeps one Shard for every partition of a coordinator topic that
// this broker leads.
type Runtime[S StateMachine] struct {
	topic  string
	newSM  func(partition int32) S
	clock  func() time.Time
	logger *slog.Logger

	mu struct {
		sync.Mutex
		shards     map[int32]*Shard[S]
		parts      map[int32]*partition.Partition
		partitions int32 // partition count of the topic, 0 while it does not exist
		closed     bool
	}
}

// NewRuntime returns a runtime for topic whose shards run state machines
// made by newSM.
func NewRuntime[S StateMachine](topic string, newSM func(partition int32) S, clock func() time.Time, logger *slog.Logger) *Runtime[S] {
	r := &Runtime[S]{topic: topic, newSM: newSM, clock: clock, logger: logger}
	r.mu.shards = map[int32]*Shard[S]{}
	r.mu.parts = map[int32]*partition.Partition{}
	return r
}

// Topic is the coordinator's internal topic.
func (r *Runtime[S]) Topic() string { return r.topic }

// Sync starts a shard for every partition in leaders (the replicas this
// broker leads) and stops the shards of partitions it no longer leads.
// count is the topic's partition count (0: the topic does not exist).
func (r *Runtime[S]) Sync(leaders map[int32]*partition.Partition, count int32) {
	r.mu.Lock()
	if r.mu.closed {
		r.mu.Unlock()
		return
	}
	r.mu.partitions = count
	var stop []*Shard[S]
	for p, sh := range r.mu.shards {
		if leaders[p] != r.mu.parts[p] {
			stop = append(stop, sh)
			delete(r.mu.shards, p)
			delete(r.mu.parts, p)
		}
	}
	for p, part := range leaders {
		if _, ok := r.mu.shards[p]; ok {
			continue
		}
		r.mu.shards[p] = StartShard(part, r.newSM(p), r.clock, r.logger.With("coordinator_partition", p))
		r.mu.parts[p] = part
	}
	r.mu.Unlock()
	for _, sh := range stop {
		sh.Stop()
	}
}

// Partitions returns the topic's partition count (0 before it exists).
func (r *Runtime[S]) Partitions() int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.partitions
}

// Shard returns the shard of partition p: ErrUnavailable when the topic does
// not exist yet, ErrNotCoordinator when another broker leads p.
func (r *Runtime[S]) Shard(p int32) (*Shard[S], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.partitions == 0 {
		return nil, ErrUnavailable
	}
	sh, ok := r.mu.shards[p]
	if !ok {
		return nil, ErrNotCoordinator
	}
	return sh, nil
}

// Shards returns every running shard.
func (r *Runtime[S]) Shards() []*Shard[S] {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Shard[S], 0, len(r.mu.shards))
	for _, sh := range r.mu.shards {
		out = append(out, sh)
	}
	return out
}

// Close stops every shard.
func (r *Runtime[S]) Close() {
	r.mu.Lock()
	r.mu.closed = true
	shards := r.mu.shards
	r.mu.shards = map[int32]*Shard[S]{}
	r.mu.Unlock()
	for _, sh := range shards {
		sh.Stop()
	}
}

// JavaStringHash is Java's String.hashCode over the UTF-16 code units of s,
// which Kafka uses to map a group id to its coordinator partition.
func JavaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// PartitionFor maps a key to one of n partitions as Kafka does:
// abs(hashCode) % n, with abs(MinInt32) = 0 (Kafka's Utils.abs masks the
// sign bit).
func PartitionFor(key string, n int32) int32 {
	return (JavaStringHash(key) & 0x7fffffff) % n
}
