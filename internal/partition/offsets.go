package partition

import (
	"samsa/internal/log"
	"samsa/internal/record"
)

// ErrOffsetOutOfRange is returned for offsets outside the log.
var ErrOffsetOutOfRange = log.ErrOffsetOutOfRange

// Special timestamps of ListOffsets.
const (
	LatestTimestamp        = -1
	EarliestTimestamp      = -2
	MaxTimestamp           = -3 // KIP-734
	EarliestLocalTimestamp = -4 // KIP-405: with no tiered storage, the log start
)

// OffsetForTimestamp answers ListOffsets for one partition: the first offset
// whose record timestamp is at or after ts, or the special timestamps.
// found is false when no committed record qualifies (Kafka answers -1, -1).
func (p *Partition) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	hw := p.highWatermark.Load()
	switch ts {
	case LatestTimestamp:
		return hw, -1, true, nil
	case EarliestTimestamp, EarliestLocalTimestamp:
		return p.log.StartOffset(), -1, true, nil
	case MaxTimestamp:
		batch, ok, err := p.log.MaxTimestampBatch()
		if err != nil || !ok {
			return -1, -1, false, err
		}
		off, t, err := record.MaxTimestampRecord(batch, p.Settings().MaxMessageBytes*maxDecodeFactor)
		if err != nil || off >= hw {
			return -1, -1, false, err
		}
		return off, t, true, nil
	}
	if ts < 0 {
		return -1, -1, false, nil
	}
	batch, ok, err := p.log.BatchAtTimestamp(ts)
	if err != nil || !ok {
		return -1, -1, false, err
	}
	off, t, ok, err := record.FindTimestamp(batch, ts, p.Settings().MaxMessageBytes*maxDecodeFactor)
	if err != nil || !ok || off >= hw {
		return -1, -1, false, err
	}
	if start := p.log.StartOffset(); off < start {
		off = start
	}
	return off, t, true, nil
}

// DeleteRecordsBefore moves the log start offset to offset (DeleteRecords).
// offset -1 means the high watermark. It returns the new low watermark.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.leader {
		return -1, ErrNotLeader
	}
	hw := p.highWatermark.Load()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, ErrOffsetOutOfRange
	}
	if offset > p.log.StartOffset() {
		if err := p.log.DeleteRecordsBefore(offset); err != nil {
			return -1, err
		}
	}
	return p.log.StartOffset(), nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: for the current epoch the
// log end offset, otherwise the start offset of the first epoch above the
// largest epoch at or below the requested one.
func (p *Partition) EndOffsetForEpoch(epoch int32) (int32, int64) {
	if epoch == p.leaderEpoch.Load() {
		return epoch, p.log.EndOffset()
	}
	return p.log.EndOffsetForEpoch(epoch)
}
