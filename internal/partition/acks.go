package partition

import "context"

// WaitReplicated waits, for a produce request with acks=all, until the
// high watermark passes offset (the last offset the request appended).
// It fails with ErrNotLeader when this replica stops leading, with
// ErrNotEnoughReplicasAfterAppend when the records are replicated but the
// in-sync set is then smaller than min.insync.replicas, and with the
// context's error when ctx ends first (the handler answers
// REQUEST_TIMED_OUT).
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

func (p *Partition) replicatedBeyond(offset int64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.mu.leader:
		return true, ErrNotLeader
	case p.highWatermark.Load() <= offset:
		return false, nil
	case p.inSyncCountLocked() < p.mu.settings.MinInsyncReplicas:
		return true, ErrNotEnoughReplicasAfterAppend
	}
	return true, nil
}
