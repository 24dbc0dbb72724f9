package log

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

func TestLeaderEpochCache(t *testing.T) {
	fsys := vfs.NewMem()
	clock := newClock()
	cfg := testConfig()
	cfg.FileDeleteDelayMs = 0
	l := openLog(t, fsys, cfg, clock)
	if e, off := l.EndOffsetForEpoch(0); e != -1 || off != -1 || l.LatestEpoch() != -1 {
		t.Fatalf("empty: %d %d latest %d", e, off, l.LatestEpoch())
	}
	appendN(t, l, 2, 2, 1, 0, 1) // epoch 1: 0..3
	appendN(t, l, 1, 2, 1, 0, 3) // epoch 3: 4..5
	appendN(t, l, 2, 1, 1, 0, 5) // epoch 5: 6..7
	cases := []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{0, 0, 0}, // below the first epoch: its start
		{1, 1, 4},
		{2, 1, 4}, // unknown epoch between: largest below it
		{3, 3, 6},
		{5, 5, 8}, // latest: log end
		{6, -1, -1},
		{-1, -1, -1},
	}
	check := func(l *Log, label string) {
		t.Helper()
		for _, c := range cases {
			if e, off := l.EndOffsetForEpoch(c.epoch); e != c.wantEpoch || off != c.wantEnd {
				t.Errorf("%s: epoch %d: got (%d, %d) want (%d, %d)", label, c.epoch, e, off, c.wantEpoch, c.wantEnd)
			}
		}
	}
	check(l, "live")
	if got := string(readRaw(t, fsys, testDir+"/"+epochCheckpointName)); got != "0\n3\n1 0\n3 4\n5 6\n" {
		t.Fatalf("checkpoint %q", got)
	}
	// Reopen after a crash (no marker): the cache comes back.
	crashed := processCrash(t, fsys)
	r := openLog(t, crashed, cfg, clock)
	check(r, "after crash")
	r.Close()
	// Checkpoint lost: rebuilt from the log.
	crashed = processCrash(t, fsys)
	crashed.Remove(testDir + "/" + epochCheckpointName)
	r = openLog(t, crashed, cfg, clock)
	check(r, "rebuilt")
	r.Close()
	// Truncation drops later epochs.
	if err := l.TruncateTo(6); err != nil {
		t.Fatal(err)
	}
	if l.LatestEpoch() != 3 {
		t.Fatalf("latest after truncate %d", l.LatestEpoch())
	}
	if e, off := l.EndOffsetForEpoch(3); e != 3 || off != 6 {
		t.Fatalf("epoch 3 after truncate: %d %d", e, off)
	}
	// Start offset moves the first entry up.
	if err := l.DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if got := string(readRaw(t, fsys, testDir+"/"+epochCheckpointName)); got != "0\n1\n3 5\n" {
		t.Fatalf("checkpoint after delete records %q", got)
	}
	l.Close()
}

func TestBatchAtTimestamp(t *testing.T) {
	size := int64(len(buildBatch(batchSpec{records: 2, valueSize: 30})))
	cfg := testConfig()
	cfg.SegmentBytes = 4 * size
	cfg.IndexIntervalBytes = int32(size) // an index entry every other batch
	fsys := vfs.NewMem()
	clock := newClock()
	l := openLog(t, fsys, cfg, clock)
	// Timestamps: batch i has records at ts[i], ts[i]+1.
	ts := []int64{100, 300, 200, 500, 400, 700, 600, 900, 800, 1000}
	var batches [][]byte
	for _, x := range ts {
		b := buildBatch(batchSpec{records: 2, timestamp: x, valueSize: 30})
		if _, err := l.Append(b, true); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	check := func(l *Log, label string) {
		t.Helper()
		for _, c := range []struct {
			ts   int64
			want int // batch index, -1 = none
		}{{0, 0}, {101, 0}, {102, 1}, {301, 1}, {302, 3}, {502, 5}, {701, 5}, {702, 7}, {901, 7}, {902, 9}, {1001, 9}, {1002, -1}} {
			batch, found, err := l.BatchAtTimestamp(c.ts)
			if err != nil {
				t.Fatal(err)
			}
			if c.want < 0 {
				if found {
					t.Errorf("%s: ts %d found a batch", label, c.ts)
				}
				continue
			}
			if !found || !bytes.Equal(batch, batches[c.want]) {
				h, _ := record.ParseHeader(batch)
				t.Errorf("%s: ts %d: found %v base %d, want batch %d", label, c.ts, found, h.BaseOffset, c.want)
			}
		}
		batch, found, err := l.MaxTimestampBatch()
		if err != nil || !found || !bytes.Equal(batch, batches[9]) {
			t.Errorf("%s: max timestamp batch: %v %v", label, found, err)
		}
	}
	check(l, "live")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg, clock)
	defer l.Close()
	check(l, "reopened")
}

func TestConcurrentAppendReadSync(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 4096
	cfg.FlushMessages = 7
	l := openLog(t, vfs.NewMem(), cfg, newClock())
	defer l.Close()
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range perWriter {
				if _, err := l.Append(buildBatch(batchSpec{records: 2, valueSize: 20}), true); err != nil {
					t.Error(err)
					return
				}
				if err := l.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-done:
				return
			default:
			}
			end := l.EndOffset()
			r, err := l.Read(0, 1<<20, end, false)
			if err != nil {
				t.Error(err)
				return
			}
			b, err := r.AppendTo(nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, h := range splitBatches(t, b) {
				if h.BaseOffset >= end {
					t.Errorf("read batch %d at or past bound %d", h.BaseOffset, end)
				}
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()
	if l.EndOffset() != 2*writers*perWriter || l.FlushedOffset() != l.EndOffset() {
		t.Fatalf("end %d flushed %d", l.EndOffset(), l.FlushedOffset())
	}
	var next int64
	err := l.ScanHeaders(0, func(h record.Header) error {
		if h.BaseOffset != next {
			t.Fatalf("batch at %d, want %d", h.BaseOffset, next)
		}
		next = h.NextOffset()
		return nil
	})
	if err != nil || next != l.EndOffset() {
		t.Fatalf("scan: %v next %d", err, next)
	}
	if got := readAll(t, l, 0, 1<<30, math.MaxInt64, false); int64(len(got)) != l.Size() {
		t.Fatalf("full read %d bytes, size %d", len(got), l.Size())
	}
}
