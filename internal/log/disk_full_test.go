package log

import (
	"bytes"
	"math"
	"syscall"
	"testing"

	"samsa/internal/vfs"
)

// TestDiskFullAtEachPoint fails the n-th write (segment, index or
// checkpoint, half written) or file creation with ENOSPC, for every n, in a
// workload that rolls segments. The failed append changes nothing, the log
// stays online, the same batch is accepted once space is back, and the log
// reopens (cleanly and after a process crash) with exactly the acknowledged
// batches.
func TestDiskFullAtEachPoint(t *testing.T) {
	for op, name := range map[vfs.Op]string{vfs.OpWrite: "write", vfs.OpOpen: "open"} {
		n := 0
		for n < 500 && runDiskFull(t, op, n) {
			n++
		}
		if n < 5 {
			t.Fatalf("%s: only %d failure points in the workload", name, n)
		}
		t.Logf("%s: ENOSPC at each of %d points", name, n)
	}
}

func runDiskFull(t *testing.T, op vfs.Op, n int) bool {
	t.Helper()
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	cfg := testConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 100
	l, err := Open(fault, testDir, cfg, nil, newClock().Now)
	if err != nil {
		t.Fatal(err)
	}
	rule := fault.AddRule(vfs.Rule{Op: op, After: n, Times: 1, Err: syscall.ENOSPC, Partial: true})
	var acked [][]byte
	for i := range 12 {
		b := buildBatch(batchSpec{records: 1 + i%3, valueSize: 10 + 17*i%60, timestamp: int64(1000 * i), epoch: int32(i / 5)})
		end := l.EndOffset()
		if _, err := l.Append(b, true); err != nil {
			if !IsDiskFull(err) || l.Failure() != nil {
				t.Fatalf("%v #%d: append %d: %v (failure %v)", op, n, i, err, l.Failure())
			}
			if l.EndOffset() != end {
				t.Fatalf("%v #%d: end moved from %d to %d on a failed append", op, n, end, l.EndOffset())
			}
			fault.RemoveRule(rule)
			if _, err := l.Append(b, true); err != nil {
				t.Fatalf("%v #%d: append %d once space is back: %v", op, n, i, err)
			}
		}
		acked = append(acked, b)
	}
	fired := fault.Injected() > 0
	if got := readAll(t, l, 0, math.MaxInt32, math.MaxInt64, true); !bytes.Equal(got, concat(acked...)) {
		t.Fatalf("%v #%d: log differs from the acknowledged batches", op, n)
	}
	crashed := processCrash(t, mem)
	if err := l.Close(); err != nil && !IsDiskFull(err) {
		t.Fatalf("%v #%d: close: %v", op, n, err) // a full disk while closing leaves no clean-shutdown marker
	}
	for name, fsys := range map[string]vfs.FS{"clean": mem, "crash": crashed} {
		served := checkServed(t, fsys, cfg, acked)
		if !sameBatches(served, acked) {
			t.Fatalf("%v #%d: %s reopen serves %d of %d batches", op, n, name, len(served), len(acked))
		}
	}
	return fired
}
