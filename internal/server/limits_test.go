package server

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/server/handlers"
)

// limitsTimeout bounds every wait of these tests.
const limitsTimeout = 20 * time.Second

// startServer serves ApiVersions (the one API that needs no broker state)
// on a free loopback port.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = 1 << 20
	}
	s := New(cfg, &handlers.Env{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, addr.String()
}

// waitFor polls cond until it holds, failing the test after limitsTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limitsTimeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

// dialFrom connects to addr from the given local loopback address.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	dialer := net.Dialer{Timeout: limitsTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	nc, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// apiVersions sends an ApiVersions v0 request with the given correlation id.
func apiVersions(t *testing.T, nc net.Conn, corr int32) {
	t.Helper()
	if _, err := nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), corr)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// answered reads one response and returns its correlation id, or the error.
func answered(nc net.Conn) (int32, error) {
	nc.SetReadDeadline(time.Now().Add(limitsTimeout))
	var header [8]byte
	if _, err := io.ReadFull(nc, header[:]); err != nil {
		return 0, err
	}
	size := binary.BigEndian.Uint32(header[:])
	if _, err := io.CopyN(io.Discard, nc, int64(size)-4); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(header[4:])), nil
}

func expectAnswer(t *testing.T, nc net.Conn, corr int32) {
	t.Helper()
	apiVersions(t, nc, corr)
	if got, err := answered(nc); err != nil || got != corr {
		t.Fatalf("ApiVersions %d: corr %d, %v", corr, got, err)
	}
}

// expectRefused: the broker closes the connection without answering.
func expectRefused(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 99))
	_, err := answered(nc)
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection answered or left open (%v), want it closed", err)
	}
}

// TestMaxConnectionsPerIP: max.connections.per.ip refuses (closes) the
// connection past the limit; max.connections.per.ip.overrides gives
// another address its own limit, including 0.
func TestMaxConnectionsPerIP(t *testing.T) {
	_, addr := startServer(t, Config{MaxConnectionsPerIP: 2, MaxConnectionsPerIPOverrides: map[string]int{"127.0.0.2": 3, "127.0.0.3": 0}})
	for range 2 {
		expectAnswer(t, dialFrom(t, "127.0.0.1", addr), 1)
	}
	expectRefused(t, dialFrom(t, "127.0.0.1", addr))
	for range 3 {
		expectAnswer(t, dialFrom(t, "127.0.0.2", addr), 2)
	}
	expectRefused(t, dialFrom(t, "127.0.0.2", addr))
	expectRefused(t, dialFrom(t, "127.0.0.3", addr))
}

// TestMaxConnectionsPerIPZero: Kafka's max.connections.per.ip=0 admits
// only the addresses given an override.
func TestMaxConnectionsPerIPZero(t *testing.T) {
	_, addr := startServer(t, Config{MaxConnectionsPerIP: -1, MaxConnectionsPerIPOverrides: map[string]int{"localhost": 1}})
	expectAnswer(t, dialFrom(t, "127.0.0.1", addr), 1)
	expectRefused(t, dialFrom(t, "127.0.0.2", addr))
}

// TestMaxConnectionsWaits: at max.connections the broker stops accepting
// (as Kafka's acceptor does) and admits the waiting client once a
// connection closes.
func TestMaxConnectionsWaits(t *testing.T) {
	s, addr := startServer(t, Config{MaxConnections: 2})
	first := dialFrom(t, "127.0.0.1", addr)
	expectAnswer(t, first, 1)
	second := dialFrom(t, "127.0.0.1", addr)
	expectAnswer(t, second, 2)
	third := dialFrom(t, "127.0.0.1", addr) // completes in the listen backlog
	apiVersions(t, third, 3)
	expectAnswer(t, second, 4)
	if n := s.NumConns(); n != 2 {
		t.Fatalf("%d connections open, limit 2", n)
	}
	first.Close()
	if got, err := answered(third); err != nil || got != 3 {
		t.Fatalf("waiting client: corr %d, %v", got, err)
	}
	if n := s.NumConns(); n != 2 {
		t.Fatalf("%d connections open, limit 2", n)
	}
}

// TestQueuedMaxRequestBytes: with the budget used up, the broker reads no
// new request until bytes come back, then answers it.
func TestQueuedMaxRequestBytes(t *testing.T) {
	const budget = 1 << 20
	s, addr := startServer(t, Config{QueuedMaxRequestBytes: budget})
	nc := dialFrom(t, "127.0.0.1", addr)
	expectAnswer(t, nc, 1)
	if got := s.pool.available(); got != budget {
		t.Fatalf("budget %d after an answered request, want %d", got, budget)
	}
	if _, err := s.pool.reserve(t.Context(), budget); err != nil {
		t.Fatal(err)
	}
	apiVersions(t, nc, 2)
	waitFor(t, "the reader to wait for the budget", func() bool {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		return s.pool.mu.waiters == 1
	})
	s.pool.release(budget)
	if got, err := answered(nc); err != nil || got != 2 {
		t.Fatalf("after release: corr %d, %v", got, err)
	}
	waitFor(t, "the budget to return", func() bool { return s.pool.available() == budget })
}

// TestHugeClaimPinsLittle: a frame claiming 64 MiB of which 1000 bytes
// arrive reserves its claim from queued.max.request.bytes but allocates
// about what arrived; closing the connection returns the reservation.
func TestHugeClaimPinsLittle(t *testing.T) {
	const claim = 64 << 20
	s, addr := startServer(t, Config{MaxRequestBytes: 128 << 20, QueuedMaxRequestBytes: 256 << 20})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	nc := dialFrom(t, "127.0.0.1", addr)
	frame := binary.BigEndian.AppendUint32(nil, claim)
	frame = append(frame, make([]byte, 1000)...) // a Produce header: key 0
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reservation", func() bool { return s.pool.available() == 256<<20-claim })
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 8<<20 {
		t.Fatalf("a 1000-byte partial frame allocated %d bytes", grown)
	}
	nc.Close()
	waitFor(t, "the reservation to return", func() bool { return s.pool.available() == 256<<20 })
}

// TestSlowPartialFrameDropped: a frame that does not arrive whole within
// connections.max.idle.ms closes its connection and returns its bytes.
func TestSlowPartialFrameDropped(t *testing.T) {
	s, addr := startServer(t, Config{IdleTimeout: 300 * time.Millisecond, QueuedMaxRequestBytes: 1 << 20})
	nc := dialFrom(t, "127.0.0.1", addr)
	nc.Write([]byte{0, 0, 1, 0, 0, 18, 0}) // 256-byte frame, 3 bytes of it
	_, err := answered(nc)
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("stalled partial frame: %v, want the connection closed", err)
	}
	waitFor(t, "the reservation to return", func() bool { return s.pool.available() == 1<<20 })
}
