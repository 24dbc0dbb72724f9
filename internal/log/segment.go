package log

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"samsa/internal/vfs"
)

// File name suffixes, as Kafka names them.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
)

// segment is one log file with its indexes. Fields below file are guarded
// by Log.mu and written only with Log.writeMu also held, except the
// writer-only fields at the end (writeMu alone).
type segment struct {
	base int64
	file vfs.File

	size                 int64
	next                 int64 // offset after the last batch
	index                offsetIndex
	timeIndex            timeIndex
	maxTimestamp         int64 // -1 when the segment holds no timestamps
	offsetOfMaxTimestamp int64 // last offset of the first batch with maxTimestamp
	tail                 tailIndex

	// Writer-only state (Log.writeMu).
	bytesSinceIndex int64
	rollTime        time.Time // first append, or when the log was opened
	lastAppend      time.Time
	indexesDirty    bool // in-memory indexes differ from the files
}

func segmentPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegmentName returns the base offset of a file named
// <20 digits><suffix>.
func parseSegmentName(name, suffix string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, suffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || base < 0 {
		return 0, false
	}
	return base, true
}

func maxOffsetEntries(cfg Config) int { return int(cfg.SegmentIndexBytes) / offsetEntrySize }
func maxTimeEntries(cfg Config) int   { return int(cfg.SegmentIndexBytes) / timeEntrySize }

func newSegment(base int64, file vfs.File, cfg Config, now time.Time) *segment {
	return &segment{
		base:                 base,
		file:                 file,
		next:                 base,
		index:                offsetIndex{maxEntries: maxOffsetEntries(cfg)},
		timeIndex:            timeIndex{maxEntries: maxTimeEntries(cfg)},
		maxTimestamp:         -1,
		offsetOfMaxTimestamp: -1,
		rollTime:             now,
		lastAppend:           now,
	}
}

// createSegmentFiles creates an empty segment: the log file plus index
// files preallocated to their maximum size (as Kafka does; they are trimmed
// when the segment is rolled or closed), and makes the entries durable.
func createSegmentFiles(fsys vfs.FS, dir string, base int64, cfg Config) (vfs.File, error) {
	file, err := fsys.OpenFile(segmentPath(dir, base, logSuffix), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: create segment %d: %w", base, err)
	}
	sizes := map[string]int64{
		indexSuffix:     int64(maxOffsetEntries(cfg) * offsetEntrySize),
		timeIndexSuffix: int64(maxTimeEntries(cfg) * timeEntrySize),
	}
	for suffix, size := range sizes {
		if err := preallocate(fsys, segmentPath(dir, base, suffix), size); err != nil {
			file.Close()
			return nil, err
		}
	}
	if err := fsys.SyncDir(dir); err != nil {
		file.Close()
		return nil, fmt.Errorf("log: sync dir %s: %w", dir, err)
	}
	return file, nil
}

func preallocate(fsys vfs.FS, name string, size int64) error {
	f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("log: create %s: %w", name, err)
	}
	err = f.Truncate(size)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("log: preallocate %s: %w", name, err)
	}
	return nil
}

// writeIndexFiles writes the in-memory indexes over the index files,
// trimmed to their entries, and syncs them. Called with writeMu held; the
// encoded bytes are taken by the caller under mu.
func writeIndexFiles(fsys vfs.FS, dir string, base int64, offsets, times []byte) error {
	files := []struct {
		suffix string
		data   []byte
	}{{indexSuffix, offsets}, {timeIndexSuffix, times}}
	for _, f := range files {
		if err := writeWholeFile(fsys, segmentPath(dir, base, f.suffix), f.data); err != nil {
			return err
		}
	}
	return nil
}

func writeWholeFile(fsys vfs.FS, name string, data []byte) error {
	f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("log: open %s: %w", name, err)
	}
	if _, err = f.WriteAt(data, 0); err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("log: write %s: %w", name, err)
	}
	return nil
}

// readWholeFile reads a small file, refusing anything above limit bytes.
// A missing file returns fs.ErrNotExist.
func readWholeFile(fsys vfs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("log: %s is %d bytes, above the limit %d", name, info.Size(), limit)
	}
	b := make([]byte, info.Size())
	if n, err := f.ReadAt(b, 0); n != len(b) {
		return nil, fmt.Errorf("log: read %s: %w", name, err)
	}
	return b, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// relative returns offset - base as an index entry offset, clamped.
func relative(base, offset int64) uint32 {
	rel := offset - base
	if rel < 0 {
		return 0
	}
	if rel > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(rel)
}
