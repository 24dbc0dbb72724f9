package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// peerBinaries are the NATS programs built from the scripts/bench/peers
// module (its own go.mod, so Samsa's module does not depend on NATS).
type peerBinaries struct {
	natsServer string
	natsBench  string
}

// buildPeers compiles nats-server and natsbench from the peers module at
// dir into a temporary directory (the Go module proxy provides NATS on the
// first run).
func buildPeers(dir string) (peerBinaries, func(), error) {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return peerBinaries{}, nil, fmt.Errorf("peers module: %w", err)
	}
	out, err := os.MkdirTemp("", "bench-peers-")
	if err != nil {
		return peerBinaries{}, nil, err
	}
	cmd := exec.Command("go", "build", "-o", out+string(os.PathSeparator), "./natsbench", "github.com/nats-io/nats-server/v2")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(out)
		return peerBinaries{}, nil, fmt.Errorf("building the NATS peers in %s: %w", dir, err)
	}
	bins := peerBinaries{natsServer: filepath.Join(out, "nats-server"), natsBench: filepath.Join(out, "natsbench")}
	return bins, func() { os.RemoveAll(out) }, nil
}

// startNATS runs nats-server with JetStream storing to files in a fresh
// temporary directory and waits until it accepts connections.
func startNATS(bin string, ready time.Duration) (*brokerProcess, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("nats-server binary: %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-nats-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(ports[0]), "-js", "-sd", filepath.Join(dir, "store"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	b, err := launch(cmd, dir)
	if err != nil {
		return nil, err
	}
	b.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	deadline := time.Now().Add(ready)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err == nil {
			conn.Close()
			return b, nil
		}
		select {
		case <-b.exited:
			b.stop()
			return nil, errBrokerExited
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.stop()
	return nil, fmt.Errorf("nats-server not accepting connections within %s", ready)
}

// natsResult is natsbench's JSON line.
type natsResult struct {
	Records        int64   `json:"records"`
	RecordsPerSec  float64 `json:"records_per_s"`
	ConsumedPerSec float64 `json:"consumed_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	P999Ms         float64 `json:"p999_ms"`
}

// runNATSBench runs natsbench against the server at addr.
func runNATSBench(ctx context.Context, bin, addr string, args ...string) (natsResult, error) {
	all := append([]string{"--url", "nats://" + addr}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return natsResult{}, fmt.Errorf("natsbench %v: %w (%s)", args, err, stderr.String())
	}
	var r natsResult
	if err := json.Unmarshal(out, &r); err != nil {
		return natsResult{}, fmt.Errorf("natsbench output %q: %w", out, err)
	}
	return r, nil
}

// limitedBuffer keeps the first 2 KiB written to it.
type limitedBuffer struct{ data []byte }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := max(2048-len(b.data), 0)
	b.data = append(b.data, p[:min(room, len(p))]...)
	return len(p), nil
}

func (b *limitedBuffer) String() string { return string(b.data) }
