// Package log stores one partition: a directory of segments in Kafka's
// layout (<base offset>.log, .index, .timeindex). Appends go to the active
// segment through the page cache; reads find batches by index lookup plus a
// short header scan and return file regions, so a server can sendfile them.
package log

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// Sentinel errors.
var (
	// ErrOffsetOutOfRange: a read offset below the log start or above the
	// log end offset. Maps to OFFSET_OUT_OF_RANGE.
	ErrOffsetOutOfRange = errors.New("log: offset out of range")
	// ErrNonMonotonic: a replicated batch whose base offset is below the log
	// end offset (or batches out of order within one append).
	ErrNonMonotonic = errors.New("log: non-monotonic offset")
	// ErrClosed: the log was closed or deleted.
	ErrClosed = errors.New("log: closed")
)

// Log is one partition's storage. Safe for concurrent use: mutations
// (Append, TruncateTo, DeleteRecordsBefore, Tick, Close) are serialized by
// writeMu; reads take mu only briefly and do their I/O without locks.
type Log struct {
	fsys   vfs.FS
	dir    string
	logger *slog.Logger
	clock  func() time.Time

	writeMu     sync.Mutex // serializes mutations
	syncMu      sync.Mutex // one fsync at a time; waiters share it (group commit)
	epochFileMu sync.Mutex // serializes leader-epoch-checkpoint writes
	pending     []pendingDelete
	cleanMu     sync.Mutex // one compaction pass at a time (cleaner.go)
	cleaner     cleanerState

	mu struct {
		sync.Mutex
		cfg           Config
		segments      []*segment // by base offset; the last is active
		startOffset   int64
		endOffset     int64
		flushedOffset int64
		lastFlush     time.Time
		epochs        epochCache
		epochVersion  int64 // bumped on every change of epochs
		epochWritten  int64 // version last written to the checkpoint
		closed        bool
		failure       error // why the log went offline (failure.go); nil while online
	}
}

// AppendResult describes an append.
type AppendResult struct {
	FirstOffset    int64
	LastOffset     int64
	MaxTimestamp   int64
	LogStartOffset int64
}

// SetConfig replaces the configuration. Index sizes apply to segments
// created afterwards.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.cfg = cfg.sanitized()
}

func (l *Log) config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.cfg
}

// StartOffset returns the log start offset.
func (l *Log) StartOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.startOffset
}

// EndOffset returns the log end offset: the next offset to assign.
func (l *Log) EndOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.endOffset
}

// FlushedOffset returns the offset below which everything is fsynced.
func (l *Log) FlushedOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.flushedOffset
}

// Size returns the total bytes of all segment files.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for _, s := range l.mu.segments {
		total += s.size
	}
	return total
}

// NumSegments returns the number of segments.
func (l *Log) NumSegments() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.segments)
}

// LatestEpoch returns the latest leader epoch in the log, or -1.
func (l *Log) LatestEpoch() int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.epochs.latest()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: (-1, -1) when unknown.
func (l *Log) EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.epochs.endOffsetFor(epoch, l.mu.endOffset)
}

func (l *Log) activeLocked() *segment { return l.mu.segments[len(l.mu.segments)-1] }

// parseBatches splits concatenated batches, checking only framing.
func parseBatches(batches []byte) ([]record.Header, error) {
	if len(batches) == 0 {
		return nil, fmt.Errorf("log: empty append: %w", record.ErrInvalid)
	}
	if len(batches) > math.MaxInt32 {
		return nil, fmt.Errorf("log: append of %d bytes: %w", len(batches), record.ErrTooLarge)
	}
	var headers []record.Header
	for rest := batches; len(rest) > 0; {
		h, err := record.ParseHeader(rest)
		if err != nil {
			return nil, fmt.Errorf("log: append: %w", err)
		}
		if h.Size() > len(rest) || h.LastOffsetDelta < 0 {
			return nil, fmt.Errorf("log: append: batch of %d bytes in %d: %w", h.Size(), len(rest), record.ErrCorrupt)
		}
		headers = append(headers, h)
		rest = rest[h.Size():]
	}
	return headers, nil
}

// Append appends one or more complete, already-validated magic-2 batches
// (concatenated; only framing is checked here, not CRCs). With
// assignOffsets the base offsets are rewritten in place, consecutively from
// the log end offset; otherwise (replication) each base offset must be at
// least the end of the previous batch, else ErrNonMonotonic. Rolls first
// when the batches do not fit segment.bytes, segment.ms has passed since
// the segment's first batch, or an index is full. Syncs (group-committed)
// when flush.messages unflushed messages have accumulated.
func (l *Log) Append(batches []byte, assignOffsets bool) (AppendResult, error) {
	headers, err := parseBatches(batches)
	if err != nil {
		return AppendResult{}, err
	}
	l.writeMu.Lock()
	result, needSync, err := l.appendWriter(batches, headers, assignOffsets)
	l.writeMu.Unlock()
	if err != nil {
		return AppendResult{}, err
	}
	if needSync {
		if err := l.Sync(); err != nil {
			return result, err
		}
	}
	return result, nil
}

// appendWriter does the append with writeMu held.
func (l *Log) appendWriter(batches []byte, headers []record.Header, assign bool) (AppendResult, bool, error) {
	l.mu.Lock()
	unusable, cfg, next, seg := l.unusableLocked(), l.mu.cfg, l.mu.endOffset, l.activeLocked()
	l.mu.Unlock()
	if unusable != nil {
		return AppendResult{}, false, unusable
	}
	if err := assignOrCheck(batches, headers, next, assign); err != nil {
		return AppendResult{}, false, err
	}
	first, last := headers[0].BaseOffset, headers[len(headers)-1].LastOffset()
	now := l.clock()
	if shouldRoll(seg, cfg, int64(len(batches)), last, now) {
		var err error
		if seg, err = l.rollWriter(first); err != nil {
			return AppendResult{}, false, l.ioFailure(err)
		}
	}
	if err := l.writeToSegment(seg, batches); err != nil {
		return AppendResult{}, false, err
	}
	result, unflushed, epochChanged := l.publishAppend(seg, headers, cfg, now)
	if epochChanged {
		l.writeEpochCheckpoint()
	}
	return result, unflushed >= cfg.FlushMessages, nil
}

// assignOrCheck rewrites base offsets (assign) or checks they are
// monotonic, updating headers to match.
func assignOrCheck(batches []byte, headers []record.Header, next int64, assign bool) error {
	pos := 0
	for i := range headers {
		h := &headers[i]
		if assign {
			record.SetBaseOffset(batches[pos:], next)
			h.BaseOffset = next
		} else if h.BaseOffset < next {
			return fmt.Errorf("%w: batch base offset %d below %d", ErrNonMonotonic, h.BaseOffset, next)
		}
		if h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
			return fmt.Errorf("log: batch offset %d overflows: %w", h.BaseOffset, record.ErrCorrupt)
		}
		next = h.NextOffset()
		pos += h.Size()
	}
	return nil
}

func shouldRoll(seg *segment, cfg Config, size, lastOffset int64, now time.Time) bool {
	if lastOffset-seg.base > math.MaxInt32 {
		return true // relative offsets must fit the index
	}
	if seg.size == 0 {
		return false
	}
	return seg.size+size > cfg.SegmentBytes ||
		seg.size+size > math.MaxUint32 ||
		now.Sub(seg.rollTime).Milliseconds() >= cfg.SegmentMs ||
		seg.index.full() || seg.timeIndex.full()
}

// writeToSegment writes at the end of the segment. On failure the file is
// cut back so no partial batch stays behind: a full disk leaves the log
// online, any other error (or a failed cut) takes it offline.
func (l *Log) writeToSegment(seg *segment, batches []byte) error {
	if _, err := seg.file.WriteAt(batches, seg.size); err != nil {
		err = fmt.Errorf("log: append to %s: %w", seg.file.Name(), err)
		if truncErr := seg.file.Truncate(seg.size); truncErr != nil {
			return l.Fail(fmt.Errorf("%w; cutting the partial write back to %d failed: %w", err, seg.size, truncErr))
		}
		return l.ioFailure(err)
	}
	return nil
}

// publishAppend makes written batches visible: sizes, indexes, offsets,
// epochs. Returns the result, the unflushed message count and whether the
// epoch cache changed.
func (l *Log) publishAppend(seg *segment, headers []record.Header, cfg Config, now time.Time) (AppendResult, int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	result := AppendResult{FirstOffset: headers[0].BaseOffset, MaxTimestamp: -1}
	epochChanged, wasEmpty := false, seg.size == 0
	for _, h := range headers {
		seg.addBatchLocked(h, int64(cfg.IndexIntervalBytes))
		if l.mu.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset) {
			epochChanged = true
			l.mu.epochVersion++
		}
		result.MaxTimestamp = max(result.MaxTimestamp, h.MaxTimestamp)
		result.LastOffset = h.LastOffset()
	}
	if wasEmpty {
		seg.rollTime = now // segment.ms counts from the first batch
	}
	seg.lastAppend = now
	l.mu.endOffset = seg.next
	result.LogStartOffset = l.mu.startOffset
	return result, l.mu.endOffset - l.mu.flushedOffset, epochChanged
}

// addBatchLocked accounts for a batch written at the end of the segment,
// adding index entries every interval bytes (Kafka's rule).
func (s *segment) addBatchLocked(h record.Header, interval int64) {
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp = h.MaxTimestamp
		s.offsetOfMaxTimestamp = h.LastOffset()
	}
	if s.bytesSinceIndex > interval && !s.index.full() && !s.timeIndex.full() {
		s.index.entries = append(s.index.entries, offsetEntry{relOffset: relative(s.base, h.LastOffset()), position: uint32(s.size)})
		if s.maxTimestamp >= 0 {
			s.timeIndex.maybeAppend(s.maxTimestamp, relative(s.base, s.offsetOfMaxTimestamp))
		}
		s.bytesSinceIndex = 0
		s.indexesDirty = true
	}
	s.tail.add(s.size, s.size+int64(h.Size()), h.LastOffset())
	s.size += int64(h.Size())
	s.bytesSinceIndex += int64(h.Size())
	s.next = h.NextOffset()
}

// rollWriter closes the active segment (final time index entry, index files
// trimmed, everything synced) and starts a new one at base. An empty active
// segment is replaced rather than kept. Called with writeMu held.
func (l *Log) rollWriter(base int64) (*segment, error) {
	l.mu.Lock()
	old, cfg := l.activeLocked(), l.mu.cfg
	l.mu.Unlock()
	if old.size > 0 {
		if err := l.sealWriter(old); err != nil {
			return nil, err
		}
	}
	file, err := createSegmentFiles(l.fsys, l.dir, base, cfg)
	if err != nil {
		return nil, err
	}
	seg := newSegment(base, file, cfg, l.clock())
	l.mu.Lock()
	if old.size == 0 {
		l.mu.segments[len(l.mu.segments)-1] = seg
	} else {
		l.mu.segments = append(l.mu.segments, seg)
		l.mu.flushedOffset = max(l.mu.flushedOffset, old.next)
	}
	l.mu.Unlock()
	if old.size == 0 {
		if old.base != base {
			l.removeSegmentFiles(old)
		} else {
			old.file.Close() // its files were just recreated in place
		}
	}
	l.logger.Debug("rolled segment", "dir", l.dir, "base", base)
	return seg, nil
}

// sealWriter finishes a segment that stops being active: adds the final
// time index entry, writes the indexes and syncs the log file.
func (l *Log) sealWriter(seg *segment) error {
	l.mu.Lock()
	if seg.maxTimestamp >= 0 {
		seg.timeIndex.maybeAppend(seg.maxTimestamp, relative(seg.base, seg.offsetOfMaxTimestamp))
	}
	offsets, times := seg.index.encode(), seg.timeIndex.encode()
	l.mu.Unlock()
	if err := writeIndexFiles(l.fsys, l.dir, seg.base, offsets, times); err != nil {
		return err
	}
	seg.indexesDirty = false
	return syncFile(seg.file)
}

// Sync fsyncs the active segment. Concurrent callers share one fsync: a
// caller whose data an earlier fsync covered returns without another.
func (l *Log) Sync() error {
	l.mu.Lock()
	need, unusable := l.mu.endOffset, l.unusableLocked()
	l.mu.Unlock()
	if unusable != nil {
		return unusable
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if unusable := l.unusableLocked(); unusable != nil {
		l.mu.Unlock()
		return unusable
	}
	if l.mu.flushedOffset >= need {
		l.mu.Unlock()
		return nil
	}
	target, seg := l.mu.endOffset, l.activeLocked()
	l.mu.Unlock()
	if err := syncFile(seg.file); err != nil {
		return l.Fail(err)
	}
	l.mu.Lock()
	l.mu.flushedOffset = max(l.mu.flushedOffset, min(target, l.mu.endOffset))
	l.mu.lastFlush = l.clock()
	l.mu.Unlock()
	l.writeEpochCheckpoint()
	return nil
}

// writeEpochCheckpoint persists the epoch cache if it changed since the
// last successful write. Failures are logged; a full disk is retried on
// the next call, any other failure takes the log offline.
func (l *Log) writeEpochCheckpoint() error {
	l.epochFileMu.Lock()
	defer l.epochFileMu.Unlock()
	l.mu.Lock()
	version, written, entries := l.mu.epochVersion, l.mu.epochWritten, l.mu.epochs.clone()
	l.mu.Unlock()
	if version == written {
		return nil
	}
	if err := writeCheckpoint(l.fsys, l.dir, epochCheckpointName, encodeEpochs(entries)); err != nil {
		l.logger.Error("cannot write leader epoch checkpoint", "dir", l.dir, "err", err)
		return l.ioFailure(err)
	}
	l.mu.Lock()
	l.mu.epochWritten = max(l.mu.epochWritten, version)
	l.mu.Unlock()
	return nil
}

// Close syncs everything, writes the indexes and a clean-shutdown marker,
// and closes the files. In-flight reads of closed files fail.
func (l *Log) Close() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	return l.closeWriter(true)
}

func (l *Log) closeWriter(markClean bool) error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	segments, failure := l.mu.segments, l.mu.failure
	l.mu.Unlock()
	if failure != nil {
		return l.closeOffline(segments)
	}
	err := l.sealAll(segments)
	if epochErr := l.writeEpochCheckpoint(); err == nil {
		err = epochErr
	}
	l.syncMu.Lock()
	l.mu.Lock()
	l.mu.closed = true
	l.mu.Unlock()
	l.syncMu.Unlock()
	if err == nil && markClean {
		err = writeCheckpoint(l.fsys, l.dir, cleanShutdownName, nil)
	}
	for _, s := range segments {
		if closeErr := s.file.Close(); err == nil && closeErr != nil {
			err = fmt.Errorf("log: close %s: %w", s.file.Name(), closeErr)
		}
	}
	l.finishDeletes(time.Time{}, true)
	return err
}

// sealAll writes indexes and syncs every segment whose state is not yet on
// disk (the active one, and any rebuilt at open).
func (l *Log) sealAll(segments []*segment) error {
	for i, s := range segments {
		active := i == len(segments)-1
		if !active && !s.indexesDirty {
			continue
		}
		if err := l.sealWriter(s); err != nil {
			return err
		}
	}
	return nil
}

// closeOffline closes the files of an offline log without writing
// anything: no indexes, no clean-shutdown marker, so the next open scans
// and recovers the segments.
func (l *Log) closeOffline(segments []*segment) error {
	l.syncMu.Lock()
	l.mu.Lock()
	l.mu.closed = true
	l.mu.Unlock()
	l.syncMu.Unlock()
	for _, s := range segments {
		s.file.Close()
	}
	l.finishDeletes(time.Time{}, true)
	return nil
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.closeWriter(false); err != nil && !errors.Is(err, ErrClosed) {
		l.logger.Warn("errors closing log before delete", "dir", l.dir, "err", err)
	}
	if err := l.fsys.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("log: delete %s: %w", l.dir, err)
	}
	return l.fsys.SyncDir(filepath.Dir(l.dir))
}
