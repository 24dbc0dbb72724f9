package producerstate

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"samsa/internal/record"
)

// batch returns the header of a batch of count records.
func batch(pid int64, epoch int16, firstSeq int32, count int32, baseOffset, timestamp int64) *record.Header {
	return &record.Header{
		BaseOffset:      baseOffset,
		Magic:           2,
		LastOffsetDelta: count - 1,
		BaseTimestamp:   timestamp,
		MaxTimestamp:    timestamp,
		ProducerID:      pid,
		ProducerEpoch:   epoch,
		BaseSequence:    firstSeq,
		RecordCount:     count,
	}
}

// appendChecked runs Check and, when accepted, Apply, as the partition does.
func appendChecked(t *testing.T, m *Manager, h *record.Header) {
	t.Helper()
	dup, err := m.Check(h)
	if err != nil || dup != nil {
		t.Fatalf("Check(seq %d epoch %d) = %v, %v", h.BaseSequence, h.ProducerEpoch, dup, err)
	}
	m.Apply(h)
}

func TestDuplicateOfEachOfLastFive(t *testing.T) {
	m := NewManager()
	// Seven batches of 3 records: sequences 0-2, 3-5, ... 18-20.
	for i := range int32(7) {
		appendChecked(t, m, batch(1, 0, 3*i, 3, int64(100+10*i), int64(1000+i)))
	}
	for i := range int32(7) {
		dup, err := m.Check(batch(1, 0, 3*i, 3, -1, 0))
		if i < 2 {
			// Evicted: a retry of an old batch is out of order.
			if dup != nil || !errors.Is(err, ErrOutOfOrderSequence) {
				t.Errorf("batch %d: %v %v, want out of order", i, dup, err)
			}
			continue
		}
		want := BatchMeta{FirstSeq: 3 * i, LastSeq: 3*i + 2, FirstOffset: int64(100 + 10*i), LastOffset: int64(102 + 10*i), Timestamp: int64(1000 + i)}
		if err != nil || dup == nil || *dup != want {
			t.Errorf("batch %d: %+v %v, want %+v", i, dup, err, want)
		}
	}
	// Same first sequence but a different length is no duplicate.
	if dup, err := m.Check(batch(1, 0, 18, 2, -1, 0)); dup != nil || !errors.Is(err, ErrOutOfOrderSequence) {
		t.Errorf("partial overlap: %v %v", dup, err)
	}
	// A different epoch never matches old batches.
	if dup, err := m.Check(batch(1, 1, 18, 3, -1, 0)); dup != nil || !errors.Is(err, ErrOutOfOrderSequence) {
		t.Errorf("duplicate under new epoch: %v %v", dup, err)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d", m.Len())
	}
	state, _ := m.Producer(1)
	if len(state.Batches) != MaxBatches || state.Batches[0].FirstSeq != 6 {
		t.Errorf("kept batches: %+v", state.Batches)
	}
}

func TestOutOfOrder(t *testing.T) {
	m := NewManager()
	appendChecked(t, m, batch(7, 2, 0, 5, 0, 10))
	for _, seq := range []int32{4, 6, 100, -1, 1} {
		if _, err := m.Check(batch(7, 2, seq, 1, 0, 10)); !errors.Is(err, ErrOutOfOrderSequence) {
			t.Errorf("seq %d: %v", seq, err)
		}
	}
	appendChecked(t, m, batch(7, 2, 5, 1, 5, 10))
}

func TestUnknownProducerAcceptsAnySequence(t *testing.T) {
	m := NewManager()
	appendChecked(t, m, batch(3, 4, 12345, 2, 0, 10))
	appendChecked(t, m, batch(3, 4, 12347, 1, 2, 10))
}

func TestEpochBumpAndFencing(t *testing.T) {
	m := NewManager()
	appendChecked(t, m, batch(9, 5, 0, 10, 0, 1))
	// New epoch must restart at 0.
	if _, err := m.Check(batch(9, 6, 10, 1, 0, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Errorf("new epoch at 10: %v", err)
	}
	appendChecked(t, m, batch(9, 6, 0, 1, 10, 2))
	// The old epoch is fenced, even for what was a duplicate.
	for _, seq := range []int32{0, 10} {
		if dup, err := m.Check(batch(9, 5, seq, 10, 0, 1)); dup != nil || !errors.Is(err, ErrInvalidProducerEpoch) {
			t.Errorf("old epoch seq %d: %v %v", seq, dup, err)
		}
	}
	state, ok := m.Producer(9)
	if !ok || state.Epoch != 6 || len(state.Batches) != 1 || state.Batches[0].FirstOffset != 10 {
		t.Errorf("state after bump: %+v", state)
	}
	// A control batch with the current epoch passes; with an old one not.
	marker := batch(9, 6, record.NoSequence, 1, 11, 3)
	marker.Attributes = record.ControlBit | record.TransactionalBit
	if dup, err := m.Check(marker); dup != nil || err != nil {
		t.Errorf("marker: %v %v", dup, err)
	}
	m.Apply(marker)
	marker.ProducerEpoch = 5
	if _, err := m.Check(marker); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Errorf("stale marker: %v", err)
	}
	state, _ = m.Producer(9)
	if len(state.Batches) != 1 || state.LastTimestamp != 3 {
		t.Errorf("marker changed batches: %+v", state)
	}
}

func TestSequenceWrap(t *testing.T) {
	m := NewManager()
	// A batch ending exactly at MaxInt32, then one starting at 0.
	appendChecked(t, m, batch(2, 0, math.MaxInt32-2, 3, 0, 1))
	appendChecked(t, m, batch(2, 0, 0, 2, 3, 1))
	// A batch that wraps inside: MaxInt32-1 .. 1.
	m = NewManager()
	appendChecked(t, m, batch(2, 0, 0, 1, 0, 1))
	m.producers[2].batches[0].LastSeq = math.MaxInt32 - 2
	wrapping := batch(2, 0, math.MaxInt32-1, 4, 1, 1)
	appendChecked(t, m, wrapping)
	state, _ := m.Producer(2)
	if last := state.Batches[1].LastSeq; last != 1 {
		t.Fatalf("wrapped last sequence %d", last)
	}
	if dup, err := m.Check(batch(2, 0, math.MaxInt32-1, 4, -1, 1)); err != nil || dup == nil || dup.FirstOffset != 1 {
		t.Fatalf("wrapped duplicate: %v %v", dup, err)
	}
	appendChecked(t, m, batch(2, 0, 2, 1, 5, 1))
}

func TestTruncateAndExpire(t *testing.T) {
	m := NewManager()
	appendChecked(t, m, batch(1, 0, 0, 2, 0, 100))
	appendChecked(t, m, batch(1, 0, 2, 2, 2, 200))
	appendChecked(t, m, batch(2, 0, 0, 2, 4, 300))
	m.TruncateFrom(3)
	if m.Len() != 1 {
		t.Fatalf("Len after truncate = %d", m.Len())
	}
	state, _ := m.Producer(1)
	if len(state.Batches) != 1 || state.Batches[0].LastOffset != 1 {
		t.Fatalf("after truncate: %+v", state)
	}
	// The truncated batch may now be appended again.
	appendChecked(t, m, batch(1, 0, 2, 2, 2, 250))
	appendChecked(t, m, batch(5, 0, 0, 1, 4, 1000))
	if n := m.Expire(1100, 100); n != 1 || m.Len() != 1 {
		t.Fatalf("Expire removed %d, Len %d", n, m.Len())
	}
	if _, ok := m.Producer(5); !ok {
		t.Fatal("recent producer expired")
	}
	if n := m.Expire(1101, 100); n != 1 || m.Len() != 0 {
		t.Fatalf("second Expire removed %d, Len %d", n, m.Len())
	}
}

func snapshotManager(t *testing.T) *Manager {
	m := NewManager()
	for i := range int32(7) {
		appendChecked(t, m, batch(11, 3, 2*i, 2, int64(40+2*i), int64(500+i)))
	}
	appendChecked(t, m, batch(4, 0, 0, 1, 100, 900))
	marker := batch(6, 1, record.NoSequence, 1, 101, 950)
	marker.Attributes = record.ControlBit
	m.Apply(marker)
	return m
}

func TestSnapshotRoundTrip(t *testing.T) {
	m := snapshotManager(t)
	var buf bytes.Buffer
	if err := m.WriteSnapshot(&buf, 102); err != nil {
		t.Fatal(err)
	}
	again, lastOffset, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), 0)
	if err != nil || lastOffset != 102 || again.Len() != 3 {
		t.Fatalf("ReadSnapshot: %v, %d, %d producers", err, lastOffset, again.Len())
	}
	for _, pid := range []int64{4, 6, 11} {
		want, _ := m.Producer(pid)
		got, ok := again.Producer(pid)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("producer %d: %+v, want %+v", pid, got, want)
		}
	}
	// Duplicate detection survives the restart.
	if dup, err := again.Check(batch(11, 3, 12, 2, -1, 0)); err != nil || dup == nil || dup.FirstOffset != 52 {
		t.Fatalf("dup after restore: %v %v", dup, err)
	}
	// Writing is deterministic.
	var second bytes.Buffer
	if err := again.WriteSnapshot(&second, 102); err != nil || !bytes.Equal(second.Bytes(), buf.Bytes()) {
		t.Fatalf("rewritten snapshot differs: %v", err)
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := snapshotManager(t).WriteSnapshot(&buf, 7); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for pos := range good {
		bad := append([]byte{}, good...)
		bad[pos] ^= 0x10
		if _, _, err := ReadSnapshot(bytes.NewReader(bad), 0); !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("flip at %d: %v", pos, err)
		}
	}
	for _, n := range []int{0, 3, snapshotHeaderSize, len(good) - 1} {
		if _, _, err := ReadSnapshot(bytes.NewReader(good[:n]), 0); !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	if _, _, err := ReadSnapshot(bytes.NewReader(good), len(good)-1); !errors.Is(err, record.ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
}

func FuzzReadSnapshot(f *testing.F) {
	var buf bytes.Buffer
	m := NewManager()
	m.Apply(batch(1, 0, 0, 3, 0, 5))
	if err := m.WriteSnapshot(&buf, 3); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("SPST"))
	f.Add(buf.Bytes()[snapshotHeaderSize:])
	f.Fuzz(func(t *testing.T, data []byte) {
		// The body parser sees arbitrary bytes past the checksum too.
		if _, _, err := parseSnapshotBody(data); err != nil && !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("body: unexpected error %v", err)
		}
		restored, _, err := ReadSnapshot(bytes.NewReader(data), 1<<16)
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) && !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := restored.WriteSnapshot(&out, 0); err != nil {
			t.Fatal(err)
		}
	})
}
