package server

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// waitConnectionSlot blocks an acceptor while max.connections connections
// are open, as Kafka's acceptor does: clients beyond the limit wait in the
// listen backlog instead of being refused. It returns false once the server
// is closing.
func (s *Server) waitConnectionSlot(listener string) bool {
	if s.cfg.MaxConnections <= 0 {
		return true
	}
	logged := false
	for {
		s.mu.Lock()
		open, closed := len(s.mu.conns), s.mu.closed
		if closed || open < s.cfg.MaxConnections {
			s.mu.Unlock()
			return !closed
		}
		s.mu.acceptWaiters++
		connClosed := s.mu.connClosed
		s.mu.Unlock()
		if !logged {
			s.log.Warn("max.connections reached; not accepting until a connection closes", "listener", listener, "open", open)
			logged = true
		}
		select {
		case <-connClosed:
		case <-s.closing:
		}
		s.mu.Lock()
		s.mu.acceptWaiters--
		s.mu.Unlock()
	}
}

// perIPLimit returns the connection limit for a remote address, if any:
// its max.connections.per.ip.overrides entry, else max.connections.per.ip.
func (s *Server) perIPLimit(ip string) (int, bool) {
	if limit, ok := s.overrides[ip]; ok {
		return limit, true
	}
	if s.cfg.MaxConnectionsPerIP < 0 {
		return 0, true
	}
	return s.cfg.MaxConnectionsPerIP, s.cfg.MaxConnectionsPerIP > 0
}

// resolveTimeout bounds the name lookups of max.connections.per.ip.overrides.
const resolveTimeout = 5 * time.Second

// resolveOverrides turns max.connections.per.ip.overrides into limits by
// address, resolving host names once (as Kafka does when the config is
// set). A name that does not resolve is logged and ignored.
func resolveOverrides(overrides map[string]int, log *slog.Logger) map[string]int {
	byAddress := make(map[string]int, len(overrides))
	for host, limit := range overrides {
		if ip := net.ParseIP(host); ip != nil {
			byAddress[ip.String()] = limit
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		addresses, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		cancel()
		if err != nil {
			log.Warn("ignoring max.connections.per.ip.overrides entry", "host", host, "err", err)
			continue
		}
		for _, address := range addresses {
			byAddress[address.IP.String()] = limit
		}
	}
	return byAddress
}
