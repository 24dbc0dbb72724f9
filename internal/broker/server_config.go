package broker

import (
	"time"

	"samsa/internal/config"
	"samsa/internal/server"
)

// serverConfig maps the connection and request limits of the broker config
// to the protocol server's.
func serverConfig(cfg *config.Broker) server.Config {
	perIP := int(cfg.MaxConnectionsPerIP)
	if perIP == 0 {
		perIP = -1 // Kafka's 0: none, except the overrides
	}
	overrides := make(map[string]int, len(cfg.MaxConnectionsPerIPOverrides))
	for host, limit := range cfg.MaxConnectionsPerIPOverrides {
		overrides[host] = int(limit)
	}
	return server.Config{
		MaxRequestBytes:              cfg.SocketRequestMaxBytes,
		IdleTimeout:                  time.Duration(cfg.ConnectionsMaxIdleMs) * time.Millisecond,
		MaxConnections:               int(cfg.MaxConnections),
		MaxConnectionsPerIP:          perIP,
		MaxConnectionsPerIPOverrides: overrides,
		QueuedMaxRequestBytes:        cfg.QueuedMaxRequestBytes,
	}
}
