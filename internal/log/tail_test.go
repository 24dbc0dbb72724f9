package log

import (
	"bytes"
	"math"
	"testing"

	"samsa/internal/vfs"
)

// TestReadNearTheEnd reads from every offset and with every high
// watermark over a log of many small batches (more than the tail index
// remembers, with a large index interval so most reads depend on it),
// across a truncation and appends after it.
func TestReadNearTheEnd(t *testing.T) {
	cfg := testConfig()
	cfg.IndexIntervalBytes = 1 << 20 // no sparse index entry: the tail index or a scan from 0
	l := openLog(t, vfs.NewMem(), cfg, newClock())
	defer l.Close()
	batches := appendN(t, l, tailSize+10, 3, 5, 100, 0) // offsets 0..77, 3 per batch
	check := func(stage string, batches [][]byte) {
		t.Helper()
		for off := int64(0); off < int64(3*len(batches)); off++ {
			first := int(off / 3)
			if got := readAll(t, l, off, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(batches[first:]...)) {
				t.Fatalf("%s: read from %d differs", stage, off)
			}
			// A high watermark inside the log ends the read at the batch
			// holding it, or just before it when a batch starts there.
			last := min(first+2, len(batches))
			hw := int64(3*last) - 1
			if got := readAll(t, l, off, 1<<20, hw, false); !bytes.Equal(got, concat(batches[first:last]...)) {
				t.Fatalf("%s: read from %d below %d differs", stage, off, hw)
			}
		}
	}
	check("appended", batches)
	if err := l.TruncateTo(int64(3 * (tailSize + 4))); err != nil {
		t.Fatal(err)
	}
	batches = batches[:tailSize+4]
	check("truncated", batches)
	// New batches with different sizes at the truncated positions.
	more := appendN(t, l, 5, 2, 40, 100, 1)
	if got := readAll(t, l, int64(3*len(batches)), 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(more...)) {
		t.Fatal("read of the batches appended after the truncation differs")
	}
	for i := range more {
		off := int64(3*len(batches) + 2*i + 1)
		if got := readAll(t, l, off, 1<<20, math.MaxInt64, false); !bytes.Equal(got, concat(more[i:]...)) {
			t.Fatalf("read from %d after the truncation differs", off)
		}
	}
}

// BenchmarkReadTail reads the last batch of a log of small batches, as a
// follower or a consumer that keeps up does after every append.
func BenchmarkReadTail(b *testing.B) {
	l, err := Open(vfs.Default(), b.TempDir(), DefaultConfig(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	appendN(b, l, 1000, 1, 40, 100, 0)
	end := l.EndOffset()
	for b.Loop() {
		if r, err := l.Read(end-1, 1<<20, math.MaxInt64, true); err != nil || r.Size == 0 {
			b.Fatal(r, err)
		}
	}
}
