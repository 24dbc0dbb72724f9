package coordinator

import (
	"errors"
	"io"
	"log/slog"
	"syscall"
	"testing"

	"samsa/internal/log"
	"samsa/internal/vfs"
)

// TestWriteOnStorageFailure: a coordinator write that hits a full disk or
// an offline log fails with ErrNotCoordinator (Kafka answers
// NOT_COORDINATOR for KAFKA_STORAGE_ERROR), the state machine is not
// changed and the shard keeps serving; once space is back writes succeed.
func TestWriteOnStorageFailure(t *testing.T) {
	mem := vfs.NewMem()
	fault := vfs.NewFault(mem)
	p := openPartition(t, fault)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sh := StartShard(p, &kv{state: map[string]string{}}, nil, logger)
	defer sh.Stop()
	write := func(key string) error {
		t.Helper()
		result := make(chan error, 1)
		doWhenLoaded(t, sh, func(ctx Context, s *kv) {
			ctx.Write([]Record{{Key: []byte(key), Value: []byte("v")}}, func(err error) {
				if err == nil {
					s.state[key] = "v"
				}
				result <- err
			})
		})
		return <-result
	}
	full := fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: ".log", Err: syscall.ENOSPC, Partial: true})
	if err := write("a"); !errors.Is(err, ErrNotCoordinator) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	fault.RemoveRule(full)
	if err := write("b"); err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
	fault.AddRule(vfs.Rule{Op: vfs.OpWrite, PathSuffix: ".log", Err: syscall.EIO})
	if err := write("c"); !errors.Is(err, ErrNotCoordinator) || !errors.Is(err, log.ErrOffline) {
		t.Fatalf("write on EIO: %v", err)
	}
	state := make(chan map[string]string, 1)
	doWhenLoaded(t, sh, func(_ Context, s *kv) { state <- s.state })
	if got := <-state; len(got) != 1 || got["b"] != "v" {
		t.Fatalf("state after failed writes: %v", got)
	}
	if end := p.Log().EndOffset(); end != 1 {
		t.Fatalf("log end %d, want 1", end)
	}
}
