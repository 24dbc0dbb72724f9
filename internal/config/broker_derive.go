package config

import (
	"fmt"
	"slices"
	"strings"
)

// build validates the layers and derives the typed fields.
func build(layers []layer) (*Broker, error) {
	b := &Broker{layers: layers}
	for _, current := range layers {
		for _, key := range sortedKeys(current.values) {
			if err := checkBrokerKey(key, current.values[key]); err != nil {
				return nil, err
			}
		}
	}
	if err := b.deriveIdentity(); err != nil {
		return nil, err
	}
	if err := b.deriveListeners(); err != nil {
		return nil, err
	}
	b.deriveStorage()
	b.deriveLimits()
	return b, nil
}

func (b *Broker) deriveIdentity() error {
	b.NodeID = int32(b.int64Value("node.id"))
	if brokerID, ok := b.Value("broker.id"); ok {
		if !b.IsSet("node.id") {
			b.NodeID = int32(b.int64Value("broker.id"))
		} else if brokerID != b.stringValue("node.id") {
			return fmt.Errorf("%w: broker.id=%s does not match node.id=%d", ErrInvalidConfig, brokerID, b.NodeID)
		}
	}
	b.ProcessRoles = splitList(b.stringValue("process.roles"))
	b.ClusterID = b.stringValue("cluster.id")
	b.Rack = b.stringValue("broker.rack")
	voters, err := ParseVoters(b.stringValue("controller.quorum.voters"))
	if err != nil {
		return fmt.Errorf("%w: controller.quorum.voters: %v", ErrInvalidConfig, err)
	}
	b.Voters = voters
	isVoter := slices.ContainsFunc(voters, func(voter Voter) bool { return voter.ID == b.NodeID })
	switch {
	case b.HasRole("controller") && !isVoter:
		return fmt.Errorf("%w: process.roles includes controller but controller.quorum.voters (%s) does not include node.id %d",
			ErrInvalidConfig, b.stringValue("controller.quorum.voters"), b.NodeID)
	case !b.HasRole("controller") && isVoter:
		return fmt.Errorf("%w: process.roles=broker but node.id %d is one of the controller.quorum.voters (%s); a broker-only node needs an id of its own",
			ErrInvalidConfig, b.NodeID, b.stringValue("controller.quorum.voters"))
	}
	return nil
}

// HasRole reports whether process.roles includes role.
func (b *Broker) HasRole(role string) bool {
	return slices.Contains(b.ProcessRoles, role)
}

func (b *Broker) deriveListeners() error {
	var err error
	if b.Listeners, err = ParseListeners(b.stringValue("listeners")); err != nil {
		return fmt.Errorf("%w: listeners: %v", ErrInvalidConfig, err)
	}
	if b.SecurityProtocols, err = ParseProtocolMap(b.stringValue("listener.security.protocol.map")); err != nil {
		return fmt.Errorf("%w: listener.security.protocol.map: %v", ErrInvalidConfig, err)
	}
	b.ControllerListenerNames = upperAll(splitList(b.stringValue("controller.listener.names")))
	b.InterBrokerListenerName = strings.ToUpper(b.stringValue("inter.broker.listener.name"))
	for _, listener := range b.Listeners {
		if _, ok := b.SecurityProtocols[listener.Name]; !ok {
			return fmt.Errorf("%w: listener.security.protocol.map has no entry for listener %s", ErrInvalidConfig, listener.Name)
		}
	}
	if advertised, ok := b.Value("advertised.listeners"); ok {
		if b.AdvertisedListeners, err = ParseListeners(advertised); err != nil {
			return fmt.Errorf("%w: advertised.listeners: %v", ErrInvalidConfig, err)
		}
	} else {
		for _, listener := range b.Listeners {
			if !slices.Contains(b.ControllerListenerNames, listener.Name) {
				b.AdvertisedListeners = append(b.AdvertisedListeners, listener)
			}
		}
	}
	for index := range b.AdvertisedListeners {
		if b.AdvertisedListeners[index].Host == "" {
			b.AdvertisedListeners[index].Host = "localhost"
		}
	}
	return b.checkListenerRoles()
}

func (b *Broker) checkListenerRoles() error {
	names := make([]string, 0, len(b.Listeners))
	for _, listener := range b.Listeners {
		names = append(names, listener.Name)
	}
	if b.HasRole("controller") && !slices.ContainsFunc(b.ControllerListenerNames, func(name string) bool { return slices.Contains(names, name) }) {
		return fmt.Errorf("%w: controller.listener.names %v not among listeners", ErrInvalidConfig, b.ControllerListenerNames)
	}
	if b.HasRole("broker") && !slices.Contains(names, b.InterBrokerListenerName) {
		return fmt.Errorf("%w: inter.broker.listener.name %s not among listeners", ErrInvalidConfig, b.InterBrokerListenerName)
	}
	for _, name := range names {
		isControllerListener := slices.Contains(b.ControllerListenerNames, name)
		switch {
		case !b.HasRole("controller") && isControllerListener:
			return fmt.Errorf("%w: listeners must not include the controller listener %s when process.roles=broker (controllers listen on controller.quorum.voters)", ErrInvalidConfig, name)
		case !b.HasRole("broker") && !isControllerListener:
			return fmt.Errorf("%w: listeners may only include controller listeners (controller.listener.names %v) when process.roles=controller, not %s", ErrInvalidConfig, b.ControllerListenerNames, name)
		}
	}
	return nil
}

// ControllerListener returns the first controller listener, if this node has one.
func (b *Broker) ControllerListener() (Listener, bool) {
	for _, listener := range b.Listeners {
		if slices.Contains(b.ControllerListenerNames, listener.Name) {
			return listener, true
		}
	}
	return Listener{}, false
}

func upperAll(items []string) []string {
	for index := range items {
		items[index] = strings.ToUpper(items[index])
	}
	return items
}

func (b *Broker) deriveStorage() {
	if b.IsSet("log.dirs") || !b.IsSet("log.dir") {
		b.LogDirs = splitList(b.stringValue("log.dirs"))
	} else {
		b.LogDirs = []string{b.stringValue("log.dir")}
	}
	b.MetadataLogDir = b.stringValue("metadata.log.dir")
	if b.MetadataLogDir == "" {
		b.MetadataLogDir = b.LogDirs[0]
	}
	b.RetentionMs = b.retentionMs()
	b.RetentionBytes = b.int64Value("log.retention.bytes")
	b.SegmentBytes = b.int64Value("log.segment.bytes")
	b.RollMs = b.rollMs()
	b.CompressionType = strings.ToLower(b.stringValue("compression.type"))
	b.MinInsyncReplicas = int32(b.int64Value("min.insync.replicas"))
	b.UncleanLeaderElection = b.boolValue("unclean.leader.election.enable")
}

// retentionMs applies Kafka's precedence: ms over minutes over hours; negative means -1.
func (b *Broker) retentionMs() int64 {
	var millis int64
	switch {
	case b.hasValue("log.retention.ms"):
		millis = b.int64Value("log.retention.ms")
	case b.hasValue("log.retention.minutes"):
		millis = b.int64Value("log.retention.minutes") * 60 * 1000
	default:
		millis = b.int64Value("log.retention.hours") * 60 * 60 * 1000
	}
	if millis < 0 {
		return -1
	}
	return millis
}

func (b *Broker) rollMs() int64 {
	if b.hasValue("log.roll.ms") {
		return b.int64Value("log.roll.ms")
	}
	return b.int64Value("log.roll.hours") * 60 * 60 * 1000
}

func (b *Broker) hasValue(key string) bool {
	_, ok := b.Value(key)
	return ok
}

func (b *Broker) deriveLimits() {
	b.NumPartitions = int32(b.int64Value("num.partitions"))
	b.DefaultReplicationFactor = int16(min(b.int64Value("default.replication.factor"), 32767))
	b.AutoCreateTopics = b.boolValue("auto.create.topics.enable")
	b.DeleteTopicEnable = b.boolValue("delete.topic.enable")
	b.MessageMaxBytes = int32(b.int64Value("message.max.bytes"))
	b.SocketRequestMaxBytes = int32(b.int64Value("socket.request.max.bytes"))
	b.SocketSendBufferBytes = int32(b.int64Value("socket.send.buffer.bytes"))
	b.SocketReceiveBufferBytes = int32(b.int64Value("socket.receive.buffer.bytes"))
	b.QueuedMaxRequests = int32(b.int64Value("queued.max.requests"))
	b.MaxConnections = int32(b.int64Value("max.connections"))
	b.MaxConnectionsPerIP = int32(b.int64Value("max.connections.per.ip"))
	b.MaxConnectionsPerIPOverrides, _ = parseConnectionOverrides(b.stringValue("max.connections.per.ip.overrides"))
	b.QueuedMaxRequestBytes = b.int64Value("queued.max.request.bytes")
	b.ConnectionsMaxIdleMs = b.int64Value("connections.max.idle.ms")
	b.OffsetsTopicNumPartitions = int32(b.int64Value("offsets.topic.num.partitions"))
	b.OffsetsTopicReplicationFactor = int16(b.int64Value("offsets.topic.replication.factor"))
	b.GroupInitialRebalanceDelayMs = int32(b.int64Value("group.initial.rebalance.delay.ms"))
	b.GroupMinSessionTimeoutMs = int32(b.int64Value("group.min.session.timeout.ms"))
	b.GroupMaxSessionTimeoutMs = int32(b.int64Value("group.max.session.timeout.ms"))
	b.TransactionStateLogNumPartitions = int32(b.int64Value("transaction.state.log.num.partitions"))
	b.TransactionStateLogReplicationFactor = int16(b.int64Value("transaction.state.log.replication.factor"))
	b.TransactionMaxTimeoutMs = int32(b.int64Value("transaction.max.timeout.ms"))
	b.ProducerIDExpirationMs = b.int64Value("producer.id.expiration.ms")
	b.FetchMaxBytes = int32(b.int64Value("fetch.max.bytes"))
	b.ReplicaLagTimeMaxMs = b.int64Value("replica.lag.time.max.ms")
}
