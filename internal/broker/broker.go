// Package broker wires one Samsa node together: the metadata quorum
// (controller), the replicas (partition manager) and the Kafka protocol
// server. It is the only place that knows all of them.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"samsa/internal/config"
	"samsa/internal/controller"
	"samsa/internal/coordinator"
	"samsa/internal/group"
	"samsa/internal/metadata"
	"samsa/internal/partition"
	"samsa/internal/peer"
	"samsa/internal/replication"
	"samsa/internal/server"
	"samsa/internal/server/handlers"
	"samsa/internal/vfs"
)

// Broker is one running node.
type Broker struct {
	cfg        *config.Broker
	log        *slog.Logger
	controller *controller.Controller
	partitions *partition.Manager
	groups     *handlers.GroupRuntime
	peers      *peer.Client
	replicas   *replication.Manager
	server     *server.Server
	addrs      map[string]net.Addr
	epoch      atomic.Int64 // broker epoch from the controller's registration

	stop      chan struct{}  // closed by Close: stops the heartbeat loop
	wg        sync.WaitGroup // the heartbeat loop
	dirFailed chan error     // a log directory failed (buffered, first failure only)
}

// Start starts a node from its configuration and returns once it serves
// clients: the metadata log is replayed, this broker is registered, and
// its replicas are open.
func Start(ctx context.Context, cfg *config.Broker, logger *slog.Logger) (*Broker, error) {
	b := &Broker{cfg: cfg, log: logger, addrs: map[string]net.Addr{}, stop: make(chan struct{}), dirFailed: make(chan error, 1)}
	fsys := vfs.Default()

	parts, err := partition.NewManager(cfg.NodeID, fsys, cfg.LogDirs, logger.With("component", "replicas"), time.Now)
	if err != nil {
		return nil, err
	}
	b.partitions = parts
	parts.OnLogDirFailure(func(dir string, cause error) {
		select {
		case b.dirFailed <- fmt.Errorf("log directory %s failed: %w", dir, cause):
		default:
		}
	})

	ctrlListener, _ := cfg.ControllerListener()
	metaDir := cfg.MetadataLogDir
	if metaDir == "" {
		metaDir = cfg.LogDirs[0]
	}
	ctrl, err := controller.Start(controller.Config{
		NodeID:  cfg.NodeID,
		Voters:  cfg.Voters,
		Bind:    net.JoinHostPort(ctrlListener.Host, strconv.Itoa(ctrlListener.Port)),
		DataDir: filepath.Join(metaDir, "__cluster_metadata-0"),
		Broker:  cfg,
		Logger:  logger.With("component", "controller"),

		LeaderImbalanceCheckInterval: time.Duration(cfg.Int64("leader.imbalance.check.interval.seconds")) * time.Second,
		LeaderImbalancePercentage:    int(cfg.Int64("leader.imbalance.per.broker.percentage")),
	})
	if err != nil {
		parts.Close()
		return nil, err
	}
	b.controller = ctrl
	b.groups = coordinator.NewRuntime(handlers.OffsetsTopic, func(p int32) *group.Shard {
		return group.NewShard(p, b.groupConfig())
	}, time.Now, logger.With("component", "groups"))
	b.peers = peer.New(b.resolvePeer, fmt.Sprintf("samsa-broker-%d", cfg.NodeID))
	b.replicas = replication.NewManager(cfg.NodeID, leaderClient{b.peers}, logger.With("component", "replication"),
		replication.Config{ReplicaLagTimeMax: time.Duration(cfg.ReplicaLagTimeMaxMs) * time.Millisecond})
	ctrl.Subscribe(func(_, next *metadata.Image) { b.applyImage(next) })

	env := &handlers.Env{
		NodeID:     cfg.NodeID,
		Config:     cfg,
		Controller: ctrl,
		Partitions: parts,
		Groups:     b.groups,
		Peers:      b.peers,
		Log:        logger.With("component", "handlers"),
		Clock:      time.Now,
	}
	env.ProducerIDs = &handlers.ProducerIDs{Allocate: func(ctx context.Context) (int64, int32, error) {
		return handlers.AllocateProducerIDs(ctx, ctrl, b.peers, cfg.NodeID)
	}}
	b.server = server.New(server.Config{
		MaxRequestBytes: cfg.SocketRequestMaxBytes,
		IdleTimeout:     time.Duration(cfg.ConnectionsMaxIdleMs) * time.Millisecond,
		MaxConnections:  int(cfg.MaxConnections),
	}, env, logger.With("component", "server"))

	if err := ctrl.WaitReady(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("waiting for the metadata quorum: %w", err)
	}
	for _, l := range cfg.Listeners {
		if isControllerListener(cfg, l.Name) {
			continue
		}
		addr, err := b.server.Listen(l.Name, net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
		if err != nil {
			b.Close()
			return nil, err
		}
		b.addrs[l.Name] = addr
	}
	if err := b.register(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.awaitUnfenced(ctx); err != nil {
		b.Close()
		return nil, err
	}
	b.wg.Add(2)
	go b.heartbeatLoop()
	go b.isrLoop()
	b.applyImage(ctrl.Image())
	parts.RemoveStale()
	return b, nil
}

// resolvePeer returns the inter-broker endpoint of another node from the
// metadata image.
func (b *Broker) resolvePeer(node int32) (string, bool) {
	br := b.controller.Image().Brokers[node]
	if br == nil {
		return "", false
	}
	for _, ep := range br.Endpoints {
		if ep.Listener == b.cfg.InterBrokerListenerName {
			return net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port))), true
		}
	}
	return "", false
}

// Addr returns the bound address of the named listener.
func (b *Broker) Addr(listener string) net.Addr { return b.addrs[listener] }

func isControllerListener(cfg *config.Broker, name string) bool {
	for _, n := range cfg.ControllerListenerNames {
		if n == name {
			return true
		}
	}
	return false
}

// applyImage turns the metadata image into this broker's assignments.
func (b *Broker) applyImage(img *metadata.Image) {
	var as []partition.Assignment
	for _, t := range img.Topics {
		var settings partition.Settings
		resolved := false
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if !containsNode(p.Replicas, b.cfg.NodeID) {
				continue
			}
			if !resolved {
				s, err := b.settingsFor(t.Configs)
				if err != nil {
					b.log.Error("topic configs do not resolve; using broker defaults", "topic", t.Name, "err", err)
					s, _ = b.settingsFor(nil)
				}
				settings, resolved = s, true
			}
			as = append(as, partition.Assignment{
				ID:             partition.ID{Topic: t.Name, Partition: p.Partition},
				TopicID:        t.ID,
				Leader:         p.Leader,
				LeaderEpoch:    p.LeaderEpoch,
				PartitionEpoch: p.PartitionEpoch,
				Replicas:       p.Replicas,
				ISR:            p.ISR,
				Settings:       settings,
			})
		}
	}
	b.unfollowBefore(as)
	b.partitions.Apply(as)
	b.followImage(as)
	b.syncGroups(img)
}

// syncGroups runs a group coordinator shard for every __consumer_offsets
// partition this broker leads.
func (b *Broker) syncGroups(img *metadata.Image) {
	t := img.Topics[handlers.OffsetsTopic]
	if t == nil {
		b.groups.Sync(nil, 0)
		return
	}
	leaders := map[int32]*partition.Partition{}
	for i := range t.Partitions {
		p := &t.Partitions[i]
		if p.Leader != b.cfg.NodeID {
			continue
		}
		if part, ok := b.partitions.Get(partition.ID{Topic: t.Name, Partition: p.Partition}); ok {
			leaders[p.Partition] = part
		}
	}
	b.groups.Sync(leaders, int32(len(t.Partitions)))
}

// groupConfig is the group coordinator's configuration from the broker's.
func (b *Broker) groupConfig() group.Config {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	return group.Config{
		MinSessionTimeout:     ms(int64(b.cfg.GroupMinSessionTimeoutMs)),
		MaxSessionTimeout:     ms(int64(b.cfg.GroupMaxSessionTimeoutMs)),
		InitialRebalanceDelay: ms(int64(b.cfg.GroupInitialRebalanceDelayMs)),
		MaxSize:               int(b.cfg.Int64("group.max.size")),
		OffsetsRetention:      time.Duration(b.cfg.Int64("offsets.retention.minutes")) * time.Minute,
		MaxMetadataBytes:      1 << 20,
		PartitionCount: func(topic string) (int32, bool) {
			t := b.controller.Image().Topics[topic]
			if t == nil {
				return 0, false
			}
			return int32(len(t.Partitions)), true
		},
	}
}

func containsNode(nodes []int32, id int32) bool {
	for _, n := range nodes {
		if n == id {
			return true
		}
	}
	return false
}

// LogDirFailed delivers the first log directory failure. Its replicas
// already answer KAFKA_STORAGE_ERROR; the broker cannot keep them, so the
// caller should Close it (controlled shutdown: leaderships move to the
// other in-sync replicas) and exit, as a KRaft broker does when its log
// directories have failed.
func (b *Broker) LogDirFailed() <-chan error { return b.dirFailed }

// Close moves this broker's leaderships away (controlled shutdown), stops
// serving, then closes replicas and the quorum member.
func (b *Broker) Close() {
	if b.epoch.Load() > 0 {
		b.controlledShutdown(30 * time.Second)
	}
	close(b.stop)
	b.wg.Wait()
	if b.server != nil {
		b.server.Close()
	}
	if b.groups != nil {
		b.groups.Close()
	}
	if b.replicas != nil {
		b.replicas.Close()
	}
	if b.peers != nil {
		b.peers.Close()
	}
	if b.controller != nil {
		b.controller.Close()
	}
	if b.partitions != nil {
		b.partitions.Close()
	}
}

// securityProtocolID maps a protocol name to Kafka's id (SecurityProtocol).
func securityProtocolID(name string) int16 {
	switch name {
	case "SSL":
		return 1
	case "SASL_PLAINTEXT":
		return 2
	case "SASL_SSL":
		return 3
	}
	return 0 // PLAINTEXT
}
