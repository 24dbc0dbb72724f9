package partition

import "context"

// WaitReplicated waits, for a produce request with acks=all, until the
// high watermark passes offset (the last offset the request appended).
// It fails with ErrNotLeader when this replica stops leading, with
// ErrNotEnoughReplicasAfterAppend when the records are replicated but the
// in-sync set is then smaller than min.insync.replicas, and with the
// context's error when ctx ends first (the handler answers
// REQUEST_TIMED_OUT). AwaitReplicated is the form without a goroutine.
func (p *Partition) WaitReplicated(ctx context.Context, offset int64) error {
	wake := make(chan struct{}, 1)
	defer p.Unwatch(wake)
	for {
		// Register before checking so a change in between wakes us.
		p.WatchFor(wake, WakeOnHighWatermark)
		if done, err := p.replicatedBeyond(offset); done {
			return err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AckWaiter is one AwaitReplicated in progress.
type AckWaiter struct {
	offset int64
	done   func(error)
}

// AwaitReplicated is WaitReplicated by callback: done runs exactly once,
// with nil once the high watermark passes offset, or with ErrNotLeader or
// ErrNotEnoughReplicasAfterAppend, unless CancelAwait removes the waiter
// first. It runs either before AwaitReplicated returns or on the goroutine
// that moved the high watermark (or changed the leadership or the in-sync
// set), with the partition's lock held: done must be quick, must not block
// and must not call into the partition. An acks=all produce is thus
// answered by the fetch that completes it, with no goroutine of its own
// to wake.
func (p *Partition) AwaitReplicated(offset int64, done func(error)) *AckWaiter {
	w := &AckWaiter{offset: offset, done: done}
	p.mu.Lock()
	defer p.mu.Unlock()
	if finished, err := p.replicatedBeyondLocked(offset); finished {
		done(err)
		return w
	}
	if p.mu.acks == nil {
		p.mu.acks = make(map[*AckWaiter]struct{})
	}
	p.mu.acks[w] = struct{}{}
	return w
}

// CancelAwait removes w; false when its done has run or is running.
func (p *Partition) CancelAwait(w *AckWaiter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mu.acks[w]; !ok {
		return false
	}
	delete(p.mu.acks, w)
	return true
}

// completeAcksLocked runs the done of every AwaitReplicated that is over.
func (p *Partition) completeAcksLocked() {
	for w := range p.mu.acks {
		if finished, err := p.replicatedBeyondLocked(w.offset); finished {
			delete(p.mu.acks, w)
			w.done(err)
		}
	}
}

func (p *Partition) replicatedBeyond(offset int64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replicatedBeyondLocked(offset)
}

func (p *Partition) replicatedBeyondLocked(offset int64) (bool, error) {
	switch {
	case !p.mu.leader:
		return true, ErrNotLeader
	case p.highWatermark.Load() <= offset:
		return false, nil
	case p.inSyncCountLocked() < p.settings.Load().MinInsyncReplicas:
		return true, ErrNotEnoughReplicasAfterAppend
	}
	return true, nil
}
