package log

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// Crash-recovery properties of the log. What "acknowledged" means depends
// on the crash (docs/architecture.md, "Failure handling: disk"):
//
//   - process crash (kill -9; the page cache survives): every batch whose
//     Append returned nil;
//   - machine crash (power loss; only fsynced bytes survive): every batch
//     below FlushedOffset at the moment of the crash. With flush.messages=1
//     that is again every batch whose Append returned nil; with a larger
//     flush.messages or flush.ms, the batches of the last completed flush.
//
// After any damage the log must open, serve only whole batches that pass
// their CRC and are byte-identical to what was appended at their offset,
// keep every acknowledged batch, and append at the offset after the last
// batch it serves.

// propertyLog is a small multi-segment log and the batches appended to it.
type propertyLog struct {
	fsys    *vfs.MemFS
	cfg     Config
	batches [][]byte // in offset order, base offsets assigned
	bases   []int64  // segment base offsets
}

// buildPropertyLog appends batches of varied sizes, rolling every few.
func buildPropertyLog(t *testing.T, count int) propertyLog {
	t.Helper()
	cfg := testConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 100
	fsys := vfs.NewMem()
	l := openLog(t, fsys, cfg, newClock())
	var batches [][]byte
	for i := range count {
		b := buildBatch(batchSpec{records: 1 + i%3, valueSize: 10 + 17*i%60, timestamp: int64(1000 * i), epoch: int32(i / 4)})
		if _, err := l.Append(b, true); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		batches = append(batches, b)
	}
	l.mu.Lock()
	var bases []int64
	for _, s := range l.mu.segments {
		bases = append(bases, s.base)
	}
	l.mu.Unlock()
	if len(bases) < 3 {
		t.Fatalf("want at least 3 segments, have %d", len(bases))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	// A process crash: files as they are, no clean-shutdown marker.
	crashed := processCrash(t, fsys)
	l.Close()
	return propertyLog{fsys: crashed, cfg: cfg, batches: batches, bases: bases}
}

// segmentBatches returns the batches stored in the segment at index i.
func (p propertyLog) segmentBatches(i int) [][]byte {
	var out [][]byte
	for _, b := range p.batches {
		h, _ := record.ParseHeader(b)
		if h.BaseOffset >= p.bases[i] && (i == len(p.bases)-1 || h.BaseOffset < p.bases[i+1]) {
			out = append(out, b)
		}
	}
	return out
}

func (p propertyLog) segmentName(i int, suffix string) string {
	return segmentPath(testDir, p.bases[i], suffix)
}

// clone copies the crashed files into a fresh file system.
func (p propertyLog) clone(t *testing.T) *vfs.MemFS {
	t.Helper()
	return processCrash(t, p.fsys)
}

// checkServed opens fsys and checks the properties every recovery must
// keep: open succeeds, every served batch passes its CRC and equals the
// batch appended at its base offset, offsets increase, the end offset
// follows the last served batch and the next append lands there. It
// returns the served batches.
func checkServed(t *testing.T, fsys vfs.FS, cfg Config, original [][]byte) [][]byte {
	t.Helper()
	byBase := map[int64][]byte{}
	for _, b := range original {
		h, _ := record.ParseHeader(b)
		byBase[h.BaseOffset] = b
	}
	l, err := Open(fsys, testDir, cfg, nil, newClock().Now)
	if err != nil {
		t.Fatalf("open after damage: %v", err)
	}
	defer l.Close()
	data := readAll(t, l, l.StartOffset(), math.MaxInt32, math.MaxInt64, true)
	var served [][]byte
	next := l.StartOffset()
	for rest := data; len(rest) > 0; {
		h := splitBatches(t, rest[:mustPeekSize(t, rest)])[0] // validates the CRC
		batch := rest[:h.Size()]
		if want, ok := byBase[h.BaseOffset]; !ok || !bytes.Equal(batch, want) {
			t.Fatalf("served a batch at %d that was never appended there", h.BaseOffset)
		}
		if h.BaseOffset < next {
			t.Fatalf("served offsets go backwards: %d after %d", h.BaseOffset, next)
		}
		next = h.NextOffset()
		served = append(served, batch)
		rest = rest[h.Size():]
	}
	// The end offset follows the last served batch, or lies above it when
	// damage emptied later segments: their base offsets still count, as in
	// Kafka. It never passes the end of what was appended.
	end, appended := l.EndOffset(), int64(0)
	if len(original) > 0 {
		last, _ := record.ParseHeader(original[len(original)-1])
		appended = last.NextOffset()
	}
	if end < next || end > max(appended, l.StartOffset()) {
		t.Fatalf("end offset %d, last served batch ends at %d, appended up to %d", end, next, appended)
	}
	res, err := l.Append(buildBatch(batchSpec{records: 1}), true)
	if err != nil || res.FirstOffset != end {
		t.Fatalf("append after recovery: %+v %v, want offset %d", res, err, end)
	}
	return served
}

func mustPeekSize(t *testing.T, b []byte) int {
	t.Helper()
	n, err := record.PeekSize(b)
	if err != nil || n > len(b) {
		t.Fatalf("served a partial batch: %d bytes of %d (%v)", len(b), n, err)
	}
	return n
}

func sameBatches(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, bytes.Equal)
}

// TestCrashCutEverySegmentAtEveryByte cuts each segment file of a
// three-segment log at every byte offset. A cut inside the active segment
// is a torn write of a process or machine crash; a cut inside an older
// (fsynced) segment is damage. Either way the log keeps the whole batches
// before the cut; when the cut tears a batch, what follows it is dropped
// (Kafka's recovery), when it falls between batches the later segments stay.
func TestCrashCutEverySegmentAtEveryByte(t *testing.T) {
	p := buildPropertyLog(t, 14)
	for seg := range p.bases {
		full := readRaw(t, p.fsys, p.segmentName(seg, logSuffix))
		own := p.segmentBatches(seg)
		for cut := 0; cut <= len(full); cut++ {
			fsys := p.clone(t)
			writeRaw(t, fsys, p.segmentName(seg, logSuffix), full[:cut])
			var want [][]byte
			for i := range seg {
				want = append(want, p.segmentBatches(i)...)
			}
			boundary, kept := 0, 0
			for _, b := range own {
				if boundary+len(b) > cut {
					break
				}
				boundary += len(b)
				kept++
			}
			want = append(want, own[:kept]...)
			if cut == boundary && seg < len(p.bases)-1 {
				for i := seg + 1; i < len(p.bases); i++ {
					want = append(want, p.segmentBatches(i)...)
				}
			}
			if got := checkServed(t, fsys, p.cfg, p.batches); !sameBatches(got, want) {
				t.Fatalf("segment %d cut at %d: served %d batches, want %d", seg, cut, len(got), len(want))
			}
		}
	}
}

// TestCrashIndexDroppedOrTruncated removes or cuts every index and time
// index at every length, after a clean or an unclean shutdown: nothing is
// lost and offset lookups answer as on the undamaged log. An index that is
// missing or does not decode is rebuilt, so timestamp lookups are exact
// too; a time index cut at an entry boundary still decodes and is trusted
// (as by Kafka), so it may only make timestamp lookups miss entries.
func TestCrashIndexDroppedOrTruncated(t *testing.T) {
	p := buildPropertyLog(t, 14)
	for _, clean := range []bool{false, true} {
		for seg := range p.bases {
			for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
				name := p.segmentName(seg, suffix)
				full := readRaw(t, p.fsys, name)
				for _, cut := range indexCuts(len(full), entrySizes[suffix]) {
					fsys := p.clone(t)
					if clean {
						writeRaw(t, fsys, testDir+"/"+cleanShutdownName, nil)
					}
					if cut < 0 {
						if err := fsys.Remove(name); err != nil {
							t.Fatal(err)
						}
					} else {
						writeRaw(t, fsys, name, full[:cut])
					}
					what := fmt.Sprintf("clean %v, %s cut at %d", clean, name, cut)
					wellFormed := cut >= 0 && suffix == timeIndexSuffix && cut%timeEntrySize == 0
					checkLookups(t, fsys, p, what, !wellFormed)
				}
			}
		}
	}
}

var entrySizes = map[string]int{indexSuffix: offsetEntrySize, timeIndexSuffix: timeEntrySize}

// indexCuts returns the lengths to cut an index of size bytes to: -1
// (removed), every entry boundary and a torn entry after each.
func indexCuts(size, entry int) []int {
	cuts := []int{-1}
	for at := 0; at <= size; at += entry {
		cuts = append(cuts, at)
		if at+entry/2 < size {
			cuts = append(cuts, at+entry/2)
		}
	}
	return cuts
}

// checkLookups opens fsys and checks offset lookups (first and last offset
// of each batch) and, with times, timestamp lookups against the appended
// batches.
func checkLookups(t *testing.T, fsys vfs.FS, p propertyLog, what string, times bool) {
	t.Helper()
	l, err := Open(fsys, testDir, p.cfg, nil, newClock().Now)
	if err != nil {
		t.Fatalf("%s: open: %v", what, err)
	}
	defer l.Close()
	for _, b := range p.batches {
		h, _ := record.ParseHeader(b)
		for _, offset := range []int64{h.BaseOffset, h.LastOffset()} {
			if got := readAll(t, l, offset, len(b), math.MaxInt64, true); !bytes.Equal(got, b) {
				t.Fatalf("%s: read at %d differs", what, offset)
			}
		}
		if !times {
			continue
		}
		got, found, err := l.BatchAtTimestamp(h.MaxTimestamp)
		if err != nil || !found || !bytes.Equal(got, b) {
			t.Fatalf("%s: batch at timestamp %d: found %v, %v", what, h.MaxTimestamp, found, err)
		}
	}
	if end := int64(len(p.batches)); l.EndOffset() < end {
		t.Fatalf("%s: end offset %d", what, l.EndOffset())
	}
}

// TestCrashCorruptRandomBytes flips seeded random bytes in the active
// segment (the part an unclean start scans), the indexes and the
// checkpoints. Only the base offset and leader epoch fields of a batch are
// outside its CRC (Kafka's format), so those are left alone. Older segments
// were fsynced when rolled and are trusted, as by Kafka, unless their index
// is damaged; consumers check CRCs as well.
func TestCrashCorruptRandomBytes(t *testing.T) {
	p := buildPropertyLog(t, 14)
	last := len(p.bases) - 1
	active := readRaw(t, p.fsys, p.segmentName(last, logSuffix))
	var before [][]byte
	for i := range last {
		before = append(before, p.segmentBatches(i)...)
	}
	own := p.segmentBatches(last)
	others := []string{
		testDir + "/" + epochCheckpointName,
		p.segmentName(0, indexSuffix), p.segmentName(0, timeIndexSuffix),
		p.segmentName(1, indexSuffix), p.segmentName(last, timeIndexSuffix),
	}
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 6))
	for trial := range 300 {
		fsys := p.clone(t)
		if _, err := fsys.Stat(testDir + "/" + epochCheckpointName); err != nil {
			t.Fatal(err)
		}
		damaged, hit := bytes.Clone(active), len(own)
		for range 1 + rng.IntN(3) {
			pos, batch := outsideUncovered(rng, own)
			hit = min(hit, batch)
			damaged[pos] ^= byte(1 + rng.IntN(255))
		}
		writeRaw(t, fsys, p.segmentName(last, logSuffix), damaged)
		for range rng.IntN(3) {
			name := others[rng.IntN(len(others))]
			data := readRaw(t, fsys, name)
			if len(data) > 0 {
				data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
				writeRaw(t, fsys, name, data)
			}
		}
		want := append(slices.Clone(before), own[:hit]...)
		if got := checkServed(t, fsys, p.cfg, p.batches); !sameBatches(got, want) {
			t.Fatalf("seed %d trial %d: served %d batches, want %d", seed, trial, len(got), len(want))
		}
	}
}

// testSeed returns the seed of the randomized crash tests: fixed, so runs
// repeat, unless SAMSA_TEST_SEED sets another.
func testSeed(t *testing.T) uint64 {
	seed := uint64(20261121)
	if v := os.Getenv("SAMSA_TEST_SEED"); v != "" {
		parsed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SAMSA_TEST_SEED: %v", err)
		}
		seed = parsed
	}
	t.Logf("seed %d (SAMSA_TEST_SEED replays it)", seed)
	return seed
}

// outsideUncovered picks a byte position in the concatenated batches that
// the CRC or the framing check covers, and the index of its batch.
func outsideUncovered(rng *rand.Rand, batches [][]byte) (int, int) {
	for {
		i := rng.IntN(len(batches))
		within := rng.IntN(len(batches[i]))
		if within < record.LengthPos || (within >= record.PartitionLeaderEpochPos && within < record.MagicPos) {
			continue
		}
		pos := within
		for _, b := range batches[:i] {
			pos += len(b)
		}
		return pos, i
	}
}

// TestCrashFsyncFailsAtEachPoint runs a workload with flush.messages=1
// over a file system that fails the n-th fsync (or directory sync), for
// every n, then loses power. The failure takes the log offline; after the
// restart every batch whose append returned nil is there, nothing else
// but whole appended batches, and appends continue at the right offset.
func TestCrashFsyncFailsAtEachPoint(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpSync, vfs.OpSyncDir} {
		for n := 0; ; n++ {
			failed := runFsyncFailure(t, op, n)
			if !failed {
				break // the workload ran past its last sync
			}
			if n > 500 {
				t.Fatal("workload never finishes")
			}
		}
	}
}

// runFsyncFailure runs one trial and reports whether the fault fired.
func runFsyncFailure(t *testing.T, op vfs.Op, n int) bool {
	t.Helper()
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	cfg := testConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 100
	cfg.FlushMessages = 1
	clock := newClock()
	l := openLog(t, fault, cfg, clock)
	fault.AddRule(vfs.Rule{Op: op, After: n, Times: 1, Err: errors.New("EIO")})
	var acked, attempted [][]byte
	for i := range 12 {
		b := buildBatch(batchSpec{records: 1 + i%3, valueSize: 10 + 17*i%60, timestamp: int64(1000 * i)})
		attempted = append(attempted, b)
		if _, err := l.Append(b, true); err != nil {
			if !errors.Is(err, ErrOffline) {
				t.Fatalf("%v #%d: append failed without going offline: %v", op, n, err)
			}
			break
		}
		acked = append(acked, b)
	}
	fired := fault.Injected() > 0
	if fired {
		if _, err := l.Append(buildBatch(batchSpec{records: 1}), true); !errors.Is(err, ErrOffline) {
			t.Fatalf("%v #%d: append after the failure: %v", op, n, err)
		}
	}
	crashed := mem.CrashClone()
	l.Close()
	served := checkServed(t, crashed, cfg, attempted)
	if len(served) < len(acked) || !sameBatches(served[:len(acked)], acked) {
		t.Fatalf("%v #%d: %d batches acknowledged, %d survive the crash", op, n, len(acked), len(served))
	}
	return fired
}

// TestCrashMachineLosesOnlyUnflushed crashes the machine at seeded random
// points of a workload under each flush policy: what survives is a prefix
// of the appended batches that covers everything below FlushedOffset.
func TestCrashMachineLosesOnlyUnflushed(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	policies := []struct {
		name              string
		messages, flushMs int64
	}{
		{"flush.messages=1", 1, math.MaxInt64},
		{"flush.messages=4", 4, math.MaxInt64},
		{"flush.ms=1000", math.MaxInt64, 1000},
		{"never forced", math.MaxInt64, math.MaxInt64},
	}
	for _, policy := range policies {
		for trial := range 40 {
			mem := vfs.NewMem()
			cfg := testConfig()
			cfg.SegmentBytes = 600
			cfg.FlushMessages, cfg.FlushMs = policy.messages, policy.flushMs
			clock := newClock()
			l := openLog(t, mem, cfg, clock)
			var batches [][]byte
			crashAt := rng.IntN(20)
			for i := range crashAt {
				b := buildBatch(batchSpec{records: 1 + i%3, valueSize: rng.IntN(80), timestamp: int64(i)})
				if _, err := l.Append(b, true); err != nil {
					t.Fatal(err)
				}
				batches = append(batches, b)
				if rng.IntN(3) == 0 {
					if err := l.Tick(clock.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)); err != nil {
						t.Fatal(err)
					}
				}
			}
			flushed := l.FlushedOffset()
			if policy.messages == 1 && flushed != l.EndOffset() {
				t.Fatalf("%s: flushed %d of %d", policy.name, flushed, l.EndOffset())
			}
			crashed := mem.CrashClone()
			l.Close()
			served := checkServed(t, crashed, cfg, batches)
			if !sameBatches(served, batches[:len(served)]) {
				t.Fatalf("%s seed %d trial %d: not a prefix", policy.name, seed, trial)
			}
			end := int64(0)
			for _, b := range served {
				h, _ := record.ParseHeader(b)
				end = h.NextOffset()
			}
			if end < flushed {
				t.Fatalf("%s seed %d trial %d: flushed %d, only %d survive", policy.name, seed, trial, flushed, end)
			}
		}
	}
}
