package log

import (
	"crypto/md5"
	"fmt"
	"os"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

const (
	cleanedSuffix   = ".cleaned"
	swapSuffix      = ".swap"
	cleanedBufBytes = 1 << 20
)

// cleanPass is the state of one Clean call.
type cleanPass struct {
	log       *Log
	cfg       CleanerConfig
	now       time.Time
	keys      offsetMap
	producers producerBatches
	horizon   int64 // earliest delete horizon of a kept tombstone; -1 = none
}

// removal says why filterRecords dropped a record.
type removal int8

const (
	kept removal = iota
	superseded
	expiredTombstone
)

// cleanGroup rewrites one group of segments into a cleaned segment and
// swaps it in, unless nothing would change (one segment, every batch kept
// as it is).
func (p *cleanPass) cleanGroup(snap cleanSnapshot, group [2]int, stats *CleanStats) error {
	views := snap.segments[group[0]:group[1]]
	out, err := newCleanedWriter(p.log.fsys, p.log.dir, views[0].seg.base, snap.cfg, p.now)
	if err != nil {
		return err
	}
	var groupStats CleanStats
	changed := len(views) > 1
	for _, v := range views {
		groupStats.BytesBefore += v.size
		err = forEachBatch(v, func(h record.Header, batch []byte) error {
			result, batchChanged, err := p.filterBatch(h, batch, &groupStats)
			if err != nil || result == nil {
				changed = changed || batchChanged
				return err
			}
			changed = changed || batchChanged
			return out.write(result)
		})
		if err != nil {
			out.discard()
			return err
		}
	}
	if !changed {
		out.discard()
		return nil
	}
	if err := out.finish(snap.nexts[group[1]-1]); err != nil {
		out.discard()
		return err
	}
	if err := p.log.swapGroup(snap, group, out); err != nil {
		return err // swapGroup cleans up or leaves the swap for Open
	}
	groupStats.SegmentsCleaned = len(views)
	groupStats.BytesAfter = out.seg.size
	stats.add(groupStats)
	return nil
}

func (s *CleanStats) add(o CleanStats) {
	s.SegmentsCleaned += o.SegmentsCleaned
	s.BytesBefore += o.BytesBefore
	s.BytesAfter += o.BytesAfter
	s.RecordsRemoved += o.RecordsRemoved
	s.TombstonesRemoved += o.TombstonesRemoved
}

// filterBatch returns the batch to write for batch (nil: drop it) and
// whether it differs from the input. Control batches are kept as they
// are. A batch whose records are all removed is dropped, unless it is its
// producer's last batch: Kafka keeps an empty batch for the producer id,
// epoch and sequence, but empty data batches fail validation here, so the
// batch keeps its last record instead (documented deviation).
func (p *cleanPass) filterBatch(h record.Header, batch []byte, stats *CleanStats) ([]byte, bool, error) {
	if h.IsControl() {
		return batch, false, nil
	}
	h, records, err := record.Records(batch, p.cfg.MaxMessageBytes)
	if err != nil {
		return nil, false, fmt.Errorf("log: clean batch at offset %d: %w", h.BaseOffset, err)
	}
	retained := make([]record.Record, 0, len(records))
	var last removal
	for i := range records {
		last = p.decide(h, &records[i])
		switch last {
		case kept:
			retained = append(retained, records[i])
		case superseded:
			stats.RecordsRemoved++
		case expiredTombstone:
			stats.TombstonesRemoved++
		}
	}
	if len(retained) == 0 {
		if !p.producers.isLast(h) {
			return nil, true, nil
		}
		retained = append(retained, records[len(records)-1])
		if last == superseded {
			stats.RecordsRemoved--
		} else {
			stats.TombstonesRemoved--
		}
	}
	needHorizon := p.trackHorizon(h, retained)
	if len(retained) == len(records) && !needHorizon {
		return batch, false, nil
	}
	if needHorizon {
		setDeleteHorizon(&h, retained, p.now.UnixMilli()+p.cfg.DeleteRetentionMs)
	}
	rebuilt, err := record.BuildBatch(h, retained, h.Compression())
	if err != nil {
		return nil, false, fmt.Errorf("log: rebuild batch at offset %d: %w", h.BaseOffset, err)
	}
	return rebuilt, true, nil
}

// decide says whether a record stays: keyless records and records with a
// later record of the same key go; tombstones go once the batch's delete
// horizon has passed.
func (p *cleanPass) decide(h record.Header, r *record.Record) removal {
	if r.Key == nil {
		return superseded
	}
	offset := h.BaseOffset + int64(r.OffsetDelta)
	if latest, ok := p.keys[md5.Sum(r.Key)]; ok && latest > offset {
		return superseded
	}
	if r.Value == nil && hasDeleteHorizon(h) && p.now.UnixMilli() >= h.BaseTimestamp {
		return expiredTombstone
	}
	return kept
}

func hasDeleteHorizon(h record.Header) bool { return h.Attributes&record.DeleteHorizonBit != 0 }

// trackHorizon notes the delete horizon of retained tombstones and reports
// whether the batch still needs one set.
func (p *cleanPass) trackHorizon(h record.Header, retained []record.Record) bool {
	tombstones := false
	for i := range retained {
		tombstones = tombstones || retained[i].Value == nil
	}
	if !tombstones {
		return false
	}
	horizon := h.BaseTimestamp
	if !hasDeleteHorizon(h) {
		horizon = p.now.UnixMilli() + p.cfg.DeleteRetentionMs
	}
	if p.horizon < 0 || horizon < p.horizon {
		p.horizon = horizon
	}
	return !hasDeleteHorizon(h)
}

// setDeleteHorizon marks the batch header with a delete horizon (KIP-534:
// attribute bit 6, the base timestamp holds the horizon) and shifts the
// record timestamp deltas so every record keeps its timestamp.
func setDeleteHorizon(h *record.Header, records []record.Record, horizon int64) {
	for i := range records {
		timestamp := h.BaseTimestamp + records[i].TimestampDelta
		records[i].TimestampDelta = timestamp - horizon
	}
	h.Attributes |= record.DeleteHorizonBit
	h.BaseTimestamp = horizon
}

// cleanedWriter writes one cleaned segment to <base>.*.cleaned files,
// building its indexes as it goes.
type cleanedWriter struct {
	fsys     vfs.FS
	dir      string
	seg      *segment
	interval int64
	pending  []byte
	written  int64
}

func newCleanedWriter(fsys vfs.FS, dir string, base int64, cfg Config, now time.Time) (*cleanedWriter, error) {
	name := segmentPath(dir, base, logSuffix) + cleanedSuffix
	file, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: create %s: %w", name, err)
	}
	return &cleanedWriter{
		fsys: fsys, dir: dir, seg: newSegment(base, file, cfg, now),
		interval: int64(cfg.IndexIntervalBytes),
	}, nil
}

func (w *cleanedWriter) write(batch []byte) error {
	h, err := record.ParseHeader(batch)
	if err != nil {
		return fmt.Errorf("log: cleaned batch: %w", err)
	}
	w.pending = append(w.pending, batch...)
	w.seg.addBatchLocked(h, w.interval) // private segment: no lock needed
	if len(w.pending) >= cleanedBufBytes {
		return w.flush()
	}
	return nil
}

func (w *cleanedWriter) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	if _, err := w.seg.file.WriteAt(w.pending, w.written); err != nil {
		return fmt.Errorf("log: write %s: %w", w.seg.file.Name(), err)
	}
	w.written += int64(len(w.pending))
	w.pending = w.pending[:0]
	return nil
}

// finish writes the rest, the index files, and syncs everything.
func (w *cleanedWriter) finish(next int64) error {
	if err := w.flush(); err != nil {
		return err
	}
	s := w.seg
	s.next = next
	if s.maxTimestamp >= 0 {
		s.timeIndex.maybeAppend(s.maxTimestamp, relative(s.base, s.offsetOfMaxTimestamp))
	}
	if err := writeWholeFile(w.fsys, segmentPath(w.dir, s.base, indexSuffix)+cleanedSuffix, s.index.encode()); err != nil {
		return err
	}
	if err := writeWholeFile(w.fsys, segmentPath(w.dir, s.base, timeIndexSuffix)+cleanedSuffix, s.timeIndex.encode()); err != nil {
		return err
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("log: sync %s: %w", s.file.Name(), err)
	}
	return nil
}

// discard closes and removes the cleaned (or swap) files of an abandoned
// group.
func (w *cleanedWriter) discard() {
	w.seg.file.Close()
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		for _, state := range []string{cleanedSuffix, swapSuffix} {
			name := segmentPath(w.dir, w.seg.base, suffix) + state
			if err := w.fsys.Remove(name); err != nil && !isNotExist(err) {
				continue // Open removes leftovers
			}
		}
	}
}
