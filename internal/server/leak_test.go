package server_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/server"
	"samsa/internal/server/handlers"
	"samsa/internal/testutil"
)

// TestCloseStopsGoroutines: after Close, no goroutine of the server is
// left: listeners, readers, writers, whatever state their connections
// were in (idle, mid-frame, pipelining without reading).
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s := server.New(server.Config{MaxRequestBytes: 1 << 20}, &handlers.Env{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	format := kmsg.NewRequestFormatter()
	var conns []net.Conn
	for i := range 4 {
		nc, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		conns = append(conns, nc)
		switch i {
		case 1: // answered
			nc.Write(format.AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1))
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(bufio.NewReader(nc), make([]byte, 8)); err != nil {
				t.Fatalf("no ApiVersions response: %v", err)
			}
		case 2: // mid-frame
			nc.Write([]byte{0, 0, 1, 0, 0, 18})
		case 3: // pipelining past the in-flight window, reading nothing
			var frames []byte
			for corr := range 200 { // more than the in-flight window
				frames = format.AppendRequest(frames, kmsg.NewPtrApiVersionsRequest(), int32(corr))
			}
			go nc.Write(frames) // may block once the broker stops reading
		}
	}
	testutil.Poll(t, 10*time.Second, func() bool { return s.NumConns() == len(conns) })
	s.Close()
	if n := s.NumConns(); n != 0 {
		t.Fatalf("%d connections after Close", n)
	}
	for _, nc := range conns {
		nc.Close()
	}
	waitGoroutines(t, before)
}

// TestBrokerCloseStopsGoroutines: the same for a whole broker, with a
// long-poll fetch waiting when it closes.
func TestBrokerCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	b := testutil.StartBroker(t)
	nc, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	create := kmsg.NewPtrCreateTopicsRequest()
	create.Version = 7
	create.TimeoutMillis = 10000
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "leak", 1, 1
	create.Topics = append(create.Topics, topic)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version, fetch.ReplicaID, fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes = 11, -1, 60000, 1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "leak"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	format := kmsg.NewRequestFormatter()
	nc.Write(format.AppendRequest(nil, create, 1))
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	if _, err := io.ReadFull(br, make([]byte, 8)); err != nil {
		t.Fatalf("no CreateTopics response: %v", err)
	}
	nc.Write(format.AppendRequest(nil, fetch, 2))
	b.Close()
	nc.Close()
	waitGoroutines(t, before)
}

// waitGoroutines polls until at most want goroutines run, and reports the
// stacks of the others if they do not exit.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			t.Fatalf("%d goroutines after Close, want at most %d:\n%s", runtime.NumGoroutine(), want, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
