package partition

import (
	"bytes"
	"errors"
	"testing"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// replicate copies everything the leader has from the follower's log end.
func replicate(t *testing.T, leader, follower *Partition) {
	t.Helper()
	info, err := leader.ReadForFollower(follower.Log().EndOffset(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if data := readAll(t, info); len(data) > 0 {
		if err := follower.AppendAsFollower(data); err != nil {
			t.Fatal(err)
		}
	}
	follower.SetFollowerHighWatermark(info.HighWatermark)
}

func TestAppendAsFollowerKeepsOffsetsAndEpochs(t *testing.T) {
	fsys := vfs.NewMem()
	leader := openAt(t, fsys, "/leader", testSettings())
	follower := openAt(t, fsys, "/follower", testSettings())
	leader.BecomeLeader(2)
	mustAppend(t, leader, batch(t, 7, 0, 0, "a", "b"))
	leader.BecomeLeader(4)
	mustAppend(t, leader, batch(t, 7, 0, 2, "c"))
	follower.MakeFollower(4, 0, 1, []int32{1, 2})
	replicate(t, leader, follower)
	if !bytes.Equal(logBytes(t, follower), logBytes(t, leader)) {
		t.Fatal("follower log differs from the leader's")
	}
	if e, off := follower.Log().EndOffsetForEpoch(2); e != 2 || off != 2 {
		t.Fatalf("follower epoch 2 ends at %d (epoch %d), want 2", off, e)
	}
	if e := follower.Log().LatestEpoch(); e != 4 {
		t.Fatalf("follower latest epoch %d, want 4", e)
	}
	if hw := follower.HighWatermark(); hw != 3 {
		t.Fatalf("follower high watermark %d, want 3", hw)
	}
	follower.SetFollowerHighWatermark(100)
	if hw := follower.HighWatermark(); hw != 3 {
		t.Fatalf("follower high watermark above its log end: %d", hw)
	}
	// The same batches again are skipped, not appended twice.
	all := logBytes(t, leader)
	if err := follower.AppendAsFollower(all); err != nil || follower.Log().EndOffset() != 3 {
		t.Fatalf("re-append: end %d, %v", follower.Log().EndOffset(), err)
	}
	if err := leader.AppendAsFollower(all); !errors.Is(err, ErrNotFollower) {
		t.Fatalf("append as follower on the leader: %v", err)
	}
	bad := bytes.Clone(all)
	bad[len(bad)-1] ^= 1
	follower.TruncateTo(0)
	if err := follower.AppendAsFollower(bad); !errors.Is(err, record.ErrCorrupt) || follower.Log().EndOffset() != 0 {
		t.Fatalf("corrupt replicated batch: %v, end %d", err, follower.Log().EndOffset())
	}
	// The follower's producer state came from the headers: as leader it
	// answers a retry as a duplicate.
	replicate(t, leader, follower)
	follower.MakeLeader(5, 1, []int32{2}, []int32{2}, 2)
	res, err := follower.AppendRecords(batch(t, 7, 0, 2, "c"))
	if err != nil || !res.Duplicate || res.BaseOffset != 2 {
		t.Fatalf("retry on the new leader: %+v %v", res, err)
	}
}

func TestTruncateRestoresProducerState(t *testing.T) {
	fsys := vfs.NewMem()
	leader := openAt(t, fsys, "/leader", testSettings())
	follower := openAt(t, fsys, "/follower", testSettings())
	leader.BecomeLeader(1)
	mustAppend(t, leader, batch(t, 7, 0, 0, "a", "b")) // 0-1
	mustAppend(t, leader, batch(t, 7, 0, 2, "c"))      // 2
	mustAppend(t, leader, batch(t, 8, 0, 0, "x"))      // 3
	mustAppend(t, leader, batch(t, 7, 1, 0, "d"))      // 4, producer 7 bumps its epoch
	follower.MakeFollower(1, 0, 1, []int32{1, 2})
	replicate(t, leader, follower)
	if err := follower.WriteSnapshot(fsys, "/follower"); err != nil { // through offset 4
		t.Fatal(err)
	}
	if err := follower.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	if end, hw := follower.Log().EndOffset(), follower.HighWatermark(); end != 2 || hw != 2 {
		t.Fatalf("after truncation: end %d, high watermark %d", end, hw)
	}
	if _, err := fsys.Stat("/follower/producer.snapshot"); err == nil {
		t.Fatal("a producer snapshot past the truncation survived")
	}
	follower.MakeLeader(2, 1, []int32{2}, []int32{2}, 2)
	// Producer 7 is back at epoch 0 after sequence 1; producer 8 is unknown.
	res, err := follower.AppendRecords(batch(t, 7, 0, 0, "a", "b"))
	if err != nil || !res.Duplicate || res.BaseOffset != 0 {
		t.Fatalf("retry of a kept batch: %+v %v", res, err)
	}
	res, err = follower.AppendRecords(batch(t, 7, 0, 2, "c"))
	if err != nil || res.Duplicate || res.BaseOffset != 2 {
		t.Fatalf("retry of a truncated batch: %+v %v", res, err)
	}
	res, err = follower.AppendRecords(batch(t, 8, 0, 0, "x"))
	if err != nil || res.Duplicate || res.BaseOffset != 3 {
		t.Fatalf("producer 8's truncated batch again: %+v %v", res, err)
	}
	if err := follower.TruncateTo(0); !errors.Is(err, ErrNotFollower) {
		t.Fatalf("truncating the leader: %v", err)
	}
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	fsys := vfs.NewMem()
	p := openAt(t, fsys, "/p", testSettings())
	p.BecomeLeader(1)
	mustAppend(t, p, batch(t, 7, 0, 0, "a", "b"))
	p.MakeFollower(2, 0, 2, []int32{1, 2})
	if err := p.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if start, end, hw := p.Log().StartOffset(), p.Log().EndOffset(), p.HighWatermark(); start != 100 || end != 100 || hw != 100 {
		t.Fatalf("start %d end %d high watermark %d, want 100", start, end, hw)
	}
	b := batch(t, 7, 0, 5, "z")
	record.SetBaseOffset(b, 100)
	if err := p.AppendAsFollower(b); err != nil || p.Log().EndOffset() != 101 {
		t.Fatalf("append at the new start: %v, end %d", err, p.Log().EndOffset())
	}
	if err := p.SetFollowerLogStartOffset(101); err != nil || p.Log().StartOffset() != 100 {
		t.Fatalf("log start moved above the high watermark: %v %d", err, p.Log().StartOffset())
	}
	p.SetFollowerHighWatermark(101)
	if err := p.SetFollowerLogStartOffset(101); err != nil || p.Log().StartOffset() != 101 {
		t.Fatalf("log start: %v %d", err, p.Log().StartOffset())
	}
}
