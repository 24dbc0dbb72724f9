// Package testutil starts in-process Samsa brokers for tests.
package testutil

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"samsa/internal/broker"
	"samsa/internal/config"
)

// Broker is one in-process node on loopback ports with a temporary log dir.
type Broker struct {
	// Addr is the bootstrap address of the PLAINTEXT listener.
	Addr string
	// Dir is the log directory; it survives Restart.
	Dir string

	t         testing.TB
	overrides []string

	mu struct {
		sync.Mutex
		node *broker.Broker
	}
}

// StartBroker starts a single-node broker (controller and broker roles) on
// free loopback ports; extra overrides are key=value broker configs. The
// broker is closed when the test ends.
func StartBroker(t testing.TB, overrides ...string) *Broker {
	t.Helper()
	client, controller := freePort(t), freePort(t)
	for range 10 {
		if controller != client {
			break
		}
		controller = freePort(t)
	}
	b := &Broker{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(client)), Dir: t.TempDir(), t: t}
	b.overrides = append([]string{
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", client, controller),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://127.0.0.1:%d", client),
		fmt.Sprintf("controller.quorum.voters=1@127.0.0.1:%d", controller),
		"log.dirs=" + b.Dir,
	}, overrides...)
	if err := b.start(); err != nil {
		t.Fatalf("starting broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func (b *Broker) start() error {
	cfg, err := config.Load("", b.overrides, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := broker.Start(ctx, cfg, logger(b.t))
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.mu.node = node
	b.mu.Unlock()
	return nil
}

// Close stops the broker; it may be called more than once.
func (b *Broker) Close() {
	b.mu.Lock()
	node := b.mu.node
	b.mu.node = nil
	b.mu.Unlock()
	if node != nil {
		node.Close()
	}
}

// Restart closes the broker and starts it again on the same ports and dir.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Close()
	if err := b.start(); err != nil {
		b.t.Fatalf("restarting broker: %v", err)
	}
}

// logger discards broker logs unless the test runs with -v.
func logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// freePort finds a loopback port in 20000-32000 that is free right now
// (below the ephemeral range, so an outgoing connection will not take it).
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatalf("no free port in 20000-32000 after 100 tries")
	return 0
}

// Poll calls fn until it returns true, failing the test after timeout.
func Poll(t testing.TB, timeout time.Duration, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		if fn() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(delay)
	}
}
