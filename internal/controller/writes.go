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
	_, err := c.proposeIndex(ctx, records)
	return err
}

// proposeIndex is propose returning the log index of the entry (0 when
// there was nothing to write).
func (c *Controller) proposeIndex(ctx context.Context, records []metadata.Record) (uint64, error) {
	if len(records) == 0 {
		return 0, nil
	}
	select {
	case <-c.done:
		return 0, ErrClosed
	default:
	}
	if c.raft.State() != raft.Leader {
		return 0, ErrNotController
	}
	data, err := metadata.EncodeBatch(records)
	if err != nil {
		return 0, err
	}
	future := c.raft.Apply(data, timeoutOf(ctx))
	if err := future.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return 0, fmt.Errorf("%w: %v", ErrNotController, err)
		}
		if errors.Is(err, raft.ErrRaftShutdown) {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("append metadata: %w", err)
	}
	if response, ok := future.Response().(error); ok && response != nil {
		return 0, response
	}
	return future.Index(), c.waitDelivered(ctx, future.Index())
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
