package log

import (
	"fmt"
	"testing"

	"samsa/internal/vfs"
)

// buildCrashLog returns a log on a fault-injecting MemFS that was cleaned
// once (leaving small and empty segments, so the next pass merges groups)
// and then got more records, all synced.
func buildCrashLog(t *testing.T) (*vfs.MemFS, *vfs.FaultFS, *Log, *fakeClock) {
	t.Helper()
	mem, clock := vfs.NewMem(), newClock()
	fault := vfs.NewFault(mem)
	l := openCleanerLog(t, fault, 2, clock)
	ts := clock.Now().UnixMilli()
	for i := range 12 {
		appendKeyed(t, l, ts, put(fmt.Sprintf("k%02d", i%3), fmt.Sprintf("v%02d", i)))
	}
	mustClean(t, l, clock.Now(), cleanerTestConfig())
	appendKeyed(t, l, ts, put("k00", "v12"), del("k01"), put("k05", "v14"), put("k06", "v15"), put("k00", "v16"))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	return mem, fault, l, clock
}

// checkRecovered opens a crashed copy and checks it against the log as it
// was before the pass: same offsets, every surviving record one of the
// originals, the same latest value per key; then a pass must bring it to
// the reference result.
func checkRecovered(t *testing.T, name string, fsys vfs.FS, clock *fakeClock, before []got, reference []string) {
	t.Helper()
	l, err := Open(fsys, testDir, smallSegments(t, 2), testLogger(t), clock.Now)
	if err != nil {
		t.Fatalf("%s: Open: %v", name, err)
	}
	defer l.Close()
	if l.EndOffset() != before[len(before)-1].offset+1 {
		t.Fatalf("%s: end offset %d", name, l.EndOffset())
	}
	original := map[int64]got{}
	for _, r := range before {
		original[r.offset] = r
	}
	after := logRecords(t, l, 0)
	for _, r := range after {
		if original[r.offset] != r {
			t.Fatalf("%s: record %v is not an original record", name, r)
		}
	}
	if !equalMaps(latestValues(after), latestValues(before)) {
		t.Fatalf("%s: latest values %v, want %v", name, latestValues(after), latestValues(before))
	}
	mustClean(t, l, clock.Now(), cleanerTestConfig())
	if have := gotStrings(logRecords(t, l, 0)); !equalStrings(have, reference) {
		t.Fatalf("%s: after a new pass %v, want %v", name, have, reference)
	}
}

func TestCleanCrashDuringSwap(t *testing.T) {
	_, _, ref, clock := buildCrashLog(t)
	before := logRecords(t, ref, 0)
	stats := mustClean(t, ref, clock.Now(), cleanerTestConfig())
	if stats.SegmentsCleaned < 2 || stats.RecordsRemoved == 0 {
		t.Fatalf("reference pass did too little to test: %+v", stats)
	}
	reference := gotStrings(logRecords(t, ref, 0))
	ref.Close()
	ops := map[string]vfs.Op{
		"open": vfs.OpOpen, "write": vfs.OpWrite, "sync": vfs.OpSync, "rename": vfs.OpRename,
		"syncdir": vfs.OpSyncDir, "remove": vfs.OpRemove, "read": vfs.OpRead, "truncate": vfs.OpTruncate,
	}
	for opName, op := range ops {
		for after := range 200 {
			mem, fault, l, clock := buildCrashLog(t)
			fault.AddRule(vfs.Rule{Op: op, After: after})
			_, cleanErr := l.Clean(clock.Now(), cleanerTestConfig())
			injected := fault.Injected()
			name := fmt.Sprintf("%s after %d (clean: %v)", opName, after, cleanErr)
			power := mem.CrashClone()
			process := processCrash(t, mem)
			fault.ClearRules()
			l.Close()
			checkRecovered(t, name+" power loss", power, clock, before, reference)
			checkRecovered(t, name+" process crash", process, clock, before, reference)
			checkRecovered(t, name+" reopen", mem, clock, before, reference)
			if injected == 0 {
				if cleanErr != nil {
					t.Fatalf("%s: clean failed without a fault", name)
				}
				break
			}
		}
	}
}
