package log

import (
	"crypto/md5"
	"errors"
	"io"
	"math"

	"samsa/internal/record"
)

// keyHash is the 16-byte MD5 of a record key, as Kafka's SkimpyOffsetMap
// stores keys: a pass holds hashes, never keys.
type keyHash [md5.Size]byte

// offsetMap maps key hashes to the latest offset seen in the dirty part.
type offsetMap map[keyHash]int64

// maxTrackedProducers bounds the producer map of a pass; beyond it every
// idempotent batch is treated as possibly its producer's last.
const maxTrackedProducers = 1 << 16

// producerBatches maps producer ids to the last offset of their last batch
// in the log. overflow: too many producers to track.
type producerBatches struct {
	last     map[int64]int64
	overflow bool
}

// isLast reports whether the batch must keep its producer state.
func (p *producerBatches) isLast(h record.Header) bool {
	if h.ProducerID == record.NoProducerID {
		return false
	}
	if p.overflow {
		return true
	}
	last, ok := p.last[h.ProducerID]
	return ok && last == h.LastOffset()
}

// lastProducerBatches scans the batch headers of the whole log (the active
// segment included) for each producer's last batch. Appends after the scan
// only make a batch no longer the last, so the answer errs on keeping.
func (l *Log) lastProducerBatches(start int64) (producerBatches, error) {
	p := producerBatches{last: map[int64]int64{}}
	err := l.ScanHeaders(start, func(h record.Header) error {
		if h.ProducerID == record.NoProducerID || p.overflow {
			return nil
		}
		if _, ok := p.last[h.ProducerID]; !ok && len(p.last) >= maxTrackedProducers {
			p.overflow, p.last = true, nil
			return nil
		}
		p.last[h.ProducerID] = h.LastOffset()
		return nil
	})
	return p, err
}

// errMapFull stops the map scan at a batch boundary.
var errMapFull = errors.New("log: offset map full")

// buildOffsetMap maps every key in the dirty part [firstDirty, cleanable
// end) to its latest offset. When the map would exceed its cap it stops at
// a batch boundary (after at least one batch) and returns that boundary as
// the end of what it covered.
func (l *Log) buildOffsetMap(snap cleanSnapshot, cfg CleanerConfig) (offsetMap, int64, error) {
	limit := cfg.OffsetMapEntries
	if limit <= 0 {
		limit = defaultOffsetMapEntries
	}
	keys := offsetMap{}
	end := snap.cleanableEnd()
	covered := snap.firstDirty
	for i, v := range snap.segments {
		if snap.nexts[i] <= snap.firstDirty {
			continue
		}
		err := forEachBatch(v, func(h record.Header, batch []byte) error {
			if h.LastOffset() < snap.firstDirty || h.IsControl() {
				return nil
			}
			if covered > snap.firstDirty && len(keys)+int(h.RecordCount) > limit {
				return errMapFull
			}
			if err := addBatchKeys(keys, batch, snap.firstDirty, cfg.MaxMessageBytes); err != nil {
				return err
			}
			covered = h.NextOffset()
			return nil
		})
		if errors.Is(err, errMapFull) {
			return keys, covered, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return keys, end, nil
}

// addBatchKeys records the offset of every keyed record at or above from.
func addBatchKeys(keys offsetMap, batch []byte, from int64, limit int) error {
	h, records, err := record.Records(batch, limit)
	if err != nil {
		return err
	}
	for i := range records {
		offset := h.BaseOffset + int64(records[i].OffsetDelta)
		if offset < from || records[i].Key == nil {
			continue
		}
		keys[md5.Sum(records[i].Key)] = offset
	}
	return nil
}

// forEachBatch calls fn with every batch of a segment view, in order.
func forEachBatch(v view, fn func(h record.Header, batch []byte) error) error {
	w := newWalker(v.seg.file, 0, v.size)
	defer w.release()
	for {
		h, pos, err := w.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		batch, err := readBatch(v.seg.file, h, pos)
		if err != nil {
			return err
		}
		if err := fn(h, batch); err != nil {
			return err
		}
	}
}

// groupSegments splits the segments to clean (those starting below
// mapEnd) into runs that fit one segment: total size within segment.bytes
// and relative offsets within the index's range. Returns index ranges
// [from, to) into snap.segments.
func groupSegments(snap cleanSnapshot, mapEnd int64) [][2]int {
	var groups [][2]int
	for from := 0; from < len(snap.segments) && snap.segments[from].seg.base < mapEnd; {
		to, size := from+1, snap.sizes[from]
		for to < len(snap.segments) && snap.segments[to].seg.base < mapEnd &&
			size+snap.sizes[to] <= snap.cfg.SegmentBytes &&
			snap.nexts[to]-snap.segments[from].seg.base <= math.MaxInt32 {
			size += snap.sizes[to]
			to++
		}
		groups = append(groups, [2]int{from, to})
		from = to
	}
	return groups
}
