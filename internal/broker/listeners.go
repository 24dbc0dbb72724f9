package broker

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"samsa/internal/mux"
)

// errNoRaftListener: the roles leave this node no port for Raft.
var errNoRaftListener = errors.New("no listener for the metadata quorum")

// bindListeners binds this node's listeners without serving them yet and
// returns the Raft side of the port Raft shares with the Kafka protocol,
// and the Raft address to advertise ("" for a voter: its address in
// controller.quorum.voters). A controller's Raft shares its controller
// listener; a broker-only node's (a non-voter's) shares its inter-broker
// listener, whose advertised address the active controller dials.
func (b *Broker) bindListeners(isBroker, isController bool) (net.Listener, string, error) {
	var raftListener net.Listener
	for _, l := range b.cfg.Listeners {
		address := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
		controllerListener := slices.Contains(b.cfg.ControllerListenerNames, l.Name)
		if controllerListener && !isController || !controllerListener && !isBroker {
			continue
		}
		sharedWithRaft := raftListener == nil &&
			(isController && controllerListener || !isController && l.Name == b.cfg.InterBrokerListenerName)
		if !sharedWithRaft {
			ln, err := net.Listen("tcp", address)
			if err != nil {
				return nil, "", fmt.Errorf("listener %s on %s: %w", l.Name, address, err)
			}
			b.addrs[l.Name], b.pending[l.Name] = ln.Addr(), ln
			continue
		}
		shared, err := mux.Listen(address, b.log.With("component", "mux", "listener", l.Name))
		if err != nil {
			return nil, "", fmt.Errorf("listener %s on %s: %w", l.Name, address, err)
		}
		b.muxes = append(b.muxes, shared)
		b.addrs[l.Name], b.pending[l.Name] = shared.Addr(), shared.Kafka()
		raftListener = shared.Raft()
	}
	if raftListener == nil {
		return nil, "", errNoRaftListener
	}
	if isController {
		return raftListener, "", nil
	}
	advertise, ok := b.advertisedAddress(b.cfg.InterBrokerListenerName)
	if !ok {
		return nil, "", fmt.Errorf("%w: inter.broker.listener.name %s is not advertised", errNoRaftListener, b.cfg.InterBrokerListenerName)
	}
	return raftListener, advertise, nil
}

// serveListeners starts serving the bound controller listeners (or the
// broker listeners) with the Kafka protocol.
func (b *Broker) serveListeners(controllers bool) error {
	for _, l := range b.cfg.Listeners {
		ln, ok := b.pending[l.Name]
		if !ok || slices.Contains(b.cfg.ControllerListenerNames, l.Name) != controllers {
			continue
		}
		delete(b.pending, l.Name)
		if _, err := b.server.Serve(l.Name, ln); err != nil {
			return err
		}
	}
	return nil
}
