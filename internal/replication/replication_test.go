package replication

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

var testConfig = Config{FetchMaxWait: 50 * time.Millisecond, RetryBackoff: 20 * time.Millisecond}

func settings() partition.Settings {
	return partition.Settings{Log: log.DefaultConfig(), MaxMessageBytes: 1 << 20, Compression: "producer", MinInsyncReplicas: 1}
}

func open(t *testing.T, fsys vfs.FS, dir string, id partition.ID) *partition.Partition {
	t.Helper()
	p, err := partition.Open(fsys, dir, id, [16]byte{7}, settings(), testLogger, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func batch(t *testing.T, pid int64, seq int32, values ...string) []byte {
	t.Helper()
	h := record.Header{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq, BaseTimestamp: 1000, MaxTimestamp: 1000}
	if pid < 0 {
		h.ProducerEpoch, h.BaseSequence = -1, -1
	}
	var recs []record.Record
	for i, v := range values {
		recs = append(recs, record.Record{OffsetDelta: int32(i), Key: []byte("k"), Value: []byte(v)})
	}
	b, err := record.BuildBatch(h, recs, record.CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func produce(t *testing.T, p *partition.Partition, values ...string) {
	t.Helper()
	for _, v := range values {
		if _, err := p.AppendRecords(batch(t, -1, -1, v)); err != nil {
			t.Fatal(err)
		}
	}
}

func logBytes(t *testing.T, p *partition.Partition) []byte {
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

// poll waits, bounded, until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func identical(t *testing.T, a, b *partition.Partition) func() bool {
	return func() bool {
		return a.Log().EndOffset() == b.Log().EndOffset() && a.HighWatermark() == b.HighWatermark() &&
			bytes.Equal(logBytes(t, a), logBytes(t, b))
	}
}

// checkNoLeak fails if goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		poll(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	})
}

func TestFollowerCatchesUp(t *testing.T) {
	checkNoLeak(t)
	fsys := vfs.NewMem()
	id := partition.ID{Topic: "t", Partition: 0}
	leader, follower := open(t, fsys, "/b1/t-0", id), open(t, fsys, "/b2/t-0", id)
	leader.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	follower.MakeFollower(1, 0, 1, []int32{1, 2})
	for i := int32(0); i < 5; i++ {
		if _, err := leader.AppendRecords(batch(t, 9, i*2, "a", "b")); err != nil {
			t.Fatal(err)
		}
	}
	if hw := leader.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d before the follower fetched", hw)
	}
	client := newMemClient()
	client.host(1, leader)
	m := NewManager(2, client, testLogger, testConfig)
	defer m.Close()
	m.Follow(follower, 1, 1)
	// The leader learns the follower has everything from its next fetch,
	// and the follower learns the new high watermark from the answer.
	poll(t, "the leader's high watermark to reach 10", func() bool { return leader.HighWatermark() == 10 })
	poll(t, "the follower to catch up", identical(t, leader, follower))
	produce(t, leader, "c", "d")
	poll(t, "the follower to catch up again", identical(t, leader, follower))
	if e := follower.Log().LatestEpoch(); e != 1 {
		t.Fatalf("follower epoch %d, want 1", e)
	}
	m.Follow(follower, 1, 1) // the same again: nothing changes
	if l, ok := m.Following(follower); !ok || l != 1 {
		t.Fatalf("following %d %v", l, ok)
	}
}

// TestLeaderChangeTruncatesDivergentTail: broker 1 leads at epoch 1 and
// writes records broker 2 never gets; broker 2 becomes leader at epoch 2
// and writes others. Broker 1, now following, drops its tail and ends
// byte-identical to broker 2.
func TestLeaderChangeTruncatesDivergentTail(t *testing.T) {
	checkNoLeak(t)
	fsys := vfs.NewMem()
	id := partition.ID{Topic: "t", Partition: 0}
	a, b := open(t, fsys, "/b1/t-0", id), open(t, fsys, "/b2/t-0", id)
	client := newMemClient()
	client.host(1, a)
	client.host(2, b)
	onA, onB := NewManager(1, client, testLogger, testConfig), NewManager(2, client, testLogger, testConfig)
	defer onA.Close()
	defer onB.Close()

	a.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	b.MakeFollower(1, 0, 1, []int32{1, 2})
	onB.Follow(b, 1, 1)
	produce(t, a, "r0", "r1", "r2")
	poll(t, "b to replicate", identical(t, a, b))
	onB.Unfollow(b)
	produce(t, a, "lost1", "lost2") // only on a, never committed
	if a.Log().EndOffset() != 5 || a.HighWatermark() != 3 {
		t.Fatalf("a: end %d high watermark %d", a.Log().EndOffset(), a.HighWatermark())
	}

	b.MakeLeader(2, 1, []int32{1, 2}, []int32{1, 2}, 2)
	produce(t, b, "n3")
	a.MakeFollower(2, 1, 2, []int32{1, 2})
	onA.Follow(a, 2, 2)
	poll(t, "a to match b", identical(t, a, b))
	if e, end := a.Log().EndOffsetForEpoch(1); e != 1 || end != 3 {
		t.Fatalf("a's epoch 1 ends at %d (epoch %d), want 3", end, e)
	}
	if hw := b.HighWatermark(); hw != 4 {
		t.Fatalf("b's high watermark %d, want 4", hw)
	}
}

func TestOffsetOutOfRangeStartsOverAtLeaderLogStart(t *testing.T) {
	checkNoLeak(t)
	fsys := vfs.NewMem()
	id := partition.ID{Topic: "t", Partition: 0}
	leader, follower := open(t, fsys, "/b1/t-0", id), open(t, fsys, "/b2/t-0", id)
	leader.MakeLeader(1, 0, []int32{1, 2}, []int32{1}, 1) // the follower is out of sync
	produce(t, leader, "0", "1", "2", "3", "4", "5")
	if _, err := leader.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	// The follower holds old records far behind the leader's log start.
	follower.BecomeLeader(0)
	produce(t, follower, "old")
	follower.MakeFollower(1, 0, 1, []int32{1, 2})

	client := newMemClient()
	client.host(1, leader)
	m := NewManager(2, client, testLogger, testConfig)
	defer m.Close()
	m.Follow(follower, 1, 1)
	poll(t, "the follower to start over at 4", identical(t, leader, follower))
	if start := follower.Log().StartOffset(); start != 4 {
		t.Fatalf("follower log start %d, want 4", start)
	}
	// It is a caught-up replica now: the leader proposes it for the ISR.
	if _, expand := leader.ISRChanges(time.Now(), time.Minute); len(expand) != 1 || expand[0] != 2 {
		t.Fatalf("expand %v, want [2]", expand)
	}
}

func TestUnfollowStops(t *testing.T) {
	checkNoLeak(t)
	fsys := vfs.NewMem()
	idA, idB := partition.ID{Topic: "t", Partition: 0}, partition.ID{Topic: "t", Partition: 1}
	leaderA, followerA := open(t, fsys, "/b1/t-0", idA), open(t, fsys, "/b2/t-0", idA)
	leaderB, followerB := open(t, fsys, "/b1/t-1", idB), open(t, fsys, "/b2/t-1", idB)
	for _, l := range []*partition.Partition{leaderA, leaderB} {
		l.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	}
	for _, f := range []*partition.Partition{followerA, followerB} {
		f.MakeFollower(1, 0, 1, []int32{1, 2})
	}
	client := newMemClient()
	client.host(1, leaderA)
	client.host(1, leaderB)
	m := NewManager(2, client, testLogger, testConfig)
	defer m.Close()
	m.Follow(followerA, 1, 1)
	m.Follow(followerB, 1, 1)
	produce(t, leaderA, "a0")
	produce(t, leaderB, "b0")
	poll(t, "both to replicate", func() bool { return identical(t, leaderA, followerA)() && identical(t, leaderB, followerB)() })

	m.Unfollow(followerA)
	produce(t, leaderA, "a1")
	produce(t, leaderB, "b1")
	// Both partitions of a leader share one fetch: once B has b1, a fetch
	// after the append happened, and it no longer asked for A.
	poll(t, "B to replicate", identical(t, leaderB, followerB))
	if end := followerA.Log().EndOffset(); end != 1 {
		t.Fatalf("unfollowed partition went on to %d", end)
	}
	m.Unfollow(followerB)
	m.mu.Lock()
	fetchers := len(m.mu.fetchers)
	m.mu.Unlock()
	if fetchers != 0 {
		t.Fatalf("%d fetchers left with nothing to follow", fetchers)
	}
	n := client.fetches.Load()
	produce(t, leaderB, "b2")
	m.Follow(followerA, 1, 1) // a new fetcher: A catches up, B stays put
	poll(t, "A to replicate", identical(t, leaderA, followerA))
	if end := followerB.Log().EndOffset(); end != 2 {
		t.Fatalf("unfollowed partition went on to %d", end)
	}
	if client.fetches.Load() == n {
		t.Fatal("no fetch after following again")
	}
}

// TestFencedStopsAndLeaderDownRetries: a follower with an old epoch is
// fenced and stops; a leader that cannot be reached is retried until it
// can.
func TestFencedStopsAndLeaderDownRetries(t *testing.T) {
	checkNoLeak(t)
	fsys := vfs.NewMem()
	id := partition.ID{Topic: "t", Partition: 0}
	leader, follower := open(t, fsys, "/b1/t-0", id), open(t, fsys, "/b2/t-0", id)
	leader.MakeLeader(3, 0, []int32{1, 2}, []int32{1, 2}, 1)
	produce(t, leader, "a")
	follower.MakeFollower(2, 0, 1, []int32{1, 2})
	client := newMemClient()
	client.host(1, leader)
	m := NewManager(2, client, testLogger, testConfig)
	defer m.Close()
	m.Follow(follower, 1, 2)
	poll(t, "the fenced follower to stop", func() bool { return stopped(m, follower) })
	if end := follower.Log().EndOffset(); end != 0 {
		t.Fatalf("fenced follower appended up to %d", end)
	}
	client.mu.Lock()
	client.down[1] = true
	client.mu.Unlock()
	follower.MakeFollower(3, 0, 1, []int32{1, 2})
	m.Follow(follower, 1, 3)
	poll(t, "a failed attempt", func() bool { return client.fetches.Load() > 0 || failures(m, follower) > 0 })
	client.mu.Lock()
	client.down[1] = false
	client.mu.Unlock()
	poll(t, "the follower to catch up", identical(t, leader, follower))
}

func state(m *Manager, p *partition.Partition) followed {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.mu.fetchers[m.mu.leaderOf[p]]
	if f == nil {
		return followed{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.mu.parts[p]; st != nil {
		return *st
	}
	return followed{}
}

func stopped(m *Manager, p *partition.Partition) bool { return state(m, p).stopped }
func failures(m *Manager, p *partition.Partition) int { return state(m, p).failures }
