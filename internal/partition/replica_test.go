package partition

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"samsa/internal/vfs"
)

var t0 = time.UnixMilli(5000) // the clock of openTest

func openAt(t *testing.T, fsys vfs.FS, dir string, settings Settings) *Partition {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := Open(fsys, dir, ID{"t", 0}, [16]byte{1}, settings, logger, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustAppend(t *testing.T, p *Partition, b []byte) AppendResult {
	t.Helper()
	res, err := p.AppendRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t *testing.T, info ReadInfo) []byte {
	t.Helper()
	data, err := info.Records.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func logBytes(t *testing.T, p *Partition) []byte {
	t.Helper()
	res, err := p.Log().Read(p.Log().StartOffset(), 1<<30, 1<<62, true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := res.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLeaderHighWatermarkTwoFollowers(t *testing.T) {
	p := openAt(t, vfs.NewMem(), "/l", testSettings())
	p.MakeLeader(1, 0, []int32{1, 2, 3}, []int32{1, 2, 3}, 1)
	mustAppend(t, p, batch(t, -1, -1, -1, "a", "b", "c"))
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark before any follower fetched: %d, want 0", hw)
	}
	steps := []struct {
		replica int32
		offset  int64
		hw      int64
	}{
		{2, 0, 0}, {3, 0, 0}, {2, 3, 0}, {3, 2, 2}, {3, 3, 3}, {3, 1, 3}, // never backwards
	}
	for _, s := range steps {
		if err := p.FollowerFetched(s.replica, s.offset, t0); err != nil {
			t.Fatal(err)
		}
		if hw := p.HighWatermark(); hw != s.hw {
			t.Fatalf("after replica %d fetched at %d: high watermark %d, want %d", s.replica, s.offset, hw, s.hw)
		}
	}
	mustAppend(t, p, batch(t, -1, -1, -1, "d"))
	// Followers read up to the log end, consumers up to the high watermark.
	info, err := p.ReadForFollower(3, 1<<20)
	if err != nil || info.HighWatermark != 3 || info.Records.Size == 0 {
		t.Fatalf("follower read: %+v %v", info, err)
	}
	if got := readAll(t, info); !bytes.Equal(got, logBytes(t, p)[len(logBytes(t, p))-len(got):]) {
		t.Fatalf("follower read is not the log's last batch")
	}
	if info, err := p.Read(3, 1<<20, true); err != nil || info.Records.Size != 0 {
		t.Fatalf("consumer read above the high watermark: %+v %v", info, err)
	}
	if err := p.FollowerFetched(9, 0, t0); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("unknown replica: %v", err)
	}
	if err := p.FollowerFetched(2, 5, t0); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("fetch past the log end: %v", err)
	}
	// A shrink to the leader alone lets the high watermark reach the log end.
	p.ApplyISR([]int32{1}, 1)
	if hw := p.HighWatermark(); hw != 4 {
		t.Fatalf("after the in-sync set shrank to the leader: %d, want 4", hw)
	}
}

func TestSingleReplicaHighWatermarkIsLogEnd(t *testing.T) {
	p := openAt(t, vfs.NewMem(), "/l", testSettings())
	p.MakeLeader(0, 0, []int32{1}, []int32{1}, 1)
	res := mustAppend(t, p, batch(t, -1, -1, -1, "a", "b"))
	if res.BaseOffset != 0 || res.LastOffset != 1 || p.HighWatermark() != 2 {
		t.Fatalf("append %+v, high watermark %d", res, p.HighWatermark())
	}
	if err := p.WaitReplicated(context.Background(), res.LastOffset); err != nil {
		t.Fatal(err)
	}
}

func TestISRChanges(t *testing.T) {
	p := openAt(t, vfs.NewMem(), "/l", testSettings())
	p.MakeLeader(1, 0, []int32{1, 2, 3}, []int32{1, 2}, 1)
	mustAppend(t, p, batch(t, -1, -1, -1, "a", "b", "c")) // log end 3
	lag := 30 * time.Second
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	check := func(now time.Time, wantShrink, wantExpand []int32) {
		t.Helper()
		shrink, expand := p.ISRChanges(now, lag)
		if !slices.Equal(shrink, wantShrink) || !slices.Equal(expand, wantExpand) {
			t.Fatalf("at %v: shrink %v expand %v, want %v %v", now.Sub(t0), shrink, expand, wantShrink, wantExpand)
		}
	}
	check(at(30), nil, nil) // in sync since becoming leader
	check(at(31), []int32{2}, nil)
	// Replica 2 fetches the leader's log end at 10s: caught up then.
	if err := p.FollowerFetched(2, 3, at(10)); err != nil {
		t.Fatal(err)
	}
	check(at(40), nil, nil)
	check(at(41), []int32{2}, nil)
	// At 20s the leader has more; replica 2 fetches from 3, the log end of
	// its previous fetch: it counts as caught up at that previous fetch.
	mustAppend(t, p, batch(t, -1, -1, -1, "d")) // log end 4
	if err := p.FollowerFetched(2, 3, at(20)); err != nil {
		t.Fatal(err)
	}
	check(at(40), nil, nil)
	check(at(41), []int32{2}, nil)
	// At 25s it is still at 3, below the log end of its previous fetch (4).
	if err := p.FollowerFetched(2, 3, at(25)); err != nil {
		t.Fatal(err)
	}
	check(at(41), []int32{2}, nil)
	if hw := p.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark %d, want 3", hw)
	}
	// Replica 3, outside the in-sync set, is proposed once at the high
	// watermark.
	if err := p.FollowerFetched(3, 2, at(26)); err != nil {
		t.Fatal(err)
	}
	check(at(26), nil, nil)
	if err := p.FollowerFetched(3, 3, at(27)); err != nil {
		t.Fatal(err)
	}
	check(at(27), nil, []int32{3})
	p.ApplyISR([]int32{1, 2, 3}, 2)
	p.ApplyISR([]int32{1}, 1) // older partition epoch: ignored
	if isr, epoch := p.ISR(), p.PartitionEpoch(); !slices.Equal(isr, []int32{1, 2, 3}) || epoch != 2 {
		t.Fatalf("ISR %v at partition epoch %d", isr, epoch)
	}
	// Followers make no proposals.
	p.MakeFollower(2, 3, 2, []int32{1, 2, 3})
	check(at(100), nil, nil)
}

// TestISRExpandNeedsCurrentEpoch: a follower joins the in-sync set only
// once it holds everything written before the leader's epoch began.
func TestISRExpandNeedsCurrentEpoch(t *testing.T) {
	p := openAt(t, vfs.NewMem(), "/l", testSettings())
	p.BecomeLeader(0)
	mustAppend(t, p, batch(t, -1, -1, -1, "a", "b")) // log end 2, high watermark 2
	p.MakeLeader(1, 1, []int32{1, 2}, []int32{1}, 1)
	p.mu.Lock()
	p.highWatermark.Store(1) // as if the high watermark lagged the log end
	p.mu.Unlock()
	if err := p.FollowerFetched(2, 1, t0); err != nil {
		t.Fatal(err)
	}
	if _, expand := p.ISRChanges(t0, time.Minute); expand != nil {
		t.Fatalf("expanded with a follower below the epoch start: %v", expand)
	}
	if err := p.FollowerFetched(2, 2, t0); err != nil {
		t.Fatal(err)
	}
	if _, expand := p.ISRChanges(t0, time.Minute); !slices.Equal(expand, []int32{2}) {
		t.Fatalf("expand %v, want [2]", expand)
	}
}

func TestWaitReplicated(t *testing.T) {
	s := testSettings()
	s.MinInsyncReplicas = 2
	p := openAt(t, vfs.NewMem(), "/l", s)
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	res := mustAppend(t, p, batch(t, -1, -1, -1, "a", "b"))

	done := make(chan error, 1)
	go func() { done <- p.WaitReplicated(context.Background(), res.LastOffset) }()
	if err := p.FollowerFetched(2, 1, t0); err != nil { // not yet past offset 1
		t.Fatal(err)
	}
	if err := p.FollowerFetched(2, 2, t0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("replicated: %v", err)
	}

	res = mustAppend(t, p, batch(t, -1, -1, -1, "c"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := p.WaitReplicated(ctx, res.LastOffset); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}

	// The in-sync set shrinks below min.insync.replicas while waiting.
	go func() { done <- p.WaitReplicated(context.Background(), res.LastOffset) }()
	p.ApplyISR([]int32{1}, 1)
	if err := <-done; !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("after shrink: %v", err)
	}

	// Losing leadership while waiting.
	p.ApplyISR([]int32{1, 2}, 2)
	res = mustAppend(t, p, batch(t, -1, -1, -1, "d"))
	go func() { done <- p.WaitReplicated(context.Background(), res.LastOffset) }()
	p.MakeFollower(2, 2, 2, []int32{1, 2})
	if err := <-done; !errors.Is(err, ErrNotLeader) {
		t.Fatalf("after losing leadership: %v", err)
	}
}

func TestNotEnoughReplicas(t *testing.T) {
	s := testSettings()
	s.MinInsyncReplicas = 2
	p := openAt(t, vfs.NewMem(), "/l", s)
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1}, 1)
	if _, err := p.AppendRecordsAcks(batch(t, -1, -1, -1, "a"), -1); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=all with one in-sync replica: %v", err)
	}
	if end := p.Log().EndOffset(); end != 0 {
		t.Fatalf("appended %d records despite NOT_ENOUGH_REPLICAS", end)
	}
	if res, err := p.AppendRecordsAcks(batch(t, -1, -1, -1, "a"), 1); err != nil || res.BaseOffset != 0 {
		t.Fatalf("acks=1: %+v %v", res, err)
	}
	p.ApplyISR([]int32{1, 2}, 1)
	if res, err := p.AppendRecordsAcks(batch(t, -1, -1, -1, "b"), -1); err != nil || res.BaseOffset != 1 {
		t.Fatalf("acks=all with two in-sync replicas: %+v %v", res, err)
	}
}

// TestReopenedReplicaDoesNotTrustItsLogEnd: after a restart the log end
// may hold uncommitted records; only a sole leader exposes them.
func TestReopenedReplicaDoesNotTrustItsLogEnd(t *testing.T) {
	fsys := vfs.NewMem()
	p := openAt(t, fsys, "/l", testSettings())
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1}, 1)
	mustAppend(t, p, batch(t, -1, -1, -1, "a", "b"))
	p.Close()

	p = openAt(t, fsys, "/l", testSettings())
	p.MakeLeader(2, 1, []int32{1, 2}, []int32{1, 2}, 1)
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("leader with a follower in sync after reopen: high watermark %d, want 0", hw)
	}
	if err := p.FollowerFetched(2, 2, t0); err != nil || p.HighWatermark() != 2 {
		t.Fatalf("after the follower fetched: %d %v", p.HighWatermark(), err)
	}
	p.Close()

	p = openAt(t, fsys, "/l", testSettings())
	p.MakeFollower(2, 1, 2, []int32{1, 2})
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("follower after reopen: high watermark %d, want 0", hw)
	}
	p.SetFollowerHighWatermark(1)
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("follower high watermark %d, want 1 from the leader", hw)
	}
	p.Close()

	p = openAt(t, fsys, "/l", testSettings())
	p.MakeLeader(3, 2, []int32{1}, []int32{1}, 1)
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("sole leader after reopen: high watermark %d, want 2", hw)
	}
}

// woken reports whether ch received a wake-up.
func woken(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWatchForWakesOnlyOnItsChange(t *testing.T) {
	p := openAt(t, vfs.NewMem(), "/l", testSettings())
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	if err := p.FollowerFetched(2, 0, t0); err != nil {
		t.Fatal(err)
	}
	appends, committed := make(chan struct{}, 1), make(chan struct{}, 1)
	p.WatchFor(appends, WakeOnAppend)
	p.WatchFor(committed, WakeOnHighWatermark)
	mustAppend(t, p, batch(t, -1, -1, -1, "a"))
	if !woken(appends) {
		t.Fatal("an append did not wake a WakeOnAppend watcher")
	}
	if woken(committed) {
		t.Fatal("an uncommitted append woke a WakeOnHighWatermark watcher")
	}
	p.WatchFor(appends, WakeOnAppend)
	if err := p.FollowerFetched(2, 1, t0); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("high watermark %d, want 1", hw)
	}
	if !woken(committed) {
		t.Fatal("the high watermark moved without waking a WakeOnHighWatermark watcher")
	}
	if woken(appends) {
		t.Fatal("a high watermark move woke a WakeOnAppend watcher")
	}
	p.MakeFollower(2, 1, 2, []int32{1, 2})
	if !woken(appends) {
		t.Fatal("losing leadership did not wake every watcher")
	}
	p.Unwatch(appends)
}

func TestAwaitReplicated(t *testing.T) {
	s := testSettings()
	s.MinInsyncReplicas = 2
	p := openAt(t, vfs.NewMem(), "/l", s)
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	res := mustAppend(t, p, batch(t, -1, -1, -1, "a", "b"))

	var ends []error
	record := func(err error) { ends = append(ends, err) } // runs on this goroutine: every call below is synchronous
	w := p.AwaitReplicated(res.LastOffset, record)
	if err := p.FollowerFetched(2, 1, t0); err != nil { // not yet past offset 1
		t.Fatal(err)
	}
	if len(ends) != 0 {
		t.Fatalf("ended before the high watermark passed offset 1: %v", ends)
	}
	if err := p.FollowerFetched(2, 2, t0); err != nil {
		t.Fatal(err)
	}
	if len(ends) != 1 || ends[0] != nil {
		t.Fatalf("after the follower fetched at 2: %v, want one nil", ends)
	}
	if p.CancelAwait(w) {
		t.Fatal("CancelAwait succeeded after the wait ended")
	}

	// Already replicated: done runs before AwaitReplicated returns.
	p.AwaitReplicated(res.LastOffset, record)
	if len(ends) != 2 || ends[1] != nil {
		t.Fatalf("already replicated: %v", ends)
	}

	// Cancelled: done never runs.
	res = mustAppend(t, p, batch(t, -1, -1, -1, "c"))
	w = p.AwaitReplicated(res.LastOffset, record)
	if !p.CancelAwait(w) {
		t.Fatal("CancelAwait failed on a pending wait")
	}
	if err := p.FollowerFetched(2, 3, t0); err != nil {
		t.Fatal(err)
	}
	if len(ends) != 2 {
		t.Fatalf("a cancelled wait ended: %v", ends)
	}

	// The in-sync set shrinks below min.insync.replicas while waiting.
	res = mustAppend(t, p, batch(t, -1, -1, -1, "d"))
	p.AwaitReplicated(res.LastOffset, record)
	p.ApplyISR([]int32{1}, 1)
	if len(ends) != 3 || !errors.Is(ends[2], ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("after shrink: %v", ends)
	}

	// Losing leadership while waiting.
	p.ApplyISR([]int32{1, 2}, 2)
	res = mustAppend(t, p, batch(t, -1, -1, -1, "e"))
	p.AwaitReplicated(res.LastOffset, record)
	p.MakeFollower(2, 2, 2, []int32{1, 2})
	if len(ends) != 4 || !errors.Is(ends[3], ErrNotLeader) {
		t.Fatalf("after losing leadership: %v", ends)
	}
}
