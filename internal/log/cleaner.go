package log

// Log compaction (cleanup.policy=compact), as Kafka's log cleaner does it.
//
// A pass (Clean) works on the closed segments below the first uncleanable
// offset: the active segment, and every segment from the first one whose
// newest timestamp is within min.compaction.lag.ms, are never touched. The
// part above the cleaner checkpoint (the first dirty offset) is scanned to
// map each key hash to its latest offset; then every segment from the log
// start up to the offset the map covered is rewritten, small segments
// grouped into one, keeping for each key only its latest record.
//
// Delete horizon: KIP-534 (Kafka 3.x). The first pass that keeps a
// tombstone rewrites its batch with attribute bit 6 (hasDeleteHorizonMs)
// set and the base timestamp replaced by now + delete.retention.ms, record
// timestamp deltas adjusted so every record keeps its timestamp. A later
// pass at or after that horizon drops the tombstone. The horizon travels
// with the batch, so it survives restarts and does not depend on file
// modification times. NeedsCleaning also asks for a pass when the earliest
// pending horizon has passed.
//
// Files: a group is written to <base>.{log,index,timeindex}.cleaned and
// synced; renamed to .swap (the log file last; its directory entry made
// durable is the commit point); the old segments' files are renamed to
// .deleted (kept open for in-flight reads, removed after
// file.delete.delay.ms); the .swap files are renamed into place. Open
// removes .cleaned files (roll back) and completes a swap whose log .swap
// file exists (roll forward), rebuilding that segment's indexes.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"samsa/internal/record"
)

// cleanerCheckpointName persists the first dirty offset and the earliest
// pending delete horizon.
const cleanerCheckpointName = "cleaner-offset-checkpoint"

// defaultOffsetMapEntries caps the key map of one pass.
const defaultOffsetMapEntries = 1 << 20

// ErrCleanAborted: a concurrent truncation, retention or close changed the
// segments a pass was rewriting; the pass stopped before swapping them.
var ErrCleanAborted = errors.New("log: compaction pass aborted by a concurrent change")

// CleanerConfig holds the compaction settings, named after Kafka's.
type CleanerConfig struct {
	DeleteRetentionMs      int64   // delete.retention.ms: tombstones kept this long after their first cleaning
	MinCompactionLagMs     int64   // min.compaction.lag.ms: segments with newer records stay uncompacted
	MaxCompactionLagMs     int64   // max.compaction.lag.ms: force cleaning below the dirty ratio after this lag; <= 0 = never
	MinCleanableDirtyRatio float64 // min.cleanable.dirty.ratio
	MaxMessageBytes        int     // decode bound for one batch; <= 0 = record.DefaultLimit
	OffsetMapEntries       int     // keys mapped per pass; <= 0 = 1M
}

// DefaultCleanerConfig returns Kafka's defaults.
func DefaultCleanerConfig() CleanerConfig {
	return CleanerConfig{
		DeleteRetentionMs:      24 * 60 * 60 * 1000,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     1<<63 - 1,
		MinCleanableDirtyRatio: 0.5,
		MaxMessageBytes:        1048588,
		OffsetMapEntries:       defaultOffsetMapEntries,
	}
}

// CleanStats describes one pass. RecordsRemoved counts records dropped
// because a later record has the same key (or they have no key);
// TombstonesRemoved counts tombstones dropped after their delete horizon.
type CleanStats struct {
	SegmentsCleaned   int
	BytesBefore       int64
	BytesAfter        int64
	RecordsRemoved    int64
	TombstonesRemoved int64
}

// cleanerState is the persisted cleaner position, guarded by its mutex.
type cleanerState struct {
	sync.Mutex
	loaded     bool
	firstDirty int64
	horizon    int64 // earliest delete horizon of a kept tombstone; -1 = none
}

// cleanSnapshot is the part of the log a pass or a dirty check looks at.
type cleanSnapshot struct {
	cfg        Config
	start      int64
	segments   []view // the cleanable closed segments, from the log start
	firstDirty int64
	sizes      []int64
	nexts      []int64
}

// cleanerPosition returns the first dirty offset and pending horizon,
// loading the checkpoint on first use.
func (l *Log) cleanerPosition() (int64, int64) {
	l.cleaner.Lock()
	defer l.cleaner.Unlock()
	if !l.cleaner.loaded {
		l.cleaner.firstDirty, l.cleaner.horizon = l.loadCleanerCheckpoint()
		l.cleaner.loaded = true
	}
	return l.cleaner.firstDirty, l.cleaner.horizon
}

func (l *Log) loadCleanerCheckpoint() (int64, int64) {
	data, err := readWholeFile(l.fsys, filepath.Join(l.dir, cleanerCheckpointName), checkpointLimit)
	if err != nil {
		if !isNotExist(err) {
			l.logger.Warn("cannot read cleaner checkpoint", "err", err)
		}
		return 0, -1
	}
	lines, err := checkpointLines(data)
	if err == nil && len(lines) != 2 {
		err = fmt.Errorf("want 2 lines, got %d", len(lines))
	}
	var dirty, horizon int64
	if err == nil {
		dirty, err = strconv.ParseInt(lines[0], 10, 64)
	}
	if err == nil {
		horizon, err = strconv.ParseInt(lines[1], 10, 64)
	}
	if err != nil || dirty < 0 {
		l.logger.Warn("corrupt cleaner checkpoint; cleaning from the start", "err", err)
		return 0, -1
	}
	return dirty, horizon
}

// setCleanerPosition records and persists the cleaner position.
func (l *Log) setCleanerPosition(firstDirty, horizon int64) error {
	l.cleaner.Lock()
	l.cleaner.loaded, l.cleaner.firstDirty, l.cleaner.horizon = true, firstDirty, horizon
	l.cleaner.Unlock()
	data := fmt.Appendf(nil, "0\n2\n%d\n%d\n", firstDirty, horizon)
	return writeCheckpoint(l.fsys, l.dir, cleanerCheckpointName, data)
}

// lowerFirstDirty moves the cleaner checkpoint down after a truncation, so
// re-appended offsets count as dirty.
func (l *Log) lowerFirstDirty(end int64) {
	l.cleaner.Lock()
	defer l.cleaner.Unlock()
	if !l.cleaner.loaded {
		l.cleaner.firstDirty, l.cleaner.horizon = l.loadCleanerCheckpoint()
		l.cleaner.loaded = true
	}
	l.cleaner.firstDirty = min(l.cleaner.firstDirty, end)
}

// snapshotCleanable returns the closed segments below the first
// uncleanable offset: the active segment and segments holding records
// newer than min.compaction.lag.ms are excluded.
func (l *Log) snapshotCleanable(now time.Time, cfg CleanerConfig) (cleanSnapshot, error) {
	firstDirty, _ := l.cleanerPosition()
	l.mu.Lock()
	defer l.mu.Unlock()
	if unusable := l.unusableLocked(); unusable != nil {
		return cleanSnapshot{}, unusable
	}
	snap := cleanSnapshot{cfg: l.mu.cfg, start: l.mu.startOffset}
	lagLimit := now.UnixMilli() - max(cfg.MinCompactionLagMs, 0)
	for _, s := range l.mu.segments[:len(l.mu.segments)-1] {
		if s.next <= snap.start {
			continue // wholly below the log start; retention removes it
		}
		if cfg.MinCompactionLagMs > 0 && s.maxTimestamp > lagLimit {
			break
		}
		snap.segments = append(snap.segments, view{seg: s, size: s.size})
		snap.sizes = append(snap.sizes, s.size)
		snap.nexts = append(snap.nexts, s.next)
	}
	snap.firstDirty = max(firstDirty, snap.start)
	if n := len(snap.nexts); n > 0 {
		snap.firstDirty = min(snap.firstDirty, snap.nexts[n-1])
	} else {
		snap.firstDirty = min(snap.firstDirty, l.mu.endOffset)
	}
	return snap, nil
}

// cleanableEnd is the first offset a pass may not touch.
func (s *cleanSnapshot) cleanableEnd() int64 {
	if len(s.nexts) == 0 {
		return s.firstDirty
	}
	return s.nexts[len(s.nexts)-1]
}

// NeedsCleaning reports whether a pass is due: the dirty ratio (bytes of
// cleanable segments above the cleaner checkpoint over all cleanable
// bytes) reaches min.cleanable.dirty.ratio, the first dirty record is
// older than max.compaction.lag.ms, or a kept tombstone's delete horizon
// has passed.
func (l *Log) NeedsCleaning(now time.Time, cfg CleanerConfig) bool {
	snap, err := l.snapshotCleanable(now, cfg)
	if err != nil || len(snap.segments) == 0 {
		return false
	}
	var clean, dirty int64
	firstDirtyIndex := -1
	for i := range snap.segments {
		if snap.nexts[i] <= snap.firstDirty {
			clean += snap.sizes[i]
			continue
		}
		if firstDirtyIndex < 0 {
			firstDirtyIndex = i
		}
		dirty += snap.sizes[i]
	}
	if _, horizon := l.cleanerPosition(); horizon >= 0 && now.UnixMilli() >= horizon {
		return true
	}
	if dirty == 0 {
		return false
	}
	if float64(dirty)/float64(clean+dirty) >= cfg.MinCleanableDirtyRatio {
		return true
	}
	return cfg.MaxCompactionLagMs > 0 && l.firstDirtyTimestamp(snap, firstDirtyIndex) <= now.UnixMilli()-cfg.MaxCompactionLagMs
}

// firstDirtyTimestamp returns the max timestamp of the first dirty batch
// (Kafka uses the first batch's timestamp of the first dirty segment).
func (l *Log) firstDirtyTimestamp(snap cleanSnapshot, index int) int64 {
	v := snap.segments[index]
	_, h, err := l.findPosition(v, snap.firstDirty, func(h record.Header) bool { return h.LastOffset() >= snap.firstDirty })
	if err != nil || h.Size() == 0 {
		return 1<<63 - 1
	}
	return h.MaxTimestamp
}

// Clean runs one compaction pass (see the file comment) and returns what
// it did. Appends, reads and other mutations go on during the pass; only
// the swap of each rewritten group takes the write lock. If a concurrent
// truncation or retention changes the segments being rewritten, the pass
// stops with ErrCleanAborted (groups swapped before stay swapped).
func (l *Log) Clean(now time.Time, cfg CleanerConfig) (CleanStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	snap, err := l.snapshotCleanable(now, cfg)
	if err != nil || len(snap.segments) == 0 {
		return CleanStats{}, err
	}
	producers, err := l.lastProducerBatches(snap.start)
	if err != nil {
		return CleanStats{}, err
	}
	keys, mapEnd, err := l.buildOffsetMap(snap, cfg)
	if err != nil {
		return CleanStats{}, err
	}
	pass := &cleanPass{log: l, cfg: cfg, now: now, keys: keys, producers: producers, horizon: -1}
	var stats CleanStats
	for _, group := range groupSegments(snap, mapEnd) {
		if err := pass.cleanGroup(snap, group, &stats); err != nil {
			return stats, err
		}
	}
	l.logger.Info("cleaned log", "segments", stats.SegmentsCleaned, "before", stats.BytesBefore,
		"after", stats.BytesAfter, "removed", stats.RecordsRemoved, "tombstones", stats.TombstonesRemoved,
		"firstDirty", mapEnd)
	return stats, l.setCleanerPosition(mapEnd, pass.horizon)
}
