package log

import (
	"errors"
	"math"
	"testing"
	"time"

	"samsa/internal/vfs"
)

func TestTickFlushMs(t *testing.T) {
	cfg := testConfig()
	cfg.FlushMs = 1000
	clock := newClock()
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	appendN(t, l, 2, 1, 1, 0, 0)
	if err := l.Tick(clock.Advance(999 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if l.FlushedOffset() != 0 {
		t.Fatalf("flushed early: %d", l.FlushedOffset())
	}
	if err := l.Tick(clock.Advance(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if l.FlushedOffset() != 2 {
		t.Fatalf("flushed %d", l.FlushedOffset())
	}
}

func TestOSFilesAndDelete(t *testing.T) {
	dir := t.TempDir() + "/topic-1"
	l, err := Open(vfs.Default(), dir, testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3, 1, 10, 0, 0)
	r, err := l.Read(0, 1<<20, math.MaxInt64, false)
	if err != nil || len(r.Chunks) != 1 {
		t.Fatalf("read %v chunks %d", err, len(r.Chunks))
	}
	if _, ok := vfs.OSFile(r.Chunks[0].File); !ok {
		t.Fatal("chunk file is not an *os.File")
	}
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.Default().Stat(dir); err == nil {
		t.Fatal("directory survived Delete")
	}
	if _, err := l.Append(buildBatch(batchSpec{records: 1}), true); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after delete: %v", err)
	}
	if _, err := l.Read(0, 1, math.MaxInt64, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after delete: %v", err)
	}
}
