package coordinator

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/vfs"
)

// kv is a tiny state machine: the latest value per key, tombstones delete.
type kv struct {
	mu     sync.Mutex
	state  map[string]string
	loaded bool
	closed bool
}

func (k *kv) Replay(r Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if string(r.Key) == "bad" {
		return errors.New("bad record")
	}
	if r.Value == nil {
		delete(k.state, string(r.Key))
	} else {
		k.state[string(r.Key)] = string(r.Value)
	}
	return nil
}
func (k *kv) Loaded(Context) { k.loaded = true }
func (k *kv) Close()         { k.closed = true }

func openPartition(t *testing.T, fsys vfs.FS) *partition.Partition {
	t.Helper()
	settings := partition.Settings{Log: log.DefaultConfig(), MaxMessageBytes: 1 << 20, Compression: "producer", Compact: true}
	p, err := partition.Open(fsys, "/d/__consumer_offsets-0", partition.ID{Topic: "__consumer_offsets"}, [16]byte{1}, settings, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.BecomeLeader(0)
	return p
}

func await(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the shard")
	}
}

func doWhenLoaded(t *testing.T, sh *Shard[*kv], fn func(Context, *kv)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := sh.Do(fn)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrLoading) || time.Now().After(deadline) {
			t.Fatalf("Do: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShardWritesReplayAndTimers(t *testing.T) {
	fsys := vfs.NewMem()
	p := openPartition(t, fsys)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	first := &kv{state: map[string]string{}}
	sh := StartShard(p, first, nil, logger)

	written := make(chan struct{})
	var order []string
	doWhenLoaded(t, sh, func(ctx Context, s *kv) {
		ctx.Write([]Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}, func(err error) {
			if err != nil {
				t.Errorf("write: %v", err)
			}
			order = append(order, "after")
			s.state["a"], s.state["b"] = "1", "2"
			ctx.Write([]Record{{Key: []byte("a"), Value: nil}}, func(err error) {
				delete(s.state, "a")
				close(written)
			})
		})
		order = append(order, "handler returned")
	})
	await(t, written)
	if len(order) != 2 || order[0] != "handler returned" || order[1] != "after" {
		t.Fatalf("after ran out of order: %v", order)
	}

	fired := make(chan struct{})
	doWhenLoaded(t, sh, func(ctx Context, s *kv) {
		ctx.Schedule("t", time.Hour, func(Context) { t.Error("replaced timer fired") })
		ctx.Schedule("t", time.Millisecond, func(Context) { close(fired) })
		ctx.Schedule("gone", time.Millisecond, func(Context) { t.Error("cancelled timer fired") })
		ctx.Cancel("gone")
	})
	await(t, fired)
	sh.Stop()
	if !first.closed {
		t.Fatal("Close did not run on Stop")
	}
	if err := sh.Do(func(Context, *kv) {}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("Do after Stop: %v", err)
	}

	// A new shard on the same partition replays to the same state.
	second := &kv{state: map[string]string{}}
	sh2 := StartShard(p, second, nil, logger)
	defer sh2.Stop()
	got := make(chan map[string]string, 1)
	doWhenLoaded(t, sh2, func(_ Context, s *kv) { got <- s.state })
	state := <-got
	if len(state) != 1 || state["b"] != "2" || !second.loaded {
		t.Fatalf("replayed state %v (loaded %v), want map[b:2]", state, second.loaded)
	}
}

func TestRuntimeFollowsLeadership(t *testing.T) {
	p := openPartition(t, vfs.NewMem())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := NewRuntime("__consumer_offsets", func(int32) *kv { return &kv{state: map[string]string{}} }, nil, logger)
	defer r.Close()
	if _, err := r.Shard(0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("before the topic exists: %v", err)
	}
	r.Sync(map[int32]*partition.Partition{0: p}, 2)
	if _, err := r.Shard(1); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("partition led elsewhere: %v", err)
	}
	sh, err := r.Shard(0)
	if err != nil {
		t.Fatal(err)
	}
	doWhenLoaded(t, sh, func(Context, *kv) {})
	r.Sync(map[int32]*partition.Partition{}, 2)
	if _, err := r.Shard(0); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("after losing leadership: %v", err)
	}
	if err := sh.Do(func(Context, *kv) {}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("stopped shard: %v", err)
	}
}

// TestShardLoadRetriesUntilLeader: a shard started on a replica that is not
// the leader yet (images applied out of step) answers ErrLoading, can be
// stopped, and loads once the replica leads.
func TestShardLoadRetriesUntilLeader(t *testing.T) {
	fsys := vfs.NewMem()
	p := openPartition(t, fsys)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	writer := StartShard(p, &kv{state: map[string]string{}}, nil, logger)
	written := make(chan struct{})
	doWhenLoaded(t, writer, func(ctx Context, _ *kv) {
		ctx.Write([]Record{{Key: []byte("k"), Value: []byte("v")}}, func(err error) {
			if err != nil {
				t.Errorf("write: %v", err)
			}
			close(written)
		})
	})
	await(t, written)
	writer.Stop()

	p.MakeFollower(1, 1, 2, []int32{1, 2})
	stuck := StartShard(p, &kv{state: map[string]string{}}, nil, logger)
	if err := stuck.Do(func(Context, *kv) {}); !errors.Is(err, ErrLoading) {
		t.Fatalf("Do on a follower: %v, want ErrLoading", err)
	}
	stopped := make(chan struct{})
	go func() { stuck.Stop(); close(stopped) }()
	await(t, stopped)
	if err := stuck.Do(func(Context, *kv) {}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("Do after Stop: %v", err)
	}

	retried := &kv{state: map[string]string{}}
	sh := StartShard(p, retried, nil, logger)
	defer sh.Stop()
	p.MakeLeader(2, 2, []int32{1, 2}, []int32{1}, 1)
	got := make(chan map[string]string, 1)
	doWhenLoaded(t, sh, func(_ Context, s *kv) { got <- s.state })
	if state := <-got; len(state) != 1 || state["k"] != "v" || !retried.loaded {
		t.Fatalf("state after the retried load %v (loaded %v), want map[k:v]", state, retried.loaded)
	}
}
