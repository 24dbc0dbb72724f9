package log

import (
	"fmt"
	"math"
	"sort"
	"time"

	"samsa/internal/record"
)

// pendingDelete is a removed segment whose files stay open (renamed to
// *.deleted) until due, so in-flight reads of it still succeed
// (file.delete.delay.ms).
type pendingDelete struct {
	seg *segment
	due time.Time
}

// Tick runs the time-driven work: segment.ms rolls, retention by time and
// size (closed segments only), flush.ms, and delayed file deletion.
func (l *Log) Tick(now time.Time) error {
	l.writeMu.Lock()
	flushDue, err := l.tickWriter(now)
	l.writeMu.Unlock()
	if err != nil {
		return err
	}
	if flushDue {
		return l.Sync()
	}
	return nil
}

func (l *Log) tickWriter(now time.Time) (bool, error) {
	l.mu.Lock()
	unusable, cfg, active := l.unusableLocked(), l.mu.cfg, l.activeLocked()
	flushDue := l.mu.flushedOffset < l.mu.endOffset && cfg.FlushMs != math.MaxInt64 &&
		now.Sub(l.mu.lastFlush).Milliseconds() >= cfg.FlushMs
	next := active.next
	l.mu.Unlock()
	if unusable != nil {
		return false, unusable
	}
	if active.size > 0 && now.Sub(active.rollTime).Milliseconds() >= cfg.SegmentMs {
		if _, err := l.rollWriter(next); err != nil {
			return false, l.ioFailure(err)
		}
	}
	l.applyRetentionWriter(now, cfg)
	l.finishDeletes(now, false)
	return flushDue, nil
}

// applyRetentionWriter deletes the longest prefix of closed segments that
// are below the log start offset, older than retention.ms, or beyond
// retention.bytes.
func (l *Log) applyRetentionWriter(now time.Time, cfg Config) {
	l.mu.Lock()
	segments := l.mu.segments
	var total int64
	for _, s := range segments {
		total += s.size
	}
	count := 0
	for i, s := range segments[:len(segments)-1] {
		belowStart := segments[i+1].base <= l.mu.startOffset
		expired := cfg.RetentionMs >= 0 && now.Sub(s.newestTime()).Milliseconds() > cfg.RetentionMs
		oversize := cfg.RetentionBytes >= 0 && total-s.size >= cfg.RetentionBytes
		if !belowStart && !expired && !oversize {
			break
		}
		total -= s.size
		count++
	}
	l.mu.Unlock()
	if count > 0 {
		l.deletePrefixWriter(count, now, "retention")
	}
}

// newestTime is the segment's largest timestamp, or its last append when
// it holds none (Kafka falls back to the file's modification time).
func (s *segment) newestTime() time.Time {
	if s.maxTimestamp >= 0 {
		return time.UnixMilli(s.maxTimestamp)
	}
	return s.lastAppend
}

// deletePrefixWriter removes the first count segments (never the active
// one) and moves the log start offset up to the first remaining segment.
func (l *Log) deletePrefixWriter(count int, now time.Time, reason string) {
	l.mu.Lock()
	removed := append([]*segment(nil), l.mu.segments[:count]...)
	l.mu.segments = append([]*segment(nil), l.mu.segments[count:]...)
	newStart := max(l.mu.startOffset, l.mu.segments[0].base)
	l.mu.startOffset = newStart
	if l.mu.epochs.truncateFromStart(newStart) {
		l.mu.epochVersion++
	}
	l.mu.Unlock()
	for _, s := range removed {
		l.logger.Info("deleting segment", "dir", l.dir, "base", s.base, "size", s.size, "reason", reason)
		l.scheduleDelete(s, now)
	}
	l.writeEpochCheckpoint()
}

// scheduleDelete renames a removed segment's files to *.deleted and closes
// and removes them after the configured delay.
func (l *Log) scheduleDelete(s *segment, now time.Time) {
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		from := segmentPath(l.dir, s.base, suffix)
		if err := l.fsys.Rename(from, from+deletedSuffix); err != nil && !isNotExist(err) {
			l.logger.Warn("cannot rename segment file for deletion", "file", from, "err", err)
		}
	}
	delay := time.Duration(l.config().FileDeleteDelayMs) * time.Millisecond
	l.pending = append(l.pending, pendingDelete{seg: s, due: now.Add(delay)})
	if delay <= 0 {
		l.finishDeletes(now, false)
	}
}

// finishDeletes closes and removes pending segments that are due (all of
// them when force is set).
func (l *Log) finishDeletes(now time.Time, force bool) {
	kept := l.pending[:0]
	for _, p := range l.pending {
		if !force && now.Before(p.due) {
			kept = append(kept, p)
			continue
		}
		p.seg.file.Close()
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			name := segmentPath(l.dir, p.seg.base, suffix) + deletedSuffix
			if err := l.fsys.Remove(name); err != nil && !isNotExist(err) {
				l.logger.Warn("cannot remove deleted segment file", "file", name, "err", err)
			}
		}
	}
	l.pending = kept
}

// removeSegmentFiles drops a segment that never held data, at once.
func (l *Log) removeSegmentFiles(s *segment) {
	s.file.Close()
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := l.fsys.Remove(segmentPath(l.dir, s.base, suffix)); err != nil && !isNotExist(err) {
			l.logger.Warn("cannot remove empty segment file", "base", s.base, "err", err)
		}
	}
}

// DeleteRecordsBefore moves the log start offset up to offset (persisted in
// a checkpoint) and deletes closed segments wholly below it.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	unusable, start, end := l.unusableLocked(), l.mu.startOffset, l.mu.endOffset
	l.mu.Unlock()
	switch {
	case unusable != nil:
		return unusable
	case offset > end || offset < 0:
		return fmt.Errorf("%w: delete before %d, log end %d", ErrOffsetOutOfRange, offset, end)
	case offset <= start:
		return nil
	}
	if err := writeCheckpoint(l.fsys, l.dir, startCheckpointName, encodeStartOffset(offset)); err != nil {
		return l.ioFailure(err)
	}
	l.mu.Lock()
	l.mu.startOffset = offset
	count := 0
	for count < len(l.mu.segments)-1 && l.mu.segments[count+1].base <= offset {
		count++
	}
	if l.mu.epochs.truncateFromStart(offset) {
		l.mu.epochVersion++
	}
	l.mu.Unlock()
	if count > 0 {
		l.deletePrefixWriter(count, l.clock(), "delete records")
	} else {
		l.writeEpochCheckpoint()
	}
	return nil
}

// TruncateTo removes every batch at or above offset. A batch that contains
// offset is removed whole, so the log end offset becomes its base offset.
// Truncating below the log start empties the log and restarts it at offset.
func (l *Log) TruncateTo(offset int64) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	unusable, start, end := l.unusableLocked(), l.mu.startOffset, l.mu.endOffset
	l.mu.Unlock()
	switch {
	case unusable != nil:
		return unusable
	case offset < 0:
		return fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	case offset >= end:
		return nil
	case offset < start:
		return l.ioFailure(l.truncateFullyWriter(offset))
	}
	return l.ioFailure(l.truncateTailWriter(offset))
}

func (l *Log) truncateTailWriter(offset int64) error {
	l.mu.Lock()
	segments := l.mu.segments
	keep := sort.Search(len(segments), func(i int) bool { return segments[i].base > offset })
	keep = max(keep, 1)
	seg := segments[keep-1]
	v := view{seg: seg, size: seg.size}
	l.mu.Unlock()
	pos, h, err := l.findPosition(v, offset, func(h record.Header) bool { return h.LastOffset() >= offset })
	if err != nil {
		return err
	}
	newEnd := offset
	if pos < v.size {
		newEnd = h.BaseOffset
	}
	if err := seg.file.Truncate(pos); err != nil {
		return fmt.Errorf("log: truncate %s: %w", seg.file.Name(), err)
	}
	l.mu.Lock()
	removed := append([]*segment(nil), l.mu.segments[keep:]...)
	l.mu.segments = l.mu.segments[:keep]
	seg.size, seg.next = pos, newEnd
	seg.index.truncateAt(pos)
	seg.timeIndex.truncateAtOffset(relative(seg.base, newEnd))
	from := seg.index.lastPosition()
	seg.bytesSinceIndex = pos - from
	seg.indexesDirty = true
	l.mu.endOffset = newEnd
	l.mu.flushedOffset = min(l.mu.flushedOffset, newEnd)
	l.lowerFirstDirty(newEnd)
	if l.mu.epochs.truncateFromEnd(newEnd) {
		l.mu.epochVersion++
	}
	l.mu.Unlock()
	if err := l.recomputeMaxTimestamp(seg, from, pos); err != nil {
		return err
	}
	l.logger.Info("truncated log", "dir", l.dir, "offset", offset, "end", newEnd, "removedSegments", len(removed))
	now := l.clock()
	for _, s := range removed {
		l.scheduleDelete(s, now)
	}
	l.writeEpochCheckpoint()
	return nil
}

// recomputeMaxTimestamp sets a segment's max timestamp after a cut: the
// last time index entry covers every batch up to the last offset index
// entry (they are added together); the batches from there to end are
// scanned.
func (l *Log) recomputeMaxTimestamp(seg *segment, from, end int64) error {
	maxTs, maxOffset := int64(-1), int64(-1)
	l.mu.Lock()
	if last, ok := seg.timeIndex.last(); ok {
		maxTs, maxOffset = last.timestamp, seg.base+int64(last.relOffset)
	}
	l.mu.Unlock()
	err := walkHeaders(seg.file, from, end, func(h record.Header) error {
		if h.MaxTimestamp > maxTs {
			maxTs, maxOffset = h.MaxTimestamp, h.LastOffset()
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	seg.maxTimestamp, seg.offsetOfMaxTimestamp = maxTs, maxOffset
	l.mu.Unlock()
	return nil
}

// truncateFullyWriter deletes every segment and restarts the log at offset.
func (l *Log) truncateFullyWriter(offset int64) error {
	l.mu.Lock()
	cfg := l.mu.cfg
	l.mu.Unlock()
	file, err := createSegmentFiles(l.fsys, l.dir, offset, cfg)
	if err != nil {
		return err
	}
	if err := writeCheckpoint(l.fsys, l.dir, startCheckpointName, encodeStartOffset(offset)); err != nil {
		file.Close()
		return err
	}
	seg := newSegment(offset, file, cfg, l.clock())
	l.mu.Lock()
	removed := l.mu.segments
	l.mu.segments = []*segment{seg}
	l.mu.startOffset, l.mu.endOffset, l.mu.flushedOffset = offset, offset, offset
	l.lowerFirstDirty(offset)
	l.mu.epochs.entries = nil
	l.mu.epochVersion++
	l.mu.Unlock()
	l.logger.Info("truncated log fully", "dir", l.dir, "start", offset)
	now := l.clock()
	for _, s := range removed {
		if s.base == offset {
			s.file.Close() // its files were just recreated in place
			continue
		}
		l.scheduleDelete(s, now)
	}
	l.writeEpochCheckpoint()
	return nil
}
