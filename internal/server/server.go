// Package server accepts Kafka protocol connections and dispatches their
// requests to the handlers. It owns listeners, connections and framing; it
// knows nothing about topics or logs.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"samsa/internal/server/handlers"
)

// Config bounds what connections may do, with Kafka's semantics.
type Config struct {
	MaxRequestBytes int32         // socket.request.max.bytes
	IdleTimeout     time.Duration // connections.max.idle.ms; 0 = none
	// MaxConnections is max.connections (0 = unlimited): at the limit the
	// listeners stop accepting until a connection closes, as Kafka's
	// acceptor does; new clients wait in the listen backlog.
	MaxConnections int
	// MaxConnectionsPerIP is max.connections.per.ip (0 = unlimited unless
	// overridden): a connection beyond it is closed at once.
	// Negative means no connections at all (Kafka's 0, which is valid with
	// overrides).
	MaxConnectionsPerIP int
	// MaxConnectionsPerIPOverrides is max.connections.per.ip.overrides:
	// limits by address or host name (names are resolved by New).
	MaxConnectionsPerIPOverrides map[string]int
	// QueuedMaxRequestBytes is queued.max.request.bytes (<= 0 = unbounded):
	// see memoryPool.
	QueuedMaxRequestBytes int64
}

// Server serves the Kafka protocol on one or more listeners.
type Server struct {
	cfg       Config
	env       *handlers.Env
	log       *slog.Logger
	pool      *memoryPool
	overrides map[string]int // max.connections.per.ip.overrides by address

	closing chan struct{} // closed by Close

	wg sync.WaitGroup // listeners and connections

	mu struct {
		sync.Mutex
		closed    bool
		listeners []net.Listener
		conns     map[*conn]struct{}
		perIP     map[string]int
		// connClosed is closed and replaced when a connection closes
		// while an acceptor waits for a max.connections slot.
		connClosed    chan struct{}
		acceptWaiters int
	}
}

// New returns a server that dispatches to env.
func New(cfg Config, env *handlers.Env, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, env: env, log: log, pool: newMemoryPool(cfg.QueuedMaxRequestBytes), closing: make(chan struct{})}
	s.overrides = resolveOverrides(cfg.MaxConnectionsPerIPOverrides, log)
	s.mu.conns = make(map[*conn]struct{})
	s.mu.perIP = make(map[string]int)
	s.mu.connClosed = make(chan struct{})
	return s
}

// Listen starts accepting connections on addr for the named listener and
// returns the bound address.
func (s *Server) Listen(name, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listener %s on %s: %w", name, addr, err)
	}
	return s.Serve(name, ln)
}

// Serve accepts connections from ln for the named listener (e.g. the Kafka
// side of a port shared with Raft) until Close, which closes ln.
func (s *Server) Serve(name string, ln net.Listener) (net.Addr, error) {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		ln.Close()
		return nil, net.ErrClosed
	}
	s.mu.listeners = append(s.mu.listeners, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(name, ln)
	}()
	s.log.Info("listening", "listener", name, "addr", ln.Addr().String())
	return ln.Addr(), nil
}

func (s *Server) acceptLoop(name string, ln net.Listener) {
	var backoff time.Duration
	for {
		if !s.waitConnectionSlot(name) {
			return
		}
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and similar: back off, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "listener", name, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		c, ok := s.admit(name, nc)
		if !ok {
			nc.Close()
			continue
		}
		go c.serve() // accounted in s.wg by admit
	}
}

// admit registers a new connection unless a connection limit refuses it.
func (s *Server) admit(listener string, nc net.Conn) (*conn, bool) {
	ip := remoteIP(nc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, false
	}
	if limit, ok := s.perIPLimit(ip); ok && s.mu.perIP[ip] >= limit {
		s.log.Warn("refusing connection: max.connections.per.ip reached", "remote", nc.RemoteAddr().String(), "limit", limit)
		return nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:      s,
		nc:       nc,
		listener: listener,
		log:      s.log.With("remote", nc.RemoteAddr().String()),
		ctx:      ctx,
		cancel:   cancel,
		pending:  make(chan *slot, maxInFlight),
		window:   make(chan struct{}, maxInFlight),
	}
	s.mu.conns[c] = struct{}{}
	s.mu.perIP[ip]++
	s.wg.Add(1)
	return c, true
}

func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	ip := remoteIP(c.nc)
	if s.mu.perIP[ip]--; s.mu.perIP[ip] <= 0 {
		delete(s.mu.perIP, ip)
	}
	if s.mu.acceptWaiters > 0 {
		close(s.mu.connClosed)
		s.mu.connClosed = make(chan struct{})
	}
	s.mu.Unlock()
	s.wg.Done()
}

func remoteIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return nc.RemoteAddr().String()
}

// handle runs one handler. A panic in a handler is a bug: it is logged with
// its stack and the connection is closed; the broker stays up.
func (s *Server) handle(c *conn, api handlers.API, req *handlers.Request, sl *slot) {
	defer func() {
		if r := recover(); r != nil {
			req.Log.Error("handler panic; closing connection", "api", api.Key, "version", req.Version, "panic", r, "stack", string(debug.Stack()))
			c.cancel()
			c.nc.Close()
		}
	}()
	if !s.env.Serves(c.listener, api.Key) {
		// As Kafka does for an API its listener does not expose (a
		// controller listener serves only what controllers serve).
		req.Log.Warn("API not served on this listener; closing connection", "api", api.Key, "listener", c.listener)
		c.cancel()
		c.nc.Close()
		return
	}
	api.Handle(s.env, req, sl.complete)
}

// NumConns returns the number of open client connections.
func (s *Server) NumConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.conns)
}

// Close stops the listeners, closes every connection and waits for their
// goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.mu.closed {
		close(s.closing)
	}
	s.mu.closed = true
	for _, ln := range s.mu.listeners {
		ln.Close()
	}
	for c := range s.mu.conns {
		c.cancel()
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
