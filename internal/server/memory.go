package server

import (
	"context"
	"sync"
)

// memoryPool is queued.max.request.bytes: a budget, shared by every
// connection, on the bytes of requests read but not yet answered. It follows
// Kafka's broker pool (non-strict): a frame is admitted whenever some budget
// is left, even if it is larger than what is left, so the budget is exceeded
// by at most one frame and a frame larger than the whole budget still gets
// through. While nothing is left, readers wait before starting their next
// frame: the broker stops reading from its sockets until answered requests
// give their bytes back.
//
// A frame reserves its claimed size when its size prefix arrives (so a frame
// that started always finishes: no deadlock between half-read frames), but
// memory is only allocated as its bytes arrive (see readBody).
type memoryPool struct {
	capacity int64 // <= 0: unbounded, reserve never waits

	mu struct {
		sync.Mutex
		available int64
		waiters   int
		freed     chan struct{} // closed and replaced when bytes return while someone waits
	}
}

func newMemoryPool(capacity int64) *memoryPool {
	p := &memoryPool{capacity: capacity}
	p.mu.available = capacity
	p.mu.freed = make(chan struct{})
	return p
}

// reserve takes n bytes of budget, waiting while none is left. It returns
// whether it had to wait, or ctx's error if ctx ended first.
func (p *memoryPool) reserve(ctx context.Context, n int64) (waited bool, err error) {
	if p.capacity <= 0 {
		return false, nil
	}
	for {
		p.mu.Lock()
		if p.mu.available > 0 {
			p.mu.available -= n
			p.mu.Unlock()
			return waited, nil
		}
		p.mu.waiters++
		freed := p.mu.freed
		p.mu.Unlock()
		waited = true
		select {
		case <-freed:
			p.mu.Lock()
			p.mu.waiters--
			p.mu.Unlock()
		case <-ctx.Done():
			p.mu.Lock()
			p.mu.waiters--
			p.mu.Unlock()
			return waited, ctx.Err()
		}
	}
}

// release gives n reserved bytes back and wakes the readers waiting for them.
func (p *memoryPool) release(n int64) {
	if p.capacity <= 0 || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.available += n
	if p.mu.waiters > 0 {
		close(p.mu.freed)
		p.mu.freed = make(chan struct{})
	}
}

// available returns the budget left (negative when a frame overshot it).
func (p *memoryPool) available() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.available
}
