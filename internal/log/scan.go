package log

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// errTorn marks bytes in a segment file that do not form a whole, valid
// batch (a torn write, corruption, or a concurrent truncation).
var errTorn = errors.New("log: torn or corrupt batch")

const walkBlock = 16 << 10

var blockPool = sync.Pool{New: func() any { b := make([]byte, walkBlock); return &b }}

// walker steps over the batch headers of a segment file between two
// positions, reading the file in blocks so a scan over small batches costs
// few system calls. It never reads past end.
type walker struct {
	file     vfs.File
	pos, end int64
	buf      *[]byte
	bufStart int64
	bufLen   int
}

func newWalker(file vfs.File, pos, end int64) *walker {
	return &walker{file: file, pos: pos, end: end, buf: blockPool.Get().(*[]byte)}
}

func (w *walker) release() {
	if w.buf != nil {
		blockPool.Put(w.buf)
		w.buf = nil
	}
}

// next returns the header of the batch at the current position and its
// position, and advances past the batch. io.EOF at end; errTorn when the
// bytes there are not a plausible batch header or the batch runs past end.
func (w *walker) next() (record.Header, int64, error) {
	pos := w.pos
	if pos >= w.end {
		return record.Header{}, pos, io.EOF
	}
	if w.end-pos < record.HeaderSize {
		return record.Header{}, pos, fmt.Errorf("%w: %d bytes left at position %d", errTorn, w.end-pos, pos)
	}
	header, err := w.headerBytes(pos)
	if err != nil {
		return record.Header{}, pos, err
	}
	h, err := record.ParseHeader(header)
	if err != nil {
		return h, pos, fmt.Errorf("%w: at position %d: %w", errTorn, pos, err)
	}
	if int64(h.Size()) > w.end-pos || h.LastOffsetDelta < 0 {
		return h, pos, fmt.Errorf("%w: batch of %d bytes at position %d runs past %d", errTorn, h.Size(), pos, w.end)
	}
	w.pos = pos + int64(h.Size())
	return h, pos, nil
}

func (w *walker) headerBytes(pos int64) ([]byte, error) {
	if pos < w.bufStart || pos+record.HeaderSize > w.bufStart+int64(w.bufLen) {
		n := min(int64(walkBlock), w.end-pos)
		read, err := w.file.ReadAt((*w.buf)[:n], pos)
		if int64(read) < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: file shorter than expected at %d", errTorn, pos+int64(read))
			}
			w.bufLen = 0
			return nil, err
		}
		w.bufStart, w.bufLen = pos, int(n)
	}
	offset := pos - w.bufStart
	return (*w.buf)[offset : offset+record.HeaderSize], nil
}

// fullValidateLimit bounds the buffer used to validate a batch in one
// piece; larger batches are checked with a streaming CRC.
const fullValidateLimit = 1 << 20

// verifyBatch checks the CRC-32C and counts of the batch described by h at
// pos. scratch is reused between calls.
func verifyBatch(file vfs.File, h record.Header, pos int64, scratch *[]byte) error {
	size := h.Size()
	if size <= fullValidateLimit {
		if cap(*scratch) < size {
			*scratch = make([]byte, size)
		}
		b := (*scratch)[:size]
		if _, err := file.ReadAt(b, pos); err != nil {
			return fmt.Errorf("log: read at %d: %w", pos, err)
		}
		if _, err := record.Validate(b, 0); err != nil {
			return fmt.Errorf("%w: at position %d: %w", errTorn, pos, err)
		}
		return nil
	}
	if h.RecordCount < 0 || (h.RecordCount == 0 && !h.IsControl()) {
		return fmt.Errorf("%w: bad record count at %d", errTorn, pos)
	}
	if cap(*scratch) < walkBlock {
		*scratch = make([]byte, walkBlock)
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	var crc uint32
	for at, end := pos+record.AttributesPos, pos+int64(size); at < end; {
		n := min(int64(walkBlock), end-at)
		b := (*scratch)[:n]
		if _, err := file.ReadAt(b, at); err != nil {
			return fmt.Errorf("log: read at %d: %w", at, err)
		}
		crc = crc32.Update(crc, table, b)
		at += n
	}
	if crc != h.CRC {
		return fmt.Errorf("%w: crc mismatch at %d", errTorn, pos)
	}
	return nil
}

// readBatch returns a copy of the batch described by h at pos.
func readBatch(file vfs.File, h record.Header, pos int64) ([]byte, error) {
	b := make([]byte, h.Size())
	if _, err := file.ReadAt(b, pos); err != nil {
		return nil, fmt.Errorf("log: read batch at %d: %w", pos, err)
	}
	return b, nil
}
