package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
	"samsa/internal/metadata"
	"samsa/internal/server/handlers"
)

// registration builds this broker's registration: its advertised endpoints
// (with the bound port where the configured one was 0) and a new
// incarnation id for this process.
func (b *Broker) registration() metadata.RegisterBroker {
	reg := metadata.RegisterBroker{ID: b.cfg.NodeID, Rack: b.cfg.Rack, IncarnationID: metadata.NewUUID()}
	for _, l := range b.cfg.AdvertisedListeners {
		port := l.Port
		if bound, ok := b.addrs[l.Name].(*net.TCPAddr); ok && port == 0 {
			port = bound.Port
		}
		reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{
			Listener:         l.Name,
			Host:             l.Host,
			Port:             int32(port),
			SecurityProtocol: securityProtocolID(b.cfg.SecurityProtocols[l.Name]),
		})
	}
	return reg
}

// register announces this broker to the active controller, retrying while
// the quorum settles (the controller may not know its own endpoint yet).
func (b *Broker) register(ctx context.Context) error {
	reg := b.registration()
	backoff := 50 * time.Millisecond
	for {
		epoch, err := b.registerOnce(ctx, reg)
		if err == nil {
			b.epoch.Store(epoch)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("registering with the controller: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (b *Broker) registerOnce(ctx context.Context, reg metadata.RegisterBroker) (int64, error) {
	if b.controller.IsActive() {
		return b.controller.RegisterBroker(ctx, reg)
	}
	req := handlers.RegistrationRequest(reg, b.controller.Image().ClusterID)
	resp, err := b.requestController(ctx, req)
	if err != nil {
		return -1, err
	}
	r := resp.(*kmsg.BrokerRegistrationResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return -1, err
	}
	return r.BrokerEpoch, nil
}

// awaitUnfenced heartbeats until the controller unfences this broker (it
// registered fenced and is unfenced once it has caught up with the
// metadata), so a broker serves only once it can lead partitions.
func (b *Broker) awaitUnfenced(ctx context.Context) error {
	backoff := 10 * time.Millisecond
	for {
		res, err := b.heartbeat(ctx, false)
		if err == nil && !res.IsFenced {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("still fenced")
			}
			return fmt.Errorf("waiting to be unfenced: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// awaitOwnImage waits until this node's metadata shows this broker
// unfenced (the controller said so; a non-voter applies the record a moment
// later), so that its first Metadata answers list it.
func (b *Broker) awaitOwnImage(ctx context.Context) error {
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	for {
		if self := b.controller.Image().Brokers[b.cfg.NodeID]; self != nil && !self.Fenced {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for this broker's unfencing in the metadata: %w", ctx.Err())
		case <-ticker.C:
		}
	}
}

// heartbeat sends one heartbeat to the active controller.
func (b *Broker) heartbeat(ctx context.Context, wantShutdown bool) (controller.HeartbeatResult, error) {
	req := controller.HeartbeatRequest{
		BrokerID: b.cfg.NodeID, BrokerEpoch: b.epoch.Load(), WantShutdown: wantShutdown,
		CurrentMetadataOffset: int64(b.controller.Image().AppliedIndex),
	}
	if b.controller.IsActive() {
		return b.controller.BrokerHeartbeat(ctx, req)
	}
	kreq := kmsg.NewPtrBrokerHeartbeatRequest()
	kreq.BrokerID, kreq.BrokerEpoch, kreq.WantShutdown, kreq.CurrentMetadataOffset = req.BrokerID, req.BrokerEpoch, req.WantShutdown, req.CurrentMetadataOffset
	resp, err := b.requestController(ctx, kreq)
	if err != nil {
		return controller.HeartbeatResult{}, err
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return controller.HeartbeatResult{}, err
	}
	return controller.HeartbeatResult{IsFenced: r.IsFenced, ShouldShutdown: r.ShouldShutdown}, nil
}

// heartbeatLoop keeps the session with the controller alive every
// broker.heartbeat.interval.ms. A stale broker epoch (the controller fenced
// and forgot this incarnation) makes it register again.
func (b *Broker) heartbeatLoop() {
	defer b.wg.Done()
	interval := time.Duration(b.cfg.Int64("broker.heartbeat.interval.ms")) * time.Millisecond
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval*2)
		_, err := b.heartbeat(ctx, false)
		if errors.Is(err, controller.ErrStaleBrokerEpoch) || errors.Is(err, kerr.StaleBrokerEpoch) {
			b.log.Warn("the controller no longer knows this broker's epoch; registering again")
			err = b.register(ctx)
		}
		cancel()
		if err != nil {
			b.log.Debug("heartbeat failed", "err", err)
		}
	}
}

// controlledShutdown asks the controller to move this broker's
// leaderships away before it stops (clients then see no errors), waiting
// at most timeout.
func (b *Broker) controlledShutdown(timeout time.Duration) {
	if len(b.controller.Image().Brokers) < 2 {
		return // nothing to move leadership to
	}
	// Like Kafka's controlled.shutdown.max.retries: a controller that
	// cannot be reached three times in a row (the quorum is gone) is not
	// waited for.
	const maxFailures = 3
	deadline := time.Now().Add(timeout)
	failures := 0
	for time.Now().Before(deadline) && failures < maxFailures {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := b.heartbeat(ctx, true)
		cancel()
		switch {
		case err != nil:
			failures++
		case res.ShouldShutdown:
			b.log.Info("controlled shutdown: leaderships moved")
			return
		default:
			failures = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.log.Warn("controlled shutdown did not complete; stopping anyway", "controller_failures", failures)
}
