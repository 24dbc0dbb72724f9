package mux

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestRoutesByPreamble(t *testing.T) {
	shared, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	address := shared.Addr().String()

	// A silent connection does not hold up the others.
	silent, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A connection starting like Raft without the whole preamble is closed.
	bad := dialAndWrite(t, address, []byte{0xFF, 'X', 'Y', 'Z', 1})
	defer bad.Close()
	kafka := dialAndWrite(t, address, []byte{0, 0, 0, 4, 'k', 'a', 'f', 'k'})
	defer kafka.Close()
	raft := dialAndWrite(t, address, append(Preamble[:], 'r', 'a', 'f', 't'))
	defer raft.Close()

	expect(t, shared.Kafka(), []byte{0, 0, 0, 4, 'k', 'a', 'f', 'k'}, true)
	expect(t, shared.Raft(), []byte("raft"), false)
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a bad preamble's connection stays open (read %d bytes)", n)
	}
}

func TestCloseStopsAccept(t *testing.T) {
	shared, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A silent connection awaiting its first byte is closed too (Close
	// does not wait for the sniff timeout).
	silent, err := net.Dial("tcp", shared.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed := make(chan struct{})
	go func() { shared.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(sniffTimeout / 2):
		t.Fatal("Close waited for a silent connection")
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("the silent connection stays open")
	}
	if _, err := shared.Kafka().Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
	if _, err := net.DialTimeout("tcp", shared.Addr().String(), time.Second); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

func dialAndWrite(t *testing.T, address string, data []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	return conn
}

// expect accepts one connection from listener and checks its first bytes.
func expect(t *testing.T, listener net.Listener, want []byte, wantTCP bool) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := listener.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
	}()
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
	}
	if conn == nil {
		t.Fatal("accept failed")
	}
	defer conn.Close()
	if _, isTCP := conn.(*net.TCPConn); wantTCP && !isTCP {
		t.Fatalf("connection type %T", conn)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}
