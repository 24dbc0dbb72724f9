package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	"samsa/internal/metadata"
)

// DefaultSessionTimeout is broker.session.timeout.ms's default.
const DefaultSessionTimeout = 9 * time.Second

// HeartbeatRequest is one broker heartbeat to the active controller.
type HeartbeatRequest struct {
	BrokerID    int32
	BrokerEpoch int64 // returned by RegisterBroker
	WantFence   bool
	// WantShutdown asks for a controlled shutdown: leaderships move away
	// first; ShouldShutdown says when they have.
	WantShutdown bool
	// CurrentMetadataOffset is the applied index of the broker's metadata
	// image (metadata.Image.AppliedIndex). A fenced broker is unfenced once
	// it reaches its registration (BrokerEpoch); a shutting-down broker may
	// stop once it has seen its leaderships move.
	CurrentMetadataOffset int64
}

// HeartbeatResult is the controller's answer to a heartbeat.
type HeartbeatResult struct {
	IsFenced       bool
	ShouldShutdown bool
}

// sessionState is the active controller's in-memory view of broker
// sessions. Guarded by Controller.write.
type sessionState struct {
	active          bool                // sessions were started for the current leadership
	lastSeen        map[int32]time.Time // last heartbeat (or leadership start) per unfenced broker
	shutdownOffsets map[int32]int64     // index of the latest controlled-shutdown records per broker
}

func (c *Controller) now() time.Time {
	if c.config.Clock != nil {
		return c.config.Clock()
	}
	return time.Now()
}

// sessionTimeout returns Config.SessionTimeout, else broker.session.timeout.ms.
func (c *Controller) sessionTimeout() time.Duration {
	if c.config.SessionTimeout > 0 {
		return c.config.SessionTimeout
	}
	if millis := c.config.Broker.Int64("broker.session.timeout.ms"); millis > 0 {
		return time.Duration(millis) * time.Millisecond
	}
	return DefaultSessionTimeout
}

// startSessionsLocked starts every unfenced broker's session clock now, as
// a newly elected controller must, once this node has applied the log
// committed before its election (so decisions see the current image).
func (c *Controller) startSessionsLocked() bool {
	if err := c.raft.Barrier(10 * time.Second).Error(); err != nil {
		c.logger.Warn("controller barrier before starting broker sessions", "error", err)
		return false
	}
	now := c.now()
	c.sessions.active = true
	c.sessions.lastSeen = map[int32]time.Time{}
	c.sessions.shutdownOffsets = map[int32]int64{}
	for _, broker := range c.Image().UnfencedBrokers() {
		c.sessions.lastSeen[broker.ID] = now
	}
	return true
}

// stopSessionsLocked forgets sessions when leadership is lost.
func (c *Controller) stopSessionsLocked() {
	c.sessions.active = false
	c.sessions.lastSeen = nil
	c.sessions.shutdownOffsets = nil
}

// syncSessionsLocked starts or stops sessions to match leadership and
// reports whether this node is the active controller.
func (c *Controller) syncSessionsLocked() bool {
	active := c.IsActive()
	switch {
	case active && !c.sessions.active:
		return c.startSessionsLocked()
	case !active && c.sessions.active:
		c.stopSessionsLocked()
	}
	return active
}

// RegisterBroker records a broker's registration and returns its broker
// epoch (the log index of the registration). The broker starts fenced; its
// heartbeats unfence it. Re-registering with a new (or zero) incarnation
// ends the old session: its leaderships move and it leaves ISRs (except as
// the last member). Repeating the current non-zero incarnation returns the
// existing epoch without a write.
func (c *Controller) RegisterBroker(ctx context.Context, registration metadata.RegisterBroker) (int64, error) {
	if registration.ID < 0 {
		return 0, fmt.Errorf("%w: broker id %d", ErrInvalidRequest, registration.ID)
	}
	c.write.Lock()
	defer c.write.Unlock()
	if !c.syncSessionsLocked() {
		return 0, ErrNotController
	}
	if err := c.ensureNonvoterLocked(registration); err != nil {
		return 0, err
	}
	image := c.Image()
	existing := image.Brokers[registration.ID]
	if existing != nil && sameRegistration(existing, registration) {
		return existing.Epoch, nil
	}
	registration.Fenced = true
	records := []metadata.Record{registration}
	if existing != nil {
		records = append(records, c.leaveRecords(image, registration.ID, true)...)
	}
	delete(c.sessions.lastSeen, registration.ID)
	delete(c.sessions.shutdownOffsets, registration.ID)
	index, err := c.proposeIndex(ctx, records)
	return int64(index), err
}

func sameRegistration(existing *metadata.BrokerImage, registration metadata.RegisterBroker) bool {
	return !registration.IncarnationID.IsZero() && existing.IncarnationID == registration.IncarnationID &&
		existing.Rack == registration.Rack && slices.Equal(existing.Endpoints, registration.Endpoints)
}

// BrokerHeartbeat renews a broker's session and moves it between fenced,
// unfenced and controlled shutdown as the request asks.
func (c *Controller) BrokerHeartbeat(ctx context.Context, request HeartbeatRequest) (HeartbeatResult, error) {
	c.write.Lock()
	defer c.write.Unlock()
	if !c.syncSessionsLocked() {
		return HeartbeatResult{}, ErrNotController
	}
	broker, err := c.checkBrokerEpoch(c.Image(), request.BrokerID, request.BrokerEpoch)
	if err != nil {
		return HeartbeatResult{}, err
	}
	if !broker.Fenced {
		c.sessions.lastSeen[broker.ID] = c.now()
	}
	switch {
	case request.WantShutdown:
		return c.controlledShutdownLocked(ctx, broker, request.CurrentMetadataOffset)
	case request.WantFence:
		return HeartbeatResult{IsFenced: true}, c.fenceLocked(ctx, broker.ID)
	case broker.Fenced && request.CurrentMetadataOffset >= broker.Epoch:
		if err := c.unfenceLocked(ctx, broker.ID); err != nil {
			return HeartbeatResult{IsFenced: true}, err
		}
		c.sessions.lastSeen[broker.ID] = c.now()
		return HeartbeatResult{}, nil
	}
	return HeartbeatResult{IsFenced: broker.Fenced}, nil
}

// checkBrokerEpoch returns the registration of id if epoch is its current one.
func (c *Controller) checkBrokerEpoch(image *metadata.Image, id int32, epoch int64) (*metadata.BrokerImage, error) {
	broker, ok := image.Brokers[id]
	if !ok {
		return nil, fmt.Errorf("%w: broker %d", ErrBrokerNotRegistered, id)
	}
	if broker.Epoch != epoch {
		return nil, fmt.Errorf("%w: broker %d epoch %d, current %d", ErrStaleBrokerEpoch, id, epoch, broker.Epoch)
	}
	return broker, nil
}

// controlledShutdownLocked moves leaderships off the broker; once it leads
// nothing movable and has seen the moves, it is fenced and may stop.
func (c *Controller) controlledShutdownLocked(ctx context.Context, broker *metadata.BrokerImage, offset int64) (HeartbeatResult, error) {
	if broker.Fenced {
		return HeartbeatResult{IsFenced: true, ShouldShutdown: true}, nil
	}
	image := c.Image()
	records := c.leaveRecords(image, broker.ID, false)
	if !broker.InControlledShutdown {
		records = append([]metadata.Record{metadata.BrokerControlledShutdown{ID: broker.ID}}, records...)
	}
	if len(records) > 0 {
		index, err := c.proposeIndex(ctx, records)
		if err != nil {
			return HeartbeatResult{}, err
		}
		c.sessions.shutdownOffsets[broker.ID] = int64(index)
	}
	if leadsMovable(c.Image(), broker.ID) || offset < c.sessions.shutdownOffsets[broker.ID] {
		return HeartbeatResult{}, nil
	}
	if err := c.fenceLocked(ctx, broker.ID); err != nil {
		return HeartbeatResult{}, err
	}
	return HeartbeatResult{IsFenced: true, ShouldShutdown: true}, nil
}

// FenceBroker fences a registered broker, moving its leaderships.
func (c *Controller) FenceBroker(ctx context.Context, id int32) error {
	c.write.Lock()
	defer c.write.Unlock()
	if _, ok := c.Image().Brokers[id]; !ok {
		return fmt.Errorf("%w: broker %d is not registered", ErrInvalidRequest, id)
	}
	return c.fenceLocked(ctx, id)
}

// UnfenceBroker unfences a registered broker, giving it the offline
// partitions it can lead.
func (c *Controller) UnfenceBroker(ctx context.Context, id int32) error {
	c.write.Lock()
	defer c.write.Unlock()
	if _, ok := c.Image().Brokers[id]; !ok {
		return fmt.Errorf("%w: broker %d is not registered", ErrInvalidRequest, id)
	}
	if err := c.unfenceLocked(ctx, id); err != nil {
		return err
	}
	if c.syncSessionsLocked() {
		c.sessions.lastSeen[id] = c.now()
	}
	return nil
}

// fenceLocked writes, in one entry, FenceBroker and the partition changes
// taking the broker out of leaderships and ISRs.
func (c *Controller) fenceLocked(ctx context.Context, id int32) error {
	image := c.Image()
	if broker, ok := image.Brokers[id]; !ok || broker.Fenced {
		return nil
	}
	records := append([]metadata.Record{metadata.FenceBroker{ID: id}}, c.leaveRecords(image, id, true)...)
	if err := c.propose(ctx, records); err != nil {
		return err
	}
	delete(c.sessions.lastSeen, id)
	c.logger.Info("fenced broker", "broker", id, "partition changes", len(records)-1)
	return nil
}

// unfenceLocked writes UnfenceBroker and the leaderships the broker takes.
func (c *Controller) unfenceLocked(ctx context.Context, id int32) error {
	image := c.Image()
	if broker, ok := image.Brokers[id]; !ok || !broker.Fenced {
		return nil
	}
	records := append([]metadata.Record{metadata.UnfenceBroker{ID: id}}, c.returnRecords(image, id)...)
	if err := c.propose(ctx, records); err != nil {
		return err
	}
	c.logger.Info("unfenced broker", "broker", id, "partition changes", len(records)-1)
	return nil
}

// expireSessions fences every unfenced broker whose session timed out.
func (c *Controller) expireSessions() {
	c.write.Lock()
	defer c.write.Unlock()
	if !c.syncSessionsLocked() {
		return
	}
	now, timeout := c.now(), c.sessionTimeout()
	for _, broker := range c.Image().UnfencedBrokers() {
		last, ok := c.sessions.lastSeen[broker.ID]
		if !ok {
			c.sessions.lastSeen[broker.ID] = now
			continue
		}
		if now.Sub(last) <= timeout {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.fenceLocked(ctx, broker.ID)
		cancel()
		if err != nil {
			c.logger.Warn("fence expired broker", "broker", broker.ID, "error", err)
			return
		}
		c.logger.Info("broker session expired", "broker", broker.ID, "timeout", timeout)
	}
}

// superviseBrokers expires sessions and rebalances leaders on the active
// controller until Close.
func (c *Controller) superviseBrokers() {
	defer c.group.Done()
	interval := min(max(c.sessionTimeout()/8, 10*time.Millisecond), 500*time.Millisecond)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	nextRebalance := c.now().Add(c.imbalanceCheckInterval())
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
		}
		c.expireSessions()
		if now := c.now(); now.After(nextRebalance) {
			nextRebalance = now.Add(c.imbalanceCheckInterval())
			c.rebalanceLeaders()
		}
	}
}
