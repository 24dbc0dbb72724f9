package replication

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"samsa/internal/partition"
)

// Backoff after errors: doubles from minBackoff up to Config.RetryBackoff.
const minBackoff = 50 * time.Millisecond

// followed is one partition a fetcher follows. A new Follow creates a new
// one, so a response for an older one is recognised and dropped.
type followed struct {
	p     *partition.Partition
	epoch int32 // the leader epoch sent as the current one
	// truncate: the log must be truncated to the leader's before fetching.
	truncate bool
	// stopped: the leader has a newer epoch (FENCED_LEADER_EPOCH) or the
	// replica stopped being a follower; nothing more until the next Follow.
	stopped      bool
	failures     int
	backoffUntil time.Time
}

// fetcher follows every partition led by one broker.
type fetcher struct {
	m      *Manager
	leader int32
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu struct {
		sync.Mutex
		parts map[*partition.Partition]*followed
	}
}

func newFetcher(m *Manager, leader int32) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fetcher{m: m, leader: leader, logger: m.logger.With("leader", leader), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1)}
	f.mu.parts = make(map[*partition.Partition]*followed)
	return f
}

// following reports whether p is followed at epoch already.
func (f *fetcher) following(p *partition.Partition, epoch int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.mu.parts[p]
	return ok && st.epoch == epoch
}

func (f *fetcher) add(p *partition.Partition, epoch int32) {
	f.mu.Lock()
	f.mu.parts[p] = &followed{p: p, epoch: epoch, truncate: true}
	f.mu.Unlock()
	f.poke()
}

// remove drops p (waiting for an apply in progress) and returns how many
// partitions remain.
func (f *fetcher) remove(p *partition.Partition) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mu.parts, p)
	return len(f.mu.parts)
}

func (f *fetcher) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// current reports whether st is still what the fetcher follows for its
// partition. Called with f.mu held.
func (f *fetcher) currentLocked(st *followed) bool {
	return f.mu.parts[st.p] == st
}

// failLocked backs st off after an error.
func (f *fetcher) failLocked(st *followed, now time.Time) {
	st.failures = min(st.failures+1, 16)
	delay := min(minBackoff<<(st.failures-1), f.m.cfg.RetryBackoff)
	st.backoffUntil = now.Add(delay)
}

// plan splits the partitions ready now into those to truncate and those
// to fetch, and returns when the next backed-off one is due.
func (f *fetcher) plan(now time.Time) (truncate, fetch []*followed, next time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.mu.parts {
		switch {
		case st.stopped:
		case st.backoffUntil.After(now):
			if next.IsZero() || st.backoffUntil.Before(next) {
				next = st.backoffUntil
			}
		case st.truncate:
			truncate = append(truncate, st)
		default:
			fetch = append(fetch, st)
		}
	}
	return truncate, fetch, next
}

// run is the fetcher's loop: truncate what needs it, fetch the rest, sleep
// when nothing is ready. It ends when the fetcher is cancelled.
func (f *fetcher) run() {
	defer close(f.done)
	for f.ctx.Err() == nil {
		truncate, fetch, next := f.plan(time.Now())
		switch {
		case len(truncate) > 0:
			f.truncate(truncate)
		case len(fetch) > 0:
			f.fetch(fetch)
		default:
			f.idle(next)
		}
	}
}

// idle waits for a change, the next backoff to expire or the end.
func (f *fetcher) idle(next time.Time) {
	var timeout <-chan time.Time
	if !next.IsZero() {
		timer := time.NewTimer(time.Until(next))
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-f.ctx.Done():
	case <-f.wake:
	case <-timeout:
	}
}
