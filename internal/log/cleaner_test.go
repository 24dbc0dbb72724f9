package log

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

func TestCleanKeepsLatestPerKey(t *testing.T) {
	fsys, clock := vfs.NewMem(), newClock()
	l := openCleanerLog(t, fsys, 3, clock)
	ts := clock.Now().UnixMilli()
	appendKeyed(t, l, ts, put("aaa", "a01"), put("bbb", "b01"), put("aaa", "a02"), // segment 0-2
		put("ccc", "c01"), put("bbb", "b02"), put("aaa", "a03"), // segment 3-5
		put("ddd", "d01"), put("ccc", "c02"), put("aaa", "a04")) // active 6-8
	if l.NumSegments() != 3 {
		t.Fatalf("segments %d", l.NumSegments())
	}
	stats := mustClean(t, l, clock.Now(), cleanerTestConfig())
	// Segment 0 loses every record; segment 1 keeps all of its records
	// (ccc at 3 is superseded only in the active segment) and is skipped.
	want := CleanStats{SegmentsCleaned: 1, BytesBefore: smallSegments(t, 3).SegmentBytes, BytesAfter: 0, RecordsRemoved: 3}
	if stats != want {
		t.Fatalf("stats %+v, want %+v", stats, want)
	}
	wantRecords(t, l, 0, "3:ccc=c01", "4:bbb=b02", "5:aaa=a03", "6:ddd=d01", "7:ccc=c02", "8:aaa=a04")
	// Fetch semantics: an offset compacted away reads from the next
	// surviving record.
	for offset := range int64(4) {
		if first := logRecords(t, l, offset)[0].offset; first != 3 {
			t.Fatalf("read from %d starts at %d", offset, first)
		}
	}
	if l.StartOffset() != 0 || l.EndOffset() != 9 {
		t.Fatalf("start %d end %d", l.StartOffset(), l.EndOffset())
	}

	// The active segment's records become cleanable once it is rolled.
	appendKeyed(t, l, ts, put("eee", "e01"))
	stats = mustClean(t, l, clock.Now(), cleanerTestConfig())
	if stats.SegmentsCleaned != 2 || stats.RecordsRemoved != 2 || stats.TombstonesRemoved != 0 {
		t.Fatalf("second pass %+v", stats)
	}
	wantRecords(t, l, 0, "4:bbb=b02", "6:ddd=d01", "7:ccc=c02", "8:aaa=a04", "9:eee=e01")
	if first := logRecords(t, l, 5)[0].offset; first != 6 {
		t.Fatalf("read from 5 starts at %d", first)
	}

	// The cleaned log survives a restart, indexes and offsets intact.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openCleanerLog(t, fsys, 3, clock)
	defer l.Close()
	wantRecords(t, l, 0, "4:bbb=b02", "6:ddd=d01", "7:ccc=c02", "8:aaa=a04", "9:eee=e01")
	res, err := l.Append(keyedBatch(t, ts, record.CompressionNone, -1, put("fff", "f01")), true)
	if err != nil || res.FirstOffset != 10 {
		t.Fatalf("append after reopen: %+v %v", res, err)
	}
	if got := readRaw(t, fsys, testDir+"/"+cleanerCheckpointName); string(got) != "0\n2\n9\n-1\n" {
		t.Fatalf("checkpoint %q", got)
	}
}

func TestCleanIsIdempotent(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 2, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	for i := range 20 {
		appendKeyed(t, l, ts, put(string(rune('a'+i%4))+"00", "v"+string(rune('a'+i))+"0"))
	}
	first := mustClean(t, l, clock.Now(), cleanerTestConfig())
	if first.RecordsRemoved == 0 {
		t.Fatal("first pass removed nothing")
	}
	after := gotStrings(logRecords(t, l, 0))
	for pass := range 4 {
		stats := mustClean(t, l, clock.Now(), cleanerTestConfig())
		if stats.RecordsRemoved != 0 || stats.TombstonesRemoved != 0 {
			t.Fatalf("pass %d removed %+v", pass, stats)
		}
		if have := gotStrings(logRecords(t, l, 0)); !equalStrings(have, after) {
			t.Fatalf("pass %d changed the log: %v, want %v", pass, have, after)
		}
	}
	if stats := mustClean(t, l, clock.Now(), cleanerTestConfig()); stats.SegmentsCleaned != 0 {
		t.Fatalf("a settled log was rewritten: %+v", stats)
	}
	// 20 records, keys cycle over 4: the closed segments hold 0-17, the
	// active one 18-19 (a00, b00 again); the latest of c00 and d00 are 14
	// and 15, of a00 and b00 in the closed part 16 and 17.
	want := []string{"14:c00=vo0", "15:d00=vp0", "16:a00=vq0", "17:b00=vr0", "18:c00=vs0", "19:d00=vt0"}
	if !equalStrings(after, want) {
		t.Fatalf("records %v, want %v", after, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCleanTombstonesAfterDeleteRetention(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 3, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli() - 5000
	appendKeyed(t, l, ts, put("aaa", "a01"), del("aaa"), put("bbb", "b01"), put("ccc", "c01"))
	cfg := cleanerTestConfig()
	t0 := clock.Now()
	stats := mustClean(t, l, t0, cfg)
	if stats.RecordsRemoved != 1 || stats.TombstonesRemoved != 0 {
		t.Fatalf("first pass %+v", stats)
	}
	wantRecords(t, l, 0, "1:aaa=<nil>", "2:bbb=b01", "3:ccc=c01")
	// The tombstone's batch carries the delete horizon (KIP-534), and its
	// record keeps its timestamp.
	batch, _, err := l.BatchAtTimestamp(0)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := record.ParseHeader(batch)
	horizon := t0.UnixMilli() + cfg.DeleteRetentionMs
	if h.BaseOffset != 1 || !hasDeleteHorizon(h) || h.BaseTimestamp != horizon || h.MaxTimestamp != ts {
		t.Fatalf("tombstone batch header %+v, want horizon %d", h, horizon)
	}
	if records := logRecords(t, l, 1); records[0].timestamp != ts {
		t.Fatalf("tombstone timestamp %d, want %d", records[0].timestamp, ts)
	}
	cfg.MinCleanableDirtyRatio = 1
	justBefore := time.UnixMilli(horizon - 1)
	if l.NeedsCleaning(justBefore, cfg) {
		t.Fatal("needs cleaning before the horizon")
	}
	if stats := mustClean(t, l, justBefore, cfg); stats.TombstonesRemoved != 0 || stats.SegmentsCleaned != 0 {
		t.Fatalf("pass before the horizon %+v", stats)
	}
	wantRecords(t, l, 0, "1:aaa=<nil>", "2:bbb=b01", "3:ccc=c01")
	at := time.UnixMilli(horizon)
	if !l.NeedsCleaning(at, cfg) {
		t.Fatal("no cleaning due at the horizon")
	}
	if stats := mustClean(t, l, at, cfg); stats.TombstonesRemoved != 1 || stats.RecordsRemoved != 0 {
		t.Fatalf("pass at the horizon %+v", stats)
	}
	wantRecords(t, l, 0, "2:bbb=b01", "3:ccc=c01")
	if l.NeedsCleaning(at, cfg) {
		t.Fatal("still needs cleaning after the tombstone went")
	}
}

func TestCleanMinCompactionLag(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 3, clock)
	defer l.Close()
	now := clock.Now().UnixMilli()
	appendKeyed(t, l, now-10*60_000, put("aaa", "a01"), put("aaa", "a02"), put("bbb", "b01"))
	appendKeyed(t, l, now-60_000, put("aaa", "a03"), put("bbb", "b02"), put("ccc", "c01"))
	appendKeyed(t, l, now, put("ddd", "d01"))
	cfg := cleanerTestConfig()
	cfg.MinCompactionLagMs = 5 * 60_000
	if stats := mustClean(t, l, clock.Now(), cfg); stats.RecordsRemoved != 1 {
		t.Fatalf("lagged pass %+v", stats)
	}
	wantRecords(t, l, 0, "1:aaa=a02", "2:bbb=b01", "3:aaa=a03", "4:bbb=b02", "5:ccc=c01", "6:ddd=d01")
	cfg.MinCompactionLagMs = 0
	if stats := mustClean(t, l, clock.Now(), cfg); stats.RecordsRemoved != 2 {
		t.Fatalf("unlagged pass %+v", stats)
	}
	wantRecords(t, l, 0, "3:aaa=a03", "4:bbb=b02", "5:ccc=c01", "6:ddd=d01")
}

func TestCleanDirtyRatioAndMaxLag(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 3, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	cfg := cleanerTestConfig()
	cfg.MinCleanableDirtyRatio = 0.5
	if l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("empty log needs cleaning")
	}
	appendKeyed(t, l, ts, put("k00", "v00"), put("k01", "v00"), put("k02", "v00"), put("k03", "v00"),
		put("k04", "v00"), put("k05", "v00"), put("k06", "v00")) // closed: 0-2, 3-5
	if !l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("never-cleaned log does not need cleaning")
	}
	mustClean(t, l, clock.Now(), cfg)
	if l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("clean log needs cleaning")
	}
	appendKeyed(t, l, ts, put("k07", "v00"), put("k08", "v00"), put("k09", "v00")) // closes 6-8: 1/3 dirty
	if l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("dirty ratio 1/3 passes 0.5")
	}
	cfg.MinCleanableDirtyRatio = 0.33
	if !l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("dirty ratio 1/3 does not pass 0.33")
	}
	cfg.MinCleanableDirtyRatio = 0.5
	cfg.MaxCompactionLagMs = 60_000
	if l.NeedsCleaning(clock.Advance(59*time.Second), cfg) {
		t.Fatal("max lag fired early")
	}
	if !l.NeedsCleaning(clock.Advance(time.Second), cfg) {
		t.Fatal("max lag did not fire")
	}
	cfg.MaxCompactionLagMs = math.MaxInt64
	appendKeyed(t, l, ts, put("k10", "v00"), put("k11", "v00"), put("k12", "v00")) // 2/4 dirty
	if !l.NeedsCleaning(clock.Now(), cfg) {
		t.Fatal("dirty ratio 1/2 does not pass 0.5")
	}
}

func TestCleanLeavesActiveSegment(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 100, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	appendKeyed(t, l, ts, put("aaa", "a01"), put("aaa", "a02"), put("aaa", "a03"))
	if stats := mustClean(t, l, clock.Now(), cleanerTestConfig()); stats != (CleanStats{}) {
		t.Fatalf("cleaned the active segment: %+v", stats)
	}
	if l.NeedsCleaning(clock.Now(), cleanerTestConfig()) {
		t.Fatal("only an active segment, yet needs cleaning")
	}
	wantRecords(t, l, 0, "0:aaa=a01", "1:aaa=a02", "2:aaa=a03")
}

func TestCleanPreservesCompression(t *testing.T) {
	clock := newClock()
	cfg := testConfig()
	cfg.SegmentBytes = 1 << 20
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	codecs := []record.Compression{record.CompressionGzip, record.CompressionSnappy, record.CompressionLZ4, record.CompressionZstd, record.CompressionNone}
	for _, c := range codecs {
		if _, err := l.Append(keyedBatch(t, ts, c, -1, put("aaa", "a"+string(rune('0'+c))), put("bbb", "b"+string(rune('0'+c))), put(string(rune('p'+c))+"pp", "u")), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Tick(clock.Advance(8 * 24 * time.Hour)); err != nil { // segment.ms rolls it
		t.Fatal(err)
	}
	appendKeyed(t, l, ts, put("zzz", "z"))
	if stats := mustClean(t, l, clock.Now(), cleanerTestConfig()); stats.RecordsRemoved != 8 {
		t.Fatalf("stats %+v", stats)
	}
	wantRecords(t, l, 0, "2:qpp=u", "5:rpp=u", "8:spp=u", "11:tpp=u", "12:aaa=a0", "13:bbb=b0", "14:ppp=u", "15:zzz=z")
	data := readAll(t, l, 0, math.MaxInt32, math.MaxInt64, true)
	var have []record.Compression
	record.Walk(data, func(batch []byte) error {
		h, _ := record.ParseHeader(batch)
		have = append(have, h.Compression())
		if h.BaseOffset < 15 && h.LastOffsetDelta != 2 {
			t.Errorf("batch %d lost its offset span: delta %d", h.BaseOffset, h.LastOffsetDelta)
		}
		return nil
	})
	if want := append(codecs, record.CompressionNone); !bytes.Equal(codecBytes(have), codecBytes(want)) {
		t.Fatalf("codecs %v, want %v", have, want)
	}
}

func codecBytes(cs []record.Compression) []byte {
	out := make([]byte, len(cs))
	for i, c := range cs {
		out[i] = byte(c)
	}
	return out
}

func TestCleanKeepsProducersLastBatch(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 3, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	for _, b := range [][]byte{
		keyedBatch(t, ts, record.CompressionNone, 7, put("aaa", "p71"), put("bbb", "p72")),  // 0-1: producer 7, superseded, not its last
		keyedBatch(t, ts, record.CompressionNone, 7, put("aaa", "p73"), put("bbb", "p74")),  // 2-3: producer 7's last batch, superseded
		keyedBatch(t, ts, record.CompressionNone, -1, put("aaa", "n01"), put("bbb", "n02")), // 4-5
	} {
		if _, err := l.Append(b, true); err != nil {
			t.Fatal(err)
		}
	}
	appendKeyed(t, l, ts, put("ccc", "c01"), put("ddd", "d01"), put("eee", "e01")) // rolls after 4-5 at some point
	mustClean(t, l, clock.Now(), cleanerTestConfig())
	records := logRecords(t, l, 0)
	if records[0].offset != 3 || records[0].value != "p74" {
		t.Fatalf("producer's last batch not kept: %v", gotStrings(records))
	}
	data := readAll(t, l, 0, math.MaxInt32, math.MaxInt64, true)
	h, _ := record.ParseHeader(data)
	if h.BaseOffset != 2 || h.ProducerID != 7 || h.LastOffsetDelta != 1 || h.RecordCount != 1 {
		t.Fatalf("kept batch header %+v", h)
	}
}

func TestCleanOffsetMapCap(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 2, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	var all []got
	for i := range 30 {
		key := string(rune('a'+i%7)) + "00"
		value := "v" + string(rune('a'+i%26)) + "0"
		appendKeyed(t, l, ts, put(key, value))
		all = append(all, got{offset: int64(i), key: key, value: value})
	}
	cfg := cleanerTestConfig()
	cfg.OffsetMapEntries = 3
	// Seven keys cycle, so each capped pass maps three new records.
	mustClean(t, l, clock.Now(), cfg)
	if position, _ := l.cleanerPosition(); position != 3 {
		t.Fatalf("capped map covered up to %d", position)
	}
	for range 30 {
		if !l.NeedsCleaning(clock.Now(), cfg) {
			break
		}
		mustClean(t, l, clock.Now(), cfg)
	}
	if position, _ := l.cleanerPosition(); position != 28 {
		t.Fatalf("cleaner position %d after repeated passes", position)
	}
	// Closed segments hold 0-27; after full cleaning each key keeps one
	// record there, plus the two active records.
	records := logRecords(t, l, 0)
	if latest := latestValues(records); !equalMaps(latest, latestValues(all)) {
		t.Fatalf("latest values %v, want %v", latest, latestValues(all))
	}
	if len(records) != 7+2 {
		t.Fatalf("records %v", gotStrings(records))
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestCleanClosedLog(t *testing.T) {
	clock := newClock()
	l := openCleanerLog(t, vfs.NewMem(), 1, clock)
	appendKeyed(t, l, 0, put("aaa", "1"), put("aaa", "2"))
	l.Close()
	if _, err := l.Clean(clock.Now(), cleanerTestConfig()); !errors.Is(err, ErrClosed) {
		t.Fatalf("clean after close: %v", err)
	}
	if l.NeedsCleaning(clock.Now(), cleanerTestConfig()) {
		t.Fatal("closed log needs cleaning")
	}
}
