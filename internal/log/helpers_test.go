package log

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// batchSpec describes a test batch.
type batchSpec struct {
	base      int64
	records   int
	timestamp int64 // base timestamp; record i has timestamp+i
	epoch     int32
	valueSize int
}

// buildBatch constructs a valid uncompressed magic-2 batch with correct
// CRC-32C.
func buildBatch(s batchSpec) []byte {
	if s.records == 0 {
		s.records = 1
	}
	var records []byte
	for i := range s.records {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // null key
		body = binary.AppendVarint(body, int64(s.valueSize))
		for j := range s.valueSize {
			body = append(body, byte(int(s.base)+i+j))
		}
		body = binary.AppendVarint(body, 0) // no headers
		records = binary.AppendVarint(records, int64(len(body)))
		records = append(records, body...)
	}
	b := make([]byte, record.HeaderSize, record.HeaderSize+len(records))
	binary.BigEndian.PutUint64(b[record.BaseOffsetPos:], uint64(s.base))
	binary.BigEndian.PutUint32(b[record.LengthPos:], uint32(record.HeaderSize-record.LogOverhead+len(records)))
	binary.BigEndian.PutUint32(b[record.PartitionLeaderEpochPos:], uint32(s.epoch))
	b[record.MagicPos] = 2
	binary.BigEndian.PutUint32(b[record.LastOffsetDeltaPos:], uint32(s.records-1))
	binary.BigEndian.PutUint64(b[record.BaseTimestampPos:], uint64(s.timestamp))
	binary.BigEndian.PutUint64(b[record.MaxTimestampPos:], uint64(s.timestamp+int64(s.records)-1))
	binary.BigEndian.PutUint64(b[record.ProducerIDPos:], math.MaxUint64) // -1
	binary.BigEndian.PutUint16(b[record.ProducerEpochPos:], math.MaxUint16)
	binary.BigEndian.PutUint32(b[record.BaseSequencePos:], math.MaxUint32)
	binary.BigEndian.PutUint32(b[record.RecordCountPos:], uint32(s.records))
	b = append(b, records...)
	binary.BigEndian.PutUint32(b[record.CRCPos:], record.CRC32C(b[record.AttributesPos:]))
	return b
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentIndexBytes = 1200
	cfg.IndexIntervalBytes = 200
	cfg.RetentionMs = -1
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

const testDir = "/data/topic-0"

func openLog(t testing.TB, fsys vfs.FS, cfg Config, clock *fakeClock) *Log {
	t.Helper()
	l, err := Open(fsys, testDir, cfg, testLogger(t), clock.Now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// appendN appends count batches of records records each, with timestamps
// ts, ts+1000, ..., and returns the stored bytes of each batch.
func appendN(t testing.TB, l *Log, count, records, valueSize int, ts int64, epoch int32) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range count {
		b := buildBatch(batchSpec{records: records, timestamp: ts + int64(i)*1000, epoch: epoch, valueSize: valueSize})
		if _, err := l.Append(b, true); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, b)
	}
	return out
}

func readAll(t testing.TB, l *Log, offset int64, maxBytes int, maxOffset int64, minOne bool) []byte {
	t.Helper()
	r, err := l.Read(offset, maxBytes, maxOffset, minOne)
	if err != nil {
		t.Fatalf("Read(%d): %v", offset, err)
	}
	b, err := r.AppendTo(nil)
	if err != nil {
		t.Fatalf("AppendTo: %v", err)
	}
	if len(b) != r.Size {
		t.Fatalf("Size %d, bytes %d", r.Size, len(b))
	}
	return b
}

// splitBatches parses concatenated batches, validating each.
func splitBatches(t testing.TB, b []byte) []record.Header {
	t.Helper()
	var hs []record.Header
	for len(b) > 0 {
		n, err := record.PeekSize(b)
		if err != nil || n > len(b) {
			t.Fatalf("bad batch framing: %v", err)
		}
		h, err := record.Validate(b[:n], 0)
		if err != nil {
			t.Fatalf("invalid batch: %v", err)
		}
		hs = append(hs, h)
		b = b[n:]
	}
	return hs
}

func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func fileSize(t testing.TB, fsys vfs.FS, name string) int64 {
	t.Helper()
	info, err := fsys.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func writeRaw(t testing.TB, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func readRaw(t testing.TB, fsys vfs.FS, name string) []byte {
	t.Helper()
	b, err := readWholeFile(fsys, name, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
