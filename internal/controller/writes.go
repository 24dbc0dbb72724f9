package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"samsa/internal/metadata"
)

// ErrInvalidRequest is wrapped by writes rejected by validation.
var ErrInvalidRequest = errors.New("invalid metadata request")

// ProducerIDBlockSize is how many producer ids AllocateProducerIDs hands out.
const ProducerIDBlockSize = 1000

// propose appends records through Raft and returns once they are committed,
// applied, and delivered to subscribers. Callers hold c.write.
func (c *Controller) propose(ctx context.Context, records []metadata.Record) error {
	if len(records) == 0 {
		return nil
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if c.raft.State() != raft.Leader {
		return ErrNotController
	}
	data, err := metadata.EncodeBatch(records)
	if err != nil {
		return err
	}
	future := c.raft.Apply(data, timeoutOf(ctx))
	if err := future.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return fmt.Errorf("%w: %v", ErrNotController, err)
		}
		if errors.Is(err, raft.ErrRaftShutdown) {
			return ErrClosed
		}
		return fmt.Errorf("append metadata: %w", err)
	}
	if response, ok := future.Response().(error); ok && response != nil {
		return response
	}
	return c.waitDelivered(ctx, future.Index())
}

// ensureClusterID writes the cluster id if the log has none yet.
func (c *Controller) ensureClusterID(ctx context.Context) error {
	c.write.Lock()
	defer c.write.Unlock()
	if c.Image().ClusterID != "" {
		return nil
	}
	clusterID := c.config.Broker.ClusterID
	if clusterID == "" {
		clusterID = metadata.NewUUID().String()
	}
	return c.propose(ctx, []metadata.Record{metadata.ClusterIDRecord{ClusterID: clusterID}})
}

// RegisterBroker records a broker's registration (replacing any earlier one).
func (c *Controller) RegisterBroker(ctx context.Context, registration metadata.RegisterBroker) error {
	if registration.ID < 0 {
		return fmt.Errorf("%w: broker id %d", ErrInvalidRequest, registration.ID)
	}
	c.write.Lock()
	defer c.write.Unlock()
	return c.propose(ctx, []metadata.Record{registration})
}

// FenceBroker fences a registered broker.
func (c *Controller) FenceBroker(ctx context.Context, id int32) error {
	return c.setFenced(ctx, id, true)
}

// UnfenceBroker unfences a registered broker.
func (c *Controller) UnfenceBroker(ctx context.Context, id int32) error {
	return c.setFenced(ctx, id, false)
}

func (c *Controller) setFenced(ctx context.Context, id int32, fenced bool) error {
	c.write.Lock()
	defer c.write.Unlock()
	broker, ok := c.Image().Brokers[id]
	if !ok {
		return fmt.Errorf("%w: broker %d is not registered", ErrInvalidRequest, id)
	}
	if broker.Fenced == fenced {
		return nil
	}
	if fenced {
		return c.propose(ctx, []metadata.Record{metadata.FenceBroker{ID: id}})
	}
	return c.propose(ctx, []metadata.Record{metadata.UnfenceBroker{ID: id}})
}

// AllocateProducerIDs durably reserves the next block of producer ids.
func (c *Controller) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int32, error) {
	c.write.Lock()
	defer c.write.Unlock()
	first := c.Image().NextProducerID
	record := metadata.ProducerIDsBlock{BrokerID: brokerID, NextProducerID: first + ProducerIDBlockSize}
	if err := c.propose(ctx, []metadata.Record{record}); err != nil {
		return 0, 0, err
	}
	return first, ProducerIDBlockSize, nil
}

// Snapshot forces a Raft snapshot of the current image.
func (c *Controller) Snapshot() error {
	return c.raft.Snapshot().Error()
}
