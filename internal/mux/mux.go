// Package mux shares one TCP port between the Kafka protocol and Raft's
// transport. A Raft connection starts with Preamble; a Kafka connection
// starts with its first request's size, a non-negative int32, whose first
// byte is never 0xFF. The first byte is peeked (MSG_PEEK), so a Kafka
// connection reaches the server as the untouched *net.TCPConn (sendfile
// keeps working).
package mux

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Preamble is what a Raft connection sends before anything else. Its first
// byte would be the top byte of a negative Kafka frame size.
var Preamble = [4]byte{0xFF, 'R', 'F', 'T'}

// sniffTimeout bounds how long an accepted connection may stay silent
// before its protocol is known.
const sniffTimeout = 10 * time.Second

// maxSniffing bounds the connections whose first byte is awaited at once;
// beyond it, Accept waits (the kernel's backlog holds the rest).
const maxSniffing = 1024

// ErrBadPreamble is returned for a connection that starts like a Raft
// connection but does not carry the whole preamble.
var ErrBadPreamble = errors.New("mux: bad raft preamble")

// Mux accepts connections on one listener and hands each to its Kafka or
// its Raft side.
type Mux struct {
	listener net.Listener
	log      *slog.Logger
	kafka    *side
	raft     *side
	sniffing chan struct{} // semaphore of maxSniffing
	done     chan struct{}
	group    sync.WaitGroup
	once     sync.Once
	mu       struct {
		sync.Mutex
		sniffing map[net.Conn]struct{} // closed by Close
		closed   bool
	}
}

// Listen listens on address (host:port) and starts accepting.
func Listen(address string, logger *slog.Logger) (*Mux, error) {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mux{listener: listener, log: logger, sniffing: make(chan struct{}, maxSniffing), done: make(chan struct{})}
	m.mu.sniffing = map[net.Conn]struct{}{}
	m.kafka = newSide(m, listener.Addr())
	m.raft = newSide(m, listener.Addr())
	m.group.Add(1)
	go m.acceptLoop()
	return m, nil
}

// Addr is the bound address.
func (m *Mux) Addr() net.Addr { return m.listener.Addr() }

// Kafka returns the listener of Kafka connections.
func (m *Mux) Kafka() net.Listener { return m.kafka }

// Raft returns the listener of Raft connections (preamble consumed).
func (m *Mux) Raft() net.Listener { return m.raft }

// Close stops accepting, closes both sides and waits for the goroutines;
// connections already handed out stay open.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.listener.Close()
		m.kafka.Close()
		m.raft.Close()
		m.mu.Lock()
		m.mu.closed = true
		for conn := range m.mu.sniffing {
			conn.Close()
		}
		m.mu.Unlock()
		m.group.Wait()
	})
	return err
}

func (m *Mux) acceptLoop() {
	defer m.group.Done()
	var backoff time.Duration
	for {
		select {
		case m.sniffing <- struct{}{}:
		case <-m.done:
			return
		}
		conn, err := m.listener.Accept()
		if err != nil {
			<-m.sniffing
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed", "addr", m.Addr().String(), "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-m.done:
				return
			}
			continue
		}
		backoff = 0
		m.group.Add(1)
		go m.route(conn)
	}
}

// route finds the protocol of one connection and hands it over.
func (m *Mux) route(conn net.Conn) {
	defer m.group.Done()
	if !m.track(conn, true) {
		<-m.sniffing
		conn.Close()
		return
	}
	isRaft, err := sniff(conn)
	m.track(conn, false)
	<-m.sniffing
	if err != nil {
		m.log.Debug("connection closed before its protocol was known", "remote", conn.RemoteAddr().String(), "err", err)
		conn.Close()
		return
	}
	target := m.kafka
	if isRaft {
		target = m.raft
	}
	target.deliver(conn)
}

// track adds conn to (or removes it from) the connections Close closes
// while their first byte is awaited; false once the mux is closed.
func (m *Mux) track(conn net.Conn, add bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !add {
		delete(m.mu.sniffing, conn)
		return true
	}
	if m.mu.closed {
		return false
	}
	m.mu.sniffing[conn] = struct{}{}
	return true
}

// sniff peeks the first byte; a Raft connection's preamble is then read.
func sniff(conn net.Conn) (bool, error) {
	if err := conn.SetReadDeadline(time.Now().Add(sniffTimeout)); err != nil {
		return false, err
	}
	first, err := peekByte(conn)
	if err != nil {
		return false, err
	}
	if first != Preamble[0] {
		return false, conn.SetReadDeadline(time.Time{})
	}
	var preamble [len(Preamble)]byte
	if _, err := io.ReadFull(conn, preamble[:]); err != nil {
		return false, err
	}
	if preamble != Preamble {
		return false, fmt.Errorf("%w: % x", ErrBadPreamble, preamble)
	}
	return true, conn.SetReadDeadline(time.Time{})
}

// peekByte returns the first byte of conn without consuming it.
func peekByte(conn net.Conn) (byte, error) {
	syscallConn, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errors.New("mux: connection has no descriptor")
	}
	raw, err := syscallConn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var buffer [1]byte
	var count int
	var peekErr error
	err = raw.Read(func(descriptor uintptr) bool {
		count, _, peekErr = syscall.Recvfrom(int(descriptor), buffer[:], syscall.MSG_PEEK)
		return !errors.Is(peekErr, syscall.EAGAIN) && !errors.Is(peekErr, syscall.EINTR)
	})
	switch {
	case err != nil:
		return 0, err
	case peekErr != nil:
		return 0, peekErr
	case count == 0:
		return 0, io.EOF
	}
	return buffer[0], nil
}

// side is one protocol's view of the shared listener.
type side struct {
	mux    *Mux
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newSide(m *Mux, addr net.Addr) *side {
	return &side{mux: m, addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// deliver hands conn to Accept, or closes it when the side is closed.
func (s *side) deliver(conn net.Conn) {
	select {
	case s.conns <- conn:
	case <-s.closed:
		conn.Close()
	}
}

// Accept returns the next connection of this side.
func (s *side) Accept() (net.Conn, error) {
	select {
	case conn := <-s.conns:
		return conn, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Close stops this side; connections for it are closed from now on.
func (s *side) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// Addr is the shared listener's address.
func (s *side) Addr() net.Addr { return s.addr }
