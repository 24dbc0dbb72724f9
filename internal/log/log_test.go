package log

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

func TestAppendReadRoundTrip(t *testing.T) {
	l := openLog(t, vfs.NewMem(), testConfig(), newClock())
	defer l.Close()
	batches := appendN(t, l, 3, 2, 10, 1000, 0)
	for i, b := range batches {
		h, _ := record.ParseHeader(b)
		if h.BaseOffset != int64(2*i) {
			t.Fatalf("batch %d base %d", i, h.BaseOffset)
		}
	}
	if got := l.EndOffset(); got != 6 {
		t.Fatalf("end %d", got)
	}
	got := readAll(t, l, 0, 1<<20, math.MaxInt64, false)
	if !bytes.Equal(got, concat(batches...)) {
		t.Fatal("read bytes differ from appended bytes")
	}
	// A fetch inside a batch gets the whole batch.
	if got := readAll(t, l, 3, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[1:]...)) {
		t.Fatal("read from offset 3 did not start at batch 2..3")
	}
	if got := readAll(t, l, 6, 1<<20, math.MaxInt64, false); len(got) != 0 {
		t.Fatalf("read at end returned %d bytes", len(got))
	}
	for _, off := range []int64{-1, 7} {
		if _, err := l.Read(off, 100, math.MaxInt64, true); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Read(%d) err %v", off, err)
		}
	}
}

func TestAppendResult(t *testing.T) {
	l := openLog(t, vfs.NewMem(), testConfig(), newClock())
	defer l.Close()
	two := concat(buildBatch(batchSpec{records: 3, timestamp: 50}), buildBatch(batchSpec{records: 2, timestamp: 10}))
	res, err := l.Append(two, true)
	if err != nil {
		t.Fatal(err)
	}
	want := AppendResult{FirstOffset: 0, LastOffset: 4, MaxTimestamp: 52, LogStartOffset: 0}
	if res != want {
		t.Fatalf("got %+v want %+v", res, want)
	}
	// Replication: base offsets kept, must not go backwards.
	if _, err := l.Append(buildBatch(batchSpec{base: 4, records: 1}), false); !errors.Is(err, ErrNonMonotonic) {
		t.Fatalf("non-monotonic append: %v", err)
	}
	res, err = l.Append(buildBatch(batchSpec{base: 10, records: 2, timestamp: 7}), false)
	if err != nil || res.FirstOffset != 10 || res.LastOffset != 11 || l.EndOffset() != 12 {
		t.Fatalf("replicated append %+v %v end %d", res, err, l.EndOffset())
	}
	if _, err := l.Append([]byte{1, 2, 3}, true); err == nil {
		t.Fatal("garbage append accepted")
	}
	if _, err := l.Append(buildBatch(batchSpec{records: 1, valueSize: 20})[:70], true); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("short batch: %v", err)
	}
}

func TestReadMaxBytesAndMinOneBatch(t *testing.T) {
	l := openLog(t, vfs.NewMem(), testConfig(), newClock())
	defer l.Close()
	batches := appendN(t, l, 4, 2, 50, 0, 0)
	size := len(batches[0])
	if got := readAll(t, l, 0, size*3/2, math.MaxInt64, false); !bytes.Equal(got, batches[0]) {
		t.Fatalf("1.5 batches of budget returned %d bytes", len(got))
	}
	if got := readAll(t, l, 2, size*2, math.MaxInt64, false); !bytes.Equal(got, concat(batches[1:3]...)) {
		t.Fatalf("exact budget returned %d bytes", len(got))
	}
	if got := readAll(t, l, 2, size-1, math.MaxInt64, false); len(got) != 0 {
		t.Fatalf("too-small budget without minOneBatch returned %d bytes", len(got))
	}
	if got := readAll(t, l, 2, 1, math.MaxInt64, true); !bytes.Equal(got, batches[1]) {
		t.Fatalf("minOneBatch returned %d bytes", len(got))
	}
}

func TestReadMaxOffset(t *testing.T) {
	l := openLog(t, vfs.NewMem(), testConfig(), newClock())
	defer l.Close()
	batches := appendN(t, l, 4, 2, 5, 0, 0) // offsets 0-1, 2-3, 4-5, 6-7
	cases := []struct {
		maxOffset int64
		want      []byte
	}{
		{0, nil},
		{1, batches[0]},
		{2, batches[0]},
		{3, concat(batches[:2]...)},
		{4, concat(batches[:2]...)},
		{8, concat(batches...)},
	}
	for _, c := range cases {
		if got := readAll(t, l, 0, 1<<20, c.maxOffset, true); !bytes.Equal(got, c.want) {
			t.Errorf("maxOffset %d: got %d bytes want %d", c.maxOffset, len(got), len(c.want))
		}
	}
}

func TestRollBySizeAndReadAcrossSegments(t *testing.T) {
	fsys := vfs.NewMem()
	cfg := testConfig()
	size := len(buildBatch(batchSpec{records: 2, valueSize: 20}))
	cfg.SegmentBytes = int64(3 * size)
	clock := newClock()
	l := openLog(t, fsys, cfg, clock)
	batches := appendN(t, l, 10, 2, 20, 0, 0)
	if got := l.NumSegments(); got != 4 {
		t.Fatalf("segments %d", got)
	}
	entries, _ := fsys.ReadDir(testDir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"00000000000000000000.log", "00000000000000000006.log", "00000000000000000012.log", "00000000000000000018.log", "00000000000000000006.index", "00000000000000000006.timeindex"} {
		if !containsString(names, want) {
			t.Fatalf("missing %s in %v", want, names)
		}
	}
	if got := readAll(t, l, 5, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[2:]...)) {
		t.Fatal("cross-segment read differs")
	}
	if got := readAll(t, l, 5, 2*size, math.MaxInt64, false); !bytes.Equal(got, concat(batches[2:4]...)) {
		t.Fatal("cross-segment bounded read differs")
	}
	if got := l.Size(); got != int64(10*size) {
		t.Fatalf("size %d", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Closed segments have trimmed indexes; reopen cleanly and read again.
	if got := fileSize(t, fsys, testDir+"/00000000000000000018.index"); got != 0 {
		t.Fatalf("active index not trimmed: %d", got)
	}
	l = openLog(t, fsys, cfg, clock)
	defer l.Close()
	if l.EndOffset() != 20 || l.NumSegments() != 4 {
		t.Fatalf("after reopen end %d segments %d", l.EndOffset(), l.NumSegments())
	}
	if got := readAll(t, l, 0, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches...)) {
		t.Fatal("read after reopen differs")
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
