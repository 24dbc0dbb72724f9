package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"samsa/internal/config"
	"samsa/internal/controller"
	"samsa/internal/metadata"
	"samsa/internal/partition"
)

// Env is everything the handlers reach: this broker's identity and config,
// the metadata (read from the local image, written through the controller),
// and the replicas.
type Env struct {
	NodeID     int32
	Config     *config.Broker
	Controller *controller.Controller
	Partitions *partition.Manager
	Log        *slog.Logger
	Clock      func() time.Time

	ProducerIDs *ProducerIDs
	Groups      *GroupRuntime
	Peers       Peers // other brokers; nil on a node that has none
}

// Image returns the current metadata image.
func (e *Env) Image() *metadata.Image { return e.Controller.Image() }

// ProducerIDs hands out producer ids from blocks the controller allocates
// durably, so an id is never reused, even across restarts.
type ProducerIDs struct {
	Allocate func(ctx context.Context) (first int64, count int32, err error)

	mu struct {
		sync.Mutex
		next, end int64
	}
}

// Next returns an unused producer id.
func (p *ProducerIDs) Next(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.next >= p.mu.end {
		first, count, err := p.Allocate(ctx)
		if err != nil {
			return -1, err
		}
		p.mu.next, p.mu.end = first, first+int64(count)
	}
	id := p.mu.next
	p.mu.next++
	return id, nil
}
