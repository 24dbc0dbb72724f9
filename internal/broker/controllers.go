package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errNoController: no controller answered as the active one.
var errNoController = errors.New("no active controller reachable")

// requestController sends a broker-to-controller request (registration,
// heartbeat, AlterPartition) to the active controller's controller
// listener. When this node does not know the active controller yet (a
// broker-only node before the quorum has reached it, or during an
// election) it asks each voter of controller.quorum.voters in turn; a voter
// that is not the active controller answers NOT_CONTROLLER.
func (b *Broker) requestController(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	candidates := []int32{b.controller.LeaderID()}
	if candidates[0] < 0 {
		candidates = candidates[:0]
		for _, voter := range b.cfg.Voters {
			candidates = append(candidates, voter.ID)
		}
	}
	err := errNoController
	for _, node := range candidates {
		resp, requestErr := b.peers.RequestController(ctx, node, req)
		switch {
		case requestErr != nil:
			err = requestErr
		case controllerErrorCode(resp) == kerr.NotController.Code:
			err = fmt.Errorf("%w: node %d: %w", errNoController, node, kerr.NotController)
		default:
			return resp, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// controllerErrorCode is the top-level error code of a controller's answer.
func controllerErrorCode(resp kmsg.Response) int16 {
	switch r := resp.(type) {
	case *kmsg.BrokerRegistrationResponse:
		return r.ErrorCode
	case *kmsg.BrokerHeartbeatResponse:
		return r.ErrorCode
	case *kmsg.AlterPartitionResponse:
		return r.ErrorCode
	}
	return 0
}

// resolveController returns a voter's controller listener address
// (controller.quorum.voters).
func (b *Broker) resolveController(node int32) (string, bool) {
	for _, voter := range b.cfg.Voters {
		if voter.ID == node {
			return voter.Address(), true
		}
	}
	return "", false
}

// advertisedAddress is this node's advertised address on the named
// listener, with the bound port where the configured one is 0.
func (b *Broker) advertisedAddress(name string) (string, bool) {
	for _, l := range b.cfg.AdvertisedListeners {
		if l.Name != name {
			continue
		}
		port := l.Port
		if bound, ok := b.addrs[l.Name].(*net.TCPAddr); ok && port == 0 {
			port = bound.Port
		}
		return net.JoinHostPort(l.Host, strconv.Itoa(port)), true
	}
	return "", false
}
