package partition

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"samsa/internal/record"
)

// AppendAsFollower appends batches fetched from the leader as they are:
// their offsets and leader epochs stay the leader's (the log's epoch cache
// follows the batches' stamps) and the producer state is updated from
// their headers. Batches wholly below the log end offset are skipped; a
// batch that straddles it replaces the local tail from its base offset.
// The high watermark does not move: it comes from SetFollowerHighWatermark.
func (p *Partition) AppendAsFollower(batches []byte) error {
	headers, err := validateReplicated(batches)
	if err != nil || len(headers) == 0 {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.leader {
		return ErrNotFollower
	}
	leo := p.log.EndOffset()
	skip := 0
	for len(headers) > 0 && headers[0].NextOffset() <= leo {
		skip += headers[0].Size()
		headers = headers[1:]
	}
	if len(headers) == 0 {
		return nil
	}
	if base := headers[0].BaseOffset; base < leo {
		if err := p.truncateLocked(base); err != nil {
			return err
		}
	}
	if _, err := p.log.Append(batches[skip:], false); err != nil {
		return err
	}
	for i := range headers {
		if h := &headers[i]; h.ProducerID >= 0 && !h.IsControl() {
			p.mu.producers.Apply(h)
		}
	}
	return nil
}

// validateReplicated checks every batch fully (framing and CRC-32C, no
// size limit: the leader accepted them under its own settings) and returns
// their headers.
func validateReplicated(batches []byte) ([]record.Header, error) {
	var headers []record.Header
	for pos := 0; pos < len(batches); {
		size, err := record.PeekSize(batches[pos:])
		if err != nil || size > len(batches)-pos {
			return nil, fmt.Errorf("%w: truncated replicated batch at byte %d", record.ErrCorrupt, pos)
		}
		h, err := record.Validate(batches[pos:pos+size], 0)
		if err != nil {
			return nil, fmt.Errorf("replicated batch at byte %d: %w", pos, err)
		}
		headers = append(headers, h)
		pos += size
	}
	return headers, nil
}

// TruncateTo removes, on a follower, every batch at or above offset (a
// batch containing offset goes whole), rebuilds the producer state for the
// remaining log and clamps the high watermark to the new log end offset.
func (p *Partition) TruncateTo(offset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.leader {
		return ErrNotFollower
	}
	return p.truncateLocked(offset)
}

func (p *Partition) truncateLocked(offset int64) error {
	if offset >= p.log.EndOffset() {
		return nil
	}
	if err := p.log.TruncateTo(offset); err != nil {
		return err
	}
	p.clampHighWatermarkLocked()
	return p.rebuildProducersLocked()
}

// TruncateFullyAndStartAt empties a follower's log and restarts it at
// offset (the leader's log start offset, when this replica fell behind it).
func (p *Partition) TruncateFullyAndStartAt(offset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.leader {
		return ErrNotFollower
	}
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	p.highWatermark.Store(offset)
	return p.rebuildProducersLocked()
}

func (p *Partition) clampHighWatermarkLocked() {
	if leo := p.log.EndOffset(); p.highWatermark.Load() > leo {
		p.highWatermark.Store(leo)
	}
}

// rebuildProducersLocked restores the producer state after a truncation:
// a snapshot taken at or past the new log end describes removed batches
// and is deleted; the state is then the older snapshot (if any) plus the
// batch headers after it.
func (p *Partition) rebuildProducersLocked() error {
	path := filepath.Join(p.dir, snapshotFile)
	if _, last, err := readSnapshot(p.fsys, path); err == nil && last >= p.log.EndOffset() {
		if err := p.fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing producer snapshot past the truncation: %w", err)
		}
	}
	producers, err := restoreProducers(p.fsys, p.dir, p.log, p.logger)
	if err != nil {
		return fmt.Errorf("rebuilding producer state of %s: %w", p.ID, err)
	}
	p.mu.producers = producers
	return nil
}

// SetFollowerHighWatermark sets a follower's high watermark from the
// leader's fetch response: min(hw, log end offset). Ignored on the leader.
func (p *Partition) SetFollowerHighWatermark(hw int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.leader || hw < 0 {
		return
	}
	hw = min(hw, p.log.EndOffset())
	if hw != p.highWatermark.Load() {
		p.highWatermark.Store(hw)
		p.notifyLocked(WakeOnHighWatermark)
	}
}

// SetFollowerLogStartOffset moves a follower's log start offset up to the
// leader's (after retention or DeleteRecords there), no further than its
// own high watermark. Ignored on the leader.
func (p *Partition) SetFollowerLogStartOffset(offset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.leader {
		return nil
	}
	offset = min(offset, p.highWatermark.Load(), p.log.EndOffset())
	if offset <= p.log.StartOffset() {
		return nil
	}
	return p.log.DeleteRecordsBefore(offset)
}
