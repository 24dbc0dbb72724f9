package log

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// Open opens (creating if needed) the partition directory dir and
// recovers it. After an unclean shutdown the last segment is scanned batch
// by batch (length, CRC-32C, offsets) and cut at the first invalid batch;
// earlier segments were synced when they were rolled, so only their indexes
// are checked, and a segment with a missing or corrupt index is rebuilt by
// the same scan. Every truncation and rebuild is logged.
func Open(fsys vfs.FS, dir string, cfg Config, logger *slog.Logger, clock func() time.Time) (*Log, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = time.Now
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log: create %s: %w", dir, err)
	}
	l := &Log{fsys: fsys, dir: dir, logger: logger.With("dir", dir), clock: clock}
	l.mu.cfg = cfg.sanitized()
	clean, err := l.consumeCleanMarker()
	if err != nil {
		return nil, err
	}
	if err := l.recoverCleanerFiles(); err != nil {
		return nil, err
	}
	bases, err := l.listSegments()
	if err != nil {
		return nil, err
	}
	rebuildEpochs := l.loadEpochCheckpoint()
	rebuiltOlder, err := l.loadSegments(bases, clean)
	if err != nil {
		l.closeSegments()
		return nil, err
	}
	if err := l.finishOpen(rebuildEpochs || rebuiltOlder); err != nil {
		l.closeSegments()
		return nil, err
	}
	return l, nil
}

func (l *Log) closeSegments() {
	for _, s := range l.mu.segments {
		s.file.Close()
	}
}

// consumeCleanMarker reports whether the last shutdown was clean and
// removes the marker durably, so a crash from now on is seen as unclean.
func (l *Log) consumeCleanMarker() (bool, error) {
	name := filepath.Join(l.dir, cleanShutdownName)
	if _, err := l.fsys.Stat(name); err != nil {
		if isNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("log: stat %s: %w", name, err)
	}
	if err := l.fsys.Remove(name); err != nil {
		return false, fmt.Errorf("log: remove %s: %w", name, err)
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return false, fmt.Errorf("log: sync dir %s: %w", l.dir, err)
	}
	return true, nil
}

// listSegments returns the base offsets of the segment files, sorted, and
// removes leftovers: files pending deletion, temporary checkpoints, and
// indexes without a log file.
func (l *Log) listSegments() ([]int64, error) {
	entries, err := l.fsys.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("log: list %s: %w", l.dir, err)
	}
	logs := map[int64]bool{}
	var indexes []string
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentName(name, logSuffix); ok {
			logs[base] = true
		} else if strings.HasSuffix(name, deletedSuffix) || strings.HasSuffix(name, ".tmp") {
			l.removeLeftover(name)
		} else if strings.HasSuffix(name, indexSuffix) || strings.HasSuffix(name, timeIndexSuffix) {
			indexes = append(indexes, name)
		}
	}
	for _, name := range indexes {
		base, ok := parseSegmentName(name, indexSuffix)
		if !ok {
			base, ok = parseSegmentName(name, timeIndexSuffix)
		}
		if !ok || !logs[base] {
			l.removeLeftover(name)
		}
	}
	bases := make([]int64, 0, len(logs))
	for base := range logs {
		bases = append(bases, base)
	}
	slices.Sort(bases)
	return bases, nil
}

func (l *Log) removeLeftover(name string) {
	l.logger.Info("removing leftover file", "file", name)
	if err := l.fsys.Remove(filepath.Join(l.dir, name)); err != nil {
		l.logger.Warn("cannot remove leftover file", "file", name, "err", err)
	}
}

// loadEpochCheckpoint loads the leader epoch cache and reports whether it
// must be rebuilt from the log (missing or corrupt file).
func (l *Log) loadEpochCheckpoint() bool {
	data, err := readWholeFile(l.fsys, filepath.Join(l.dir, epochCheckpointName), checkpointLimit)
	if err != nil {
		if !isNotExist(err) {
			l.logger.Warn("cannot read leader epoch checkpoint; rebuilding", "err", err)
		}
		return true
	}
	entries, err := decodeEpochs(data)
	if err != nil {
		l.logger.Warn("corrupt leader epoch checkpoint; rebuilding", "err", err)
		return true
	}
	l.mu.epochs.entries = entries
	return false
}

// loadSegments opens every segment, recovering those that need it, and
// reports whether a segment other than the last was rescanned (its epoch
// entries then need a full rebuild). Runs before the log is shared, so it
// touches l.mu fields without the lock.
func (l *Log) loadSegments(bases []int64, clean bool) (bool, error) {
	rebuiltOlder := false
	cfg, now := l.mu.cfg, l.clock()
	for i, base := range bases {
		seg, err := l.openSegment(base, cfg, now)
		if err != nil {
			return false, err
		}
		l.mu.segments = append(l.mu.segments, seg)
		last := i == len(bases)-1
		limitRel := int64(math.MaxUint32) + 1
		if !last {
			limitRel = bases[i+1] - base
		}
		truncated, err := l.loadSegment(seg, cfg, last, clean, limitRel)
		if err != nil {
			return false, err
		}
		if !last && seg.indexesDirty {
			rebuiltOlder = true
		}
		if !last && !truncated {
			seg.next = bases[i+1]
		}
		if truncated && !last {
			l.dropSegmentsAfter(bases[i+1:])
			return rebuiltOlder, nil
		}
	}
	return rebuiltOlder, nil
}

func (l *Log) openSegment(base int64, cfg Config, now time.Time) (*segment, error) {
	file, err := l.fsys.OpenFile(segmentPath(l.dir, base, logSuffix), os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: open segment %d: %w", base, err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("log: stat segment %d: %w", base, err)
	}
	seg := newSegment(base, file, cfg, now)
	seg.size = info.Size()
	return seg, nil
}

// loadSegment loads one segment's state and reports whether recovery cut
// it short.
func (l *Log) loadSegment(seg *segment, cfg Config, last, clean bool, limitRel int64) (bool, error) {
	if last && !clean {
		return l.recoverSegment(seg, cfg)
	}
	if err := l.loadIndexes(seg, cfg, limitRel); err != nil {
		l.logger.Warn("rebuilding index", "base", seg.base, "reason", err)
		return l.recoverSegment(seg, cfg)
	}
	if !last && clean {
		return false, nil
	}
	// The tail after the last index entry must be whole batches: for the
	// last segment this finds the log end; for an older one, after an
	// unclean shutdown, it catches a segment cut short (the scan is at
	// most index.interval.bytes of headers).
	if err := l.loadTail(seg); err != nil {
		l.logger.Warn("segment tail is damaged; recovering", "base", seg.base, "reason", err)
		return l.recoverSegment(seg, cfg)
	}
	return false, nil
}

// loadIndexes reads and checks a segment's index files.
func (l *Log) loadIndexes(seg *segment, cfg Config, limitRel int64) error {
	limit := int64(cfg.SegmentIndexBytes) + 16<<20
	offsets, err := readWholeFile(l.fsys, segmentPath(l.dir, seg.base, indexSuffix), limit)
	if err != nil {
		return err
	}
	times, err := readWholeFile(l.fsys, segmentPath(l.dir, seg.base, timeIndexSuffix), limit)
	if err != nil {
		return err
	}
	if seg.index, err = decodeOffsetIndex(offsets, seg.size, limitRel, maxOffsetEntries(cfg)); err != nil {
		return err
	}
	if seg.timeIndex, err = decodeTimeIndex(times, limitRel, maxTimeEntries(cfg)); err != nil {
		return err
	}
	if last, ok := seg.timeIndex.last(); ok {
		seg.maxTimestamp, seg.offsetOfMaxTimestamp = last.timestamp, seg.base+int64(last.relOffset)
	}
	return nil
}

// loadTail finds the next offset and max timestamp of a cleanly closed
// last segment by scanning the batches after its last index entry.
func (l *Log) loadTail(seg *segment) error {
	from := seg.index.lastPosition()
	seg.next = seg.base
	err := walkHeaders(seg.file, from, seg.size, func(h record.Header) error {
		if h.BaseOffset < seg.next {
			return fmt.Errorf("%w: offset %d after %d", errTorn, h.BaseOffset, seg.next)
		}
		seg.next = h.NextOffset()
		if h.MaxTimestamp > seg.maxTimestamp {
			seg.maxTimestamp, seg.offsetOfMaxTimestamp = h.MaxTimestamp, h.LastOffset()
		}
		return nil
	})
	if err == nil && seg.size > 0 && seg.next == seg.base && from > 0 {
		err = fmt.Errorf("%w: no batch after index position %d", errTorn, from)
	}
	seg.bytesSinceIndex = seg.size - from
	return err
}

// recoverSegment scans the whole segment, validating every batch, rebuilds
// its indexes and epoch entries, and cuts the file at the first invalid
// batch. It reports whether it cut.
func (l *Log) recoverSegment(seg *segment, cfg Config) (bool, error) {
	fileSize := seg.size
	seg.size, seg.next, seg.bytesSinceIndex = 0, seg.base, 0
	seg.index.entries, seg.timeIndex.entries = nil, nil
	seg.maxTimestamp, seg.offsetOfMaxTimestamp = -1, -1
	l.mu.epochs.truncateFromEnd(seg.base)
	w := newWalker(seg.file, 0, fileSize)
	defer w.release()
	var scratch []byte
	for {
		h, pos, err := w.next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = l.checkRecoveredBatch(seg, h, pos, &scratch)
		}
		if err != nil {
			if !errors.Is(err, errTorn) {
				return false, err
			}
			return true, l.cutSegment(seg, pos, fileSize, err)
		}
		seg.addBatchLocked(h, int64(cfg.IndexIntervalBytes))
		l.mu.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
	}
	seg.indexesDirty = true
	l.logger.Info("recovered segment", "base", seg.base, "size", seg.size, "next", seg.next)
	return false, nil
}

func (l *Log) checkRecoveredBatch(seg *segment, h record.Header, pos int64, scratch *[]byte) error {
	if err := verifyBatch(seg.file, h, pos, scratch); err != nil {
		return err
	}
	if h.BaseOffset < seg.next {
		return fmt.Errorf("%w: base offset %d below %d", errTorn, h.BaseOffset, seg.next)
	}
	if h.LastOffset()-seg.base > math.MaxInt32 || pos+int64(h.Size()) > math.MaxUint32 {
		return fmt.Errorf("%w: batch at %d does not fit the segment's index", errTorn, pos)
	}
	return nil
}

// cutSegment truncates a segment file at the first invalid batch.
func (l *Log) cutSegment(seg *segment, pos, fileSize int64, reason error) error {
	l.logger.Warn("truncating segment at invalid batch", "base", seg.base, "position", pos,
		"fileSize", fileSize, "dropped", fileSize-pos, "reason", reason)
	seg.indexesDirty = true
	if err := seg.file.Truncate(pos); err != nil {
		return fmt.Errorf("log: truncate %s: %w", seg.file.Name(), err)
	}
	if err := seg.file.Sync(); err != nil {
		return fmt.Errorf("log: sync %s: %w", seg.file.Name(), err)
	}
	return nil
}

// dropSegmentsAfter removes segments that follow a segment cut short.
func (l *Log) dropSegmentsAfter(bases []int64) {
	for _, base := range bases {
		l.logger.Warn("deleting segment after a corrupt one", "base", base)
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := l.fsys.Remove(segmentPath(l.dir, base, suffix)); err != nil && !isNotExist(err) {
				l.logger.Warn("cannot remove segment file", "base", base, "err", err)
			}
		}
	}
}

// finishOpen sets offsets from the loaded segments and the start offset
// checkpoint, and brings the epoch cache in line with the log.
func (l *Log) finishOpen(rebuildEpochs bool) error {
	start := l.loadStartOffset()
	if len(l.mu.segments) == 0 {
		file, err := createSegmentFiles(l.fsys, l.dir, start, l.mu.cfg)
		if err != nil {
			return err
		}
		l.mu.segments = []*segment{newSegment(start, file, l.mu.cfg, l.clock())}
	}
	end := l.activeLocked().next
	l.mu.startOffset, l.mu.endOffset = max(start, l.mu.segments[0].base), end
	l.mu.flushedOffset, l.mu.lastFlush = end, l.clock()
	l.mu.epochVersion = 1 // write the checkpoint once after recovery
	if start > end {
		l.logger.Warn("log start offset is past the log end; emptying the log", "start", start, "end", end)
		if err := l.truncateFullyWriter(start); err != nil {
			return err
		}
	}
	if rebuildEpochs && l.mu.endOffset > l.mu.startOffset {
		if err := l.rebuildEpochs(); err != nil {
			return err
		}
	}
	l.mu.epochs.truncateFromEnd(l.mu.endOffset)
	l.mu.epochs.truncateFromStart(l.mu.startOffset)
	return l.writeEpochCheckpoint()
}

func (l *Log) loadStartOffset() int64 {
	data, err := readWholeFile(l.fsys, filepath.Join(l.dir, startCheckpointName), checkpointLimit)
	if err != nil {
		if !isNotExist(err) {
			l.logger.Warn("cannot read log start offset checkpoint", "err", err)
		}
		return 0
	}
	start, err := decodeStartOffset(data)
	if err != nil {
		l.logger.Warn("corrupt log start offset checkpoint; ignoring it", "err", err)
		return 0
	}
	return start
}

func (l *Log) rebuildEpochs() error {
	l.logger.Info("rebuilding leader epoch cache from the log")
	var rebuilt epochCache
	err := l.ScanHeaders(l.StartOffset(), func(h record.Header) error {
		rebuilt.assign(h.PartitionLeaderEpoch, h.BaseOffset)
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.mu.epochs = rebuilt
	l.mu.Unlock()
	return nil
}
