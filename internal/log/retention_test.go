package log

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"samsa/internal/vfs"
)

func TestRollByTime(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentMs = 60_000
	clock := newClock()
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	appendN(t, l, 2, 1, 10, 0, 0)
	clock.Advance(59 * time.Second)
	appendN(t, l, 1, 1, 10, 0, 0)
	if got := l.NumSegments(); got != 1 {
		t.Fatalf("rolled early: %d segments", got)
	}
	clock.Advance(time.Second)
	appendN(t, l, 1, 1, 10, 0, 0) // the append rolls
	if got := l.NumSegments(); got != 2 {
		t.Fatalf("append did not roll: %d segments", got)
	}
	if err := l.Tick(clock.Advance(59 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := l.NumSegments(); got != 2 {
		t.Fatalf("tick rolled early: %d", got)
	}
	if err := l.Tick(clock.Advance(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := l.NumSegments(); got != 3 {
		t.Fatalf("tick did not roll: %d", got)
	}
	// An empty active segment is never rolled by time.
	if err := l.Tick(clock.Advance(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := l.NumSegments(); got != 3 {
		t.Fatalf("empty segment rolled: %d", got)
	}
}

func TestRetentionByTime(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = int64(2 * len(buildBatch(batchSpec{records: 1, valueSize: 10})))
	cfg.RetentionMs = 10_000
	cfg.FileDeleteDelayMs = 0
	clock := newClock()
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	now := clock.Now().UnixMilli()
	// Segments: [0,1] ts now-20s..; [2,3] ts now-5s; [4] active.
	for i, ts := range []int64{now - 20_000, now - 19_000, now - 5_000, now - 4_000, now - 30_000} {
		if _, err := l.Append(buildBatch(batchSpec{records: 1, timestamp: ts, valueSize: 10}), true); err != nil {
			t.Fatal(i, err)
		}
	}
	if l.NumSegments() != 3 {
		t.Fatalf("segments %d", l.NumSegments())
	}
	if err := l.Tick(clock.Now()); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 2 || l.StartOffset() != 2 {
		t.Fatalf("after first retention: segments %d start %d", l.NumSegments(), l.StartOffset())
	}
	if _, err := l.Read(1, 100, math.MaxInt64, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// The active segment (offset 4, ancient timestamp) is never deleted.
	if err := l.Tick(clock.Advance(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 || l.StartOffset() != 4 || l.EndOffset() != 5 {
		t.Fatalf("after second retention: segments %d start %d end %d", l.NumSegments(), l.StartOffset(), l.EndOffset())
	}
}

func TestRetentionByBytes(t *testing.T) {
	size := int64(len(buildBatch(batchSpec{records: 1, valueSize: 10})))
	cfg := testConfig()
	cfg.SegmentBytes = 2 * size
	cfg.RetentionBytes = 3 * size
	cfg.FileDeleteDelayMs = 0
	clock := newClock()
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	batches := appendN(t, l, 7, 1, 10, 0, 0) // segments: 0-1, 2-3, 4-5, 6
	if err := l.Tick(clock.Now()); err != nil {
		t.Fatal(err)
	}
	// 7 batches; dropping [0,1] leaves 5 >= 3, dropping [2,3] leaves 3 >= 3, [4,5] would leave 1.
	if l.StartOffset() != 4 || l.Size() != 3*size || l.NumSegments() != 2 {
		t.Fatalf("start %d size %d segments %d", l.StartOffset(), l.Size(), l.NumSegments())
	}
	if got := readAll(t, l, 4, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[4:]...)) {
		t.Fatal("remaining data differs")
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	fsys := vfs.NewMem()
	size := int64(len(buildBatch(batchSpec{records: 2, valueSize: 10})))
	cfg := testConfig()
	cfg.SegmentBytes = 2 * size
	cfg.FileDeleteDelayMs = 0
	clock := newClock()
	l := openLog(t, fsys, cfg, clock)
	batches := appendN(t, l, 5, 2, 10, 0, 0) // segments [0-3] [4-7] [8-9]
	if err := l.DeleteRecordsBefore(11); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("beyond end: %v", err)
	}
	if err := l.DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 5 || l.NumSegments() != 2 {
		t.Fatalf("start %d segments %d", l.StartOffset(), l.NumSegments())
	}
	if _, err := l.Read(4, 100, math.MaxInt64, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// Reading at the start offset returns the batch that contains it.
	if got := readAll(t, l, 5, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[2:]...)) {
		t.Fatal("read at start differs")
	}
	if err := l.DeleteRecordsBefore(3); err != nil { // below start: no-op
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg, clock)
	defer l.Close()
	if l.StartOffset() != 5 || l.EndOffset() != 10 {
		t.Fatalf("after reopen start %d end %d", l.StartOffset(), l.EndOffset())
	}
}

func TestTruncateTo(t *testing.T) {
	fsys := vfs.NewMem()
	size := int64(len(buildBatch(batchSpec{records: 2, valueSize: 10})))
	cfg := testConfig()
	cfg.SegmentBytes = 2 * size
	cfg.FileDeleteDelayMs = 0
	clock := newClock()
	l := openLog(t, fsys, cfg, clock)
	batches := appendN(t, l, 5, 2, 10, 100, 0) // offsets 0..9, segments [0-3] [4-7] [8-9]
	if err := l.TruncateTo(6); err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != 6 || l.NumSegments() != 2 {
		t.Fatalf("end %d segments %d", l.EndOffset(), l.NumSegments())
	}
	if got := readAll(t, l, 0, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[:3]...)) {
		t.Fatal("data after truncation differs")
	}
	// Inside a batch: the whole batch goes.
	if err := l.TruncateTo(5); err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != 4 {
		t.Fatalf("end after mid-batch truncation %d", l.EndOffset())
	}
	batch, found, err := l.MaxTimestampBatch()
	if err != nil || !found || !bytes.Equal(batch, batches[1]) {
		t.Fatalf("max timestamp batch after truncation: found %v err %v", found, err)
	}
	// Appending continues at the new end.
	more := appendN(t, l, 1, 2, 10, 0, 0)
	if got := readAll(t, l, 4, 1<<20, math.MaxInt64, false); !bytes.Equal(got, more[0]) {
		t.Fatal("append after truncation differs")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg, clock)
	if l.EndOffset() != 6 {
		t.Fatalf("end after reopen %d", l.EndOffset())
	}
	// Below the log start: the log restarts at the offset.
	if err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 2 || l.EndOffset() != 2 || l.NumSegments() != 1 || l.Size() != 0 {
		t.Fatalf("full truncation: start %d end %d segments %d size %d", l.StartOffset(), l.EndOffset(), l.NumSegments(), l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg, clock)
	defer l.Close()
	if l.StartOffset() != 2 || l.EndOffset() != 2 {
		t.Fatalf("after reopen start %d end %d", l.StartOffset(), l.EndOffset())
	}
}

func TestReadWhileRetentionDeletes(t *testing.T) {
	size := int64(len(buildBatch(batchSpec{records: 1, valueSize: 10})))
	cfg := testConfig()
	cfg.SegmentBytes = size
	cfg.FileDeleteDelayMs = 60_000
	fsys := vfs.NewMem()
	clock := newClock()
	l := openLog(t, fsys, cfg, clock)
	defer l.Close()
	batches := appendN(t, l, 3, 1, 10, 0, 0)
	r, err := l.Read(0, 1<<20, math.MaxInt64, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteRecordsBefore(2); err != nil {
		t.Fatal(err)
	}
	if err := l.Tick(clock.Now()); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 {
		t.Fatalf("segments %d", l.NumSegments())
	}
	if _, err := fsys.Stat(testDir + "/00000000000000000000.log.deleted"); err != nil {
		t.Fatalf("deleted segment not renamed: %v", err)
	}
	got, err := r.AppendTo(nil)
	if err != nil || !bytes.Equal(got, concat(batches...)) {
		t.Fatalf("in-flight read after deletion: %v", err)
	}
	if err := l.Tick(clock.Advance(61 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(testDir + "/00000000000000000000.log.deleted"); err == nil {
		t.Fatal("deleted segment file still present after the delay")
	}
	if _, err := r.AppendTo(nil); err == nil {
		t.Fatal("read of a closed file succeeded")
	}
}
