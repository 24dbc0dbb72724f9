package partition

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"samsa/internal/log"
	"samsa/internal/producerstate"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

func testSettings() Settings {
	return Settings{Log: log.DefaultConfig(), MaxMessageBytes: 1 << 20, Compression: "producer"}
}

func batch(t *testing.T, pid int64, epoch int16, seq int32, values ...string) []byte {
	t.Helper()
	h := record.Header{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: 1000, MaxTimestamp: 1000}
	var recs []record.Record
	for i, v := range values {
		recs = append(recs, record.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: []byte("k"), Value: []byte(v)})
	}
	b, err := record.BuildBatch(h, recs, record.CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openTest(t *testing.T, fsys vfs.FS) *Partition {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := Open(fsys, "/data/t-0", ID{"t", 0}, [16]byte{1}, testSettings(), logger, func() time.Time { return time.UnixMilli(5000) })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppendIdempotentAndRead(t *testing.T) {
	fsys := vfs.NewMem()
	p := openTest(t, fsys)
	if _, err := p.AppendRecords(batch(t, -1, -1, -1, "a")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("append as follower: got %v, want ErrNotLeader", err)
	}
	p.BecomeLeader(3)
	res, err := p.AppendRecords(batch(t, 7, 0, 0, "a", "b"))
	if err != nil || res.BaseOffset != 0 || res.Duplicate {
		t.Fatalf("first append: %+v %v", res, err)
	}
	res, err = p.AppendRecords(batch(t, 7, 0, 2, "c"))
	if err != nil || res.BaseOffset != 2 {
		t.Fatalf("second append: %+v %v", res, err)
	}
	// A retry of the first batch is answered with its original offset.
	res, err = p.AppendRecords(batch(t, 7, 0, 0, "a", "b"))
	if err != nil || res.BaseOffset != 0 || !res.Duplicate {
		t.Fatalf("duplicate: %+v %v", res, err)
	}
	if _, err := p.AppendRecords(batch(t, 7, 0, 9, "x")); !errors.Is(err, producerstate.ErrOutOfOrderSequence) {
		t.Fatalf("gap: got %v", err)
	}
	if hw := p.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark %d, want 3", hw)
	}
	info, err := p.Read(1, 1<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := info.Records.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Reading from offset 1 returns the whole first batch (0-1) and the second.
	var got []string
	var epochs []int32
	record.Walk(data, func(b []byte) error {
		h, recs, err := record.Records(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, h.PartitionLeaderEpoch)
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
		return nil
	})
	if want := []string{"a", "b", "c"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("read %q, want %q", got, want)
	}
	if epochs[0] != 3 || epochs[1] != 3 {
		t.Fatalf("leader epochs %v, want 3", epochs)
	}
	if e, off := p.EndOffsetForEpoch(3); e != 3 || off != 3 {
		t.Fatalf("EndOffsetForEpoch(3) = %d, %d", e, off)
	}
}

func TestProducerStateSurvivesReopen(t *testing.T) {
	fsys := vfs.NewMem()
	p := openTest(t, fsys)
	p.BecomeLeader(0)
	if _, err := p.AppendRecords(batch(t, 9, 0, 0, "a")); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteSnapshot(fsys, "/data/t-0"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendRecords(batch(t, 9, 0, 1, "b")); err != nil {
		t.Fatal(err)
	}
	p.Close()
	// Reopen: snapshot (through offset 0) plus the header after it.
	p = openTest(t, fsys)
	p.BecomeLeader(0)
	res, err := p.AppendRecords(batch(t, 9, 0, 1, "b"))
	if err != nil || !res.Duplicate || res.BaseOffset != 1 {
		t.Fatalf("retry after reopen: %+v %v", res, err)
	}
	res, err = p.AppendRecords(batch(t, 9, 0, 2, "c"))
	if err != nil || res.BaseOffset != 2 {
		t.Fatalf("next after reopen: %+v %v", res, err)
	}
}

func TestListOffsets(t *testing.T) {
	p := openTest(t, vfs.NewMem())
	p.BecomeLeader(0)
	p.AppendRecords(batch(t, -1, -1, -1, "a", "b", "c")) // timestamps 1000, 1001, 1002
	cases := []struct {
		ts         int64
		off, stamp int64
		found      bool
	}{
		{LatestTimestamp, 3, -1, true},
		{EarliestTimestamp, 0, -1, true},
		{MaxTimestamp, 2, 1002, true},
		{1001, 1, 1001, true},
		{999, 0, 1000, true},
		{1003, -1, -1, false},
	}
	for _, c := range cases {
		off, stamp, found, err := p.OffsetForTimestamp(c.ts)
		if err != nil || off != c.off || stamp != c.stamp || found != c.found {
			t.Errorf("ts %d: got %d %d %v %v, want %d %d %v", c.ts, off, stamp, found, err, c.off, c.stamp, c.found)
		}
	}
}

func TestRejectsBadBatches(t *testing.T) {
	p := openTest(t, vfs.NewMem())
	p.BecomeLeader(0)
	b := batch(t, -1, -1, -1, "a")
	b[len(b)-1] ^= 0xff
	if _, err := p.AppendRecords(b); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("bad CRC: %v", err)
	}
	s := testSettings()
	s.MaxMessageBytes = 10
	p.SetSettings(s)
	if _, err := p.AppendRecords(batch(t, -1, -1, -1, "a")); !errors.Is(err, record.ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	s = testSettings()
	s.Compact = true
	p.SetSettings(s)
	h := record.Header{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	nokey, _ := record.BuildBatch(h, []record.Record{{Value: []byte("v")}}, record.CompressionNone)
	if _, err := p.AppendRecords(nokey); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("compacted without key: %v", err)
	}
	if p.Log().EndOffset() != 0 {
		t.Fatalf("rejected batches were appended")
	}
}
