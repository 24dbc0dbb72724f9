package controller

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"samsa/internal/metadata"
)

// configurationTimeout bounds one Raft membership change.
const configurationTimeout = 10 * time.Second

// ensureNonvoterLocked makes a registering broker that is not one of the
// configured voters (a broker-only node) a Raft non-voter, so that it
// receives the committed metadata log and applies it like every node. A
// node already in the Raft configuration at the same address is left as
// it is. Nothing is done without Config.BrokerListener (a quorum whose
// brokers are all voters). Callers hold c.write on the active controller.
func (c *Controller) ensureNonvoterLocked(registration metadata.RegisterBroker) error {
	if c.config.BrokerListener == "" || slices.ContainsFunc(c.config.Voters, func(voter Voter) bool { return voter.ID == registration.ID }) {
		return nil
	}
	address, ok := raftAddressOf(registration, c.config.BrokerListener)
	if !ok {
		return fmt.Errorf("%w: broker %d registers no %s endpoint", ErrInvalidRequest, registration.ID, c.config.BrokerListener)
	}
	future := c.raft.GetConfiguration()
	if err := future.Error(); err != nil {
		return raftError(err)
	}
	for _, server := range future.Configuration().Servers {
		if server.ID == serverID(registration.ID) && (server.Suffrage == raft.Voter || server.Address == address) {
			return nil
		}
	}
	if err := c.raft.AddNonvoter(serverID(registration.ID), address, 0, configurationTimeout).Error(); err != nil {
		return raftError(err)
	}
	c.logger.Info("added broker-only node to the metadata quorum as a non-voter", "broker", registration.ID, "address", address)
	return nil
}

// raftAddressOf returns the address of the named listener's endpoint (the
// first endpoint when the name is absent).
func raftAddressOf(registration metadata.RegisterBroker, listener string) (raft.ServerAddress, bool) {
	if len(registration.Endpoints) == 0 {
		return "", false
	}
	endpoint := registration.Endpoints[0]
	for _, candidate := range registration.Endpoints {
		if candidate.Listener == listener {
			endpoint = candidate
		}
	}
	return raft.ServerAddress(net.JoinHostPort(endpoint.Host, strconv.Itoa(int(endpoint.Port)))), true
}

// raftError maps Raft's leadership and shutdown errors to ours.
func raftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v", ErrNotController, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	}
	return fmt.Errorf("metadata quorum membership: %w", err)
}

// Nonvoters returns the ids of the Raft non-voters (broker-only nodes) in
// the latest configuration this node knows.
func (c *Controller) Nonvoters() []int32 {
	future := c.raft.GetConfiguration()
	if future.Error() != nil {
		return nil
	}
	var ids []int32
	for _, server := range future.Configuration().Servers {
		if server.Suffrage != raft.Voter {
			if id, err := strconv.ParseInt(string(server.ID), 10, 32); err == nil {
				ids = append(ids, int32(id))
			}
		}
	}
	return ids
}
