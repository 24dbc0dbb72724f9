package partition

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"

	"samsa/internal/log"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

// TestDiskFullAppendIsUndone: ENOSPC on append fails the produce, leaves
// the log end, the high watermark and the producer state as they were, and
// the same idempotent batch is accepted at the next offset once space is
// back, without reopening anything.
func TestDiskFullAppendIsUndone(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	p := openAt(t, fault, "/data/t-0", testSettings())
	p.BecomeLeader(1)
	first := mustAppend(t, p, batch(t, 7, 0, 0, "a", "b"))
	full := fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: ".log", Err: syscall.ENOSPC, Partial: true})
	_, err := p.AppendRecords(batch(t, 7, 0, 2, "c"))
	if !errors.Is(err, syscall.ENOSPC) || !log.IsDiskFull(err) || errors.Is(err, log.ErrOffline) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if p.Log().EndOffset() != 2 || p.HighWatermark() != 2 || p.Log().Failure() != nil {
		t.Fatalf("after the failed append: end %d, high watermark %d, failure %v", p.Log().EndOffset(), p.HighWatermark(), p.Log().Failure())
	}
	if info, err := mem.Stat("/data/t-0/00000000000000000000.log"); err != nil || info.Size() != p.Log().Size() {
		t.Fatalf("segment file holds a partial batch: %v %v vs %d", info, err, p.Log().Size())
	}
	fault.RemoveRule(full)
	res := mustAppend(t, p, batch(t, 7, 0, 2, "c")) // the producer's retry
	if res.BaseOffset != 2 || res.Duplicate || first.BaseOffset != 0 {
		t.Fatalf("retry after space came back: %+v", res)
	}
	if dup := mustAppend(t, p, batch(t, 7, 0, 2, "c")); !dup.Duplicate || dup.BaseOffset != 2 {
		t.Fatalf("second retry: %+v", dup)
	}
}

// TestLogDirFailureTakesEveryReplicaOffline: an EIO on one replica's
// append takes its whole log directory offline: every replica there
// refuses appends and reads with ErrOffline, no replica opens there again,
// the failure handler runs once, and closing writes nothing into it.
func TestLogDirFailureTakesEveryReplicaOffline(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := NewManager(1, fault, []string{"/data"}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	var failuresMu sync.Mutex
	var failures []string
	m.OnLogDirFailure(func(dir string, cause error) {
		failuresMu.Lock()
		defer failuresMu.Unlock()
		failures = append(failures, dir)
	})
	assign := func(topic string, id byte) Assignment {
		return Assignment{ID: ID{topic, 0}, TopicID: [16]byte{id}, Leader: 1, LeaderEpoch: 1, Replicas: []int32{1}, ISR: []int32{1}, Settings: testSettings()}
	}
	m.Apply([]Assignment{assign("a", 1), assign("b", 2)})
	a, _ := m.Get(ID{"a", 0})
	b, _ := m.Get(ID{"b", 0})
	mustAppend(t, a, batch(t, -1, -1, -1, "x"))
	mustAppend(t, b, batch(t, -1, -1, -1, "y"))
	fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: "a-0/00000000000000000000.log", Err: syscall.EIO, Times: 1})
	if _, err := a.AppendRecords(batch(t, -1, -1, -1, "z")); !errors.Is(err, log.ErrOffline) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("append on EIO: %v", err)
	}
	m.checkFailures() // what the maintenance tick does every second
	m.checkFailures()
	failuresMu.Lock()
	if len(failures) != 1 || failures[0] != "/data" {
		t.Fatalf("failure handler calls: %v", failures)
	}
	failuresMu.Unlock()
	for _, p := range []*Partition{a, b} {
		if _, err := p.AppendRecords(batch(t, -1, -1, -1, "w")); !errors.Is(err, log.ErrOffline) {
			t.Fatalf("%s: append in an offline directory: %v", p.ID, err)
		}
		if _, err := p.Read(0, 1<<20, true); !errors.Is(err, log.ErrOffline) {
			t.Fatalf("%s: read in an offline directory: %v", p.ID, err)
		}
	}
	m.Apply([]Assignment{assign("a", 1), assign("b", 2), assign("c", 3)})
	if _, ok := m.Get(ID{"c", 0}); ok {
		t.Fatal("a replica was opened in an offline directory")
	}
	if _, ok := m.OfflineDirs()["/data"]; !ok {
		t.Fatalf("offline dirs: %v", m.OfflineDirs())
	}
	m.Close()
	for _, name := range []string{"/data/a-0/.kafka_cleanshutdown", "/data/b-0/.kafka_cleanshutdown", "/data/b-0/producer.snapshot"} {
		if _, err := mem.Stat(name); err == nil {
			t.Errorf("%s written into an offline directory", name)
		}
	}
	// A restart (the directory healthy again) recovers both replicas.
	for _, id := range []string{"a", "b"} {
		p := openAt(t, mem, "/data/"+id+"-0", testSettings())
		if p.Log().EndOffset() != 1 {
			t.Fatalf("%s after restart: end %d", id, p.Log().EndOffset())
		}
	}
}

// TestSnapshotFailure: a producer snapshot that cannot be written on a
// full disk leaves no partial file and the directory online; an EIO takes
// the directory offline.
func TestSnapshotFailure(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := NewManager(1, fault, []string{"/data"}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Apply([]Assignment{{ID: ID{"s", 0}, TopicID: [16]byte{4}, Leader: 1, LeaderEpoch: 1, Replicas: []int32{1}, ISR: []int32{1}, Settings: testSettings()}})
	p, _ := m.Get(ID{"s", 0})
	mustAppend(t, p, batch(t, 9, 0, 0, "a"))
	full := fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: ".tmp", Err: syscall.ENOSPC, Partial: true})
	m.storageFailure("/data", p, p.maintainProducers(fault, "/data", t0))
	if len(m.OfflineDirs()) != 0 {
		t.Fatalf("a full disk took the directory offline: %v", m.OfflineDirs())
	}
	if _, err := mem.Stat("/data/s-0/producer.snapshot.tmp"); err == nil {
		t.Fatal("partial snapshot left behind")
	}
	fault.RemoveRule(full)
	fault.AddRule(vfs.Rule{Op: vfs.OpSync, PathSuffix: ".tmp", Err: syscall.EIO})
	m.storageFailure("/data", p, p.maintainProducers(fault, "/data", t0))
	if len(m.OfflineDirs()) != 1 {
		t.Fatal("a failed snapshot fsync left the directory online")
	}
	if _, err := p.AppendRecords(batch(t, 9, 0, 1, "b")); !errors.Is(err, log.ErrOffline) {
		t.Fatalf("append after the directory failed: %v", err)
	}
}

// TestDiskFullFollowerRetries: a follower whose disk is full refuses the
// replicated batches without keeping any of them, and takes the same
// fetch response once space is back.
func TestDiskFullFollowerRetries(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	p := openAt(t, fault, "/data/t-0", testSettings())
	p.MakeFollower(1, 0, 2, []int32{1, 2})
	first := batch(t, 5, 0, 0, "a", "b")
	second := batch(t, 5, 0, 2, "c")
	record.SetBaseOffset(second, 2)
	if err := p.AppendAsFollower(first); err != nil {
		t.Fatal(err)
	}
	full := fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: ".log", Err: syscall.ENOSPC, Partial: true})
	if err := p.AppendAsFollower(second); !log.IsDiskFull(err) {
		t.Fatalf("replicated append on a full disk: %v", err)
	}
	if p.Log().EndOffset() != 2 || p.Log().Failure() != nil {
		t.Fatalf("end %d, failure %v", p.Log().EndOffset(), p.Log().Failure())
	}
	fault.RemoveRule(full)
	if err := p.AppendAsFollower(second); err != nil || p.Log().EndOffset() != 3 {
		t.Fatalf("retry: %v, end %d", err, p.Log().EndOffset())
	}
}
