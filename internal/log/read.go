package log

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// Chunk is a region of a segment file, for pread or sendfile.
type Chunk struct {
	File vfs.File
	Pos  int64
	Len  int
}

// ReadResult is a sequence of whole batches, as file regions.
type ReadResult struct {
	Chunks []Chunk
	Size   int
}

// AppendTo reads the chunks and appends their bytes to dst.
func (r ReadResult) AppendTo(dst []byte) ([]byte, error) {
	for _, c := range r.Chunks {
		start := len(dst)
		dst = append(dst, make([]byte, c.Len)...)
		n, err := c.File.ReadAt(dst[start:], c.Pos)
		if n < c.Len {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return dst[:start], fmt.Errorf("log: read %s at %d: %w", c.File.Name(), c.Pos, err)
		}
	}
	return dst, nil
}

// view is a segment as a reader sees it at one moment.
type view struct {
	seg  *segment
	size int64
}

// snapshotFrom returns views of the segments from the one that may hold
// offset onward, after checking offset against the log bounds. Called with
// l.mu held.
func (l *Log) snapshotFromLocked(offset int64) ([]view, error) {
	if unusable := l.unusableLocked(); unusable != nil {
		return nil, unusable
	}
	if offset < l.mu.startOffset || offset > l.mu.endOffset {
		return nil, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, l.mu.startOffset, l.mu.endOffset)
	}
	segments := l.mu.segments
	i := sort.Search(len(segments), func(i int) bool { return segments[i].base > offset }) - 1
	i = max(i, 0)
	views := make([]view, 0, len(segments)-i)
	for _, s := range segments[i:] {
		views = append(views, view{seg: s, size: s.size})
	}
	return views, nil
}

// floorBelowOffset looks up the index and the tail under the lock.
func (l *Log) floorBelowOffset(s *segment, target int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(s.index.floorBelowOffset(s.base, target), s.tail.floorBelowOffset(target, s.size))
}

func (l *Log) floorPosition(s *segment, pos int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return s.index.floorPosition(pos)
}

// findPosition returns the position and header of the first batch in v
// matching match, scanning from the index entry below target; pos = size
// when none does.
func (l *Log) findPosition(v view, target int64, match func(record.Header) bool) (int64, record.Header, error) {
	w := newWalker(v.seg.file, min(l.floorBelowOffset(v.seg, target), v.size), v.size)
	defer w.release()
	for {
		h, pos, err := w.next()
		if err == io.EOF {
			return v.size, record.Header{}, nil
		}
		if err != nil {
			return 0, h, err
		}
		if match(h) {
			return pos, h, nil
		}
	}
}

// batchStart returns the position in v of the batch holding offset, or of
// the first batch after it (v.size when none). Near the log end the tail
// index knows it without reading the file: every batch before its floor
// ends below offset and the batch at the floor does not.
func (l *Log) batchStart(v view, offset int64) (int64, error) {
	l.mu.Lock()
	floor := v.seg.tail.floorBelowOffset(offset, v.seg.size)
	l.mu.Unlock()
	if floor >= 0 {
		return min(floor, v.size), nil
	}
	pos, _, err := l.findPosition(v, offset, func(h record.Header) bool { return h.LastOffset() >= offset })
	return pos, err
}

// lastBoundary returns the end of the last whole batch that ends at or
// before limit, scanning from start (a batch boundary).
func (l *Log) lastBoundary(v view, start, limit int64) (int64, error) {
	from := max(start, l.floorPosition(v.seg, limit))
	w := newWalker(v.seg.file, from, v.size)
	defer w.release()
	boundary := from
	for {
		h, pos, err := w.next()
		if err == io.EOF {
			return boundary, nil
		}
		if err != nil {
			return 0, err
		}
		if pos+int64(h.Size()) > limit {
			return boundary, nil
		}
		boundary = pos + int64(h.Size())
	}
}

// Read returns whole batches starting with the one that contains offset,
// up to maxBytes, excluding batches whose base offset is at or above
// maxOffset. With minOneBatch a first batch above maxBytes is returned
// whole. Reads may span segments.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	l.mu.Lock()
	views, err := l.snapshotFromLocked(offset)
	end := l.mu.endOffset
	l.mu.Unlock()
	var result ReadResult
	if err != nil || offset == end {
		return result, err
	}
	remaining := int64(max(maxBytes, 0))
	for i, v := range views {
		start := int64(0)
		if i == 0 {
			if start, err = l.batchStart(v, offset); err != nil {
				return ReadResult{}, err
			}
		}
		stop, capped, err := l.boundByOffset(v, maxOffset)
		if err != nil {
			return ReadResult{}, err
		}
		if start < stop {
			chunk, full, err := l.chunkWithin(v, start, stop, remaining, minOneBatch && len(result.Chunks) == 0)
			if err != nil {
				return ReadResult{}, err
			}
			if chunk.Len > 0 {
				result.Chunks = append(result.Chunks, chunk)
				result.Size += chunk.Len
				remaining -= int64(chunk.Len)
			}
			if !full {
				break
			}
		}
		if capped {
			break
		}
	}
	return result, nil
}

// boundByOffset returns the position of the first batch in v with base
// offset >= maxOffset (v.size when none) and whether it cuts v short.
func (l *Log) boundByOffset(v view, maxOffset int64) (int64, bool, error) {
	l.mu.Lock()
	next := v.seg.next
	l.mu.Unlock()
	if maxOffset >= next {
		return v.size, false, nil
	}
	pos, _, err := l.findPosition(v, maxOffset, func(h record.Header) bool { return h.BaseOffset >= maxOffset })
	return pos, pos < v.size, err
}

// chunkWithin takes whole batches from [start, stop) up to budget bytes;
// full reports whether the whole range fit.
func (l *Log) chunkWithin(v view, start, stop, budget int64, minOneBatch bool) (Chunk, bool, error) {
	if stop-start <= budget {
		return Chunk{File: v.seg.file, Pos: start, Len: int(stop - start)}, true, nil
	}
	cut, err := l.lastBoundary(v, start, start+budget)
	if err != nil {
		return Chunk{}, false, err
	}
	if cut == start && minOneBatch {
		w := newWalker(v.seg.file, start, stop)
		h, _, err := w.next()
		w.release()
		if err != nil {
			return Chunk{}, false, err
		}
		cut = start + int64(h.Size())
	}
	return Chunk{File: v.seg.file, Pos: start, Len: int(cut - start)}, false, nil
}

// ScanHeaders calls fn with the header of every batch from the one that
// contains from up to the log end, in order.
func (l *Log) ScanHeaders(from int64, fn func(h record.Header) error) error {
	l.mu.Lock()
	from = max(from, l.mu.startOffset)
	views, err := l.snapshotFromLocked(from)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	for i, v := range views {
		start := int64(0)
		if i == 0 {
			if start, _, err = l.findPosition(v, from, func(h record.Header) bool { return h.LastOffset() >= from }); err != nil {
				return err
			}
		}
		if err := walkHeaders(v.seg.file, start, v.size, fn); err != nil {
			return err
		}
	}
	return nil
}

func walkHeaders(file vfs.File, start, end int64, fn func(h record.Header) error) error {
	w := newWalker(file, start, end)
	defer w.release()
	for {
		h, _, err := w.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
}

// BatchAtTimestamp returns the first batch (at or above the log start)
// whose max timestamp is at least ts: segments by their max timestamp, the
// time index, then a scan.
func (l *Log) BatchAtTimestamp(ts int64) ([]byte, bool, error) {
	l.mu.Lock()
	start := l.mu.startOffset
	views, err := l.snapshotFromLocked(start)
	l.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	for _, v := range views {
		l.mu.Lock()
		segMax := v.seg.maxTimestamp
		below := v.seg.timeIndex.below(v.seg.base, ts)
		l.mu.Unlock()
		if segMax < ts {
			continue
		}
		from := max(below+1, start)
		pos, h, err := l.findPosition(v, from, func(h record.Header) bool {
			return h.LastOffset() >= from && h.MaxTimestamp >= ts
		})
		if err != nil {
			return nil, false, err
		}
		if pos < v.size {
			batch, err := readBatch(v.seg.file, h, pos)
			return batch, err == nil, err
		}
	}
	return nil, false, nil
}

// MaxTimestampBatch returns the earliest batch carrying the largest max
// timestamp in the log.
func (l *Log) MaxTimestampBatch() ([]byte, bool, error) {
	l.mu.Lock()
	start := l.mu.startOffset
	views, err := l.snapshotFromLocked(start)
	var best view
	bestTs, bestOffset := int64(-1), int64(-1)
	for _, v := range views {
		if v.seg.maxTimestamp > bestTs && v.seg.offsetOfMaxTimestamp >= start {
			best, bestTs, bestOffset = v, v.seg.maxTimestamp, v.seg.offsetOfMaxTimestamp
		}
	}
	l.mu.Unlock()
	if err != nil || best.seg == nil {
		return nil, false, err
	}
	pos, h, err := l.findPosition(best, bestOffset, func(h record.Header) bool { return h.LastOffset() >= bestOffset })
	if err != nil || pos >= best.size {
		return nil, false, err
	}
	batch, err := readBatch(best.seg.file, h, pos)
	return batch, err == nil, err
}
