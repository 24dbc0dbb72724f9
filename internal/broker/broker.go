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
	"samsa/internal/mux"
	"samsa/internal/partition"
	"samsa/internal/peer"
	"samsa/internal/replication"
	"samsa/internal/server"
	"samsa/internal/server/handlers"
	"samsa/internal/vfs"
)

// Broker is one running node in the roles of process.roles: a controller
// (Raft voter, active controller when elected), a broker (replicas, group
// coordinators, client listeners), or both. Every node applies the
// committed metadata log: voters as Raft voters, broker-only nodes as Raft
// non-voters the active controller adds when they register.
type Broker struct {
	cfg        *config.Broker
	log        *slog.Logger
	controller *controller.Controller
	partitions *partition.Manager // nil on a controller-only node
	groups     *handlers.GroupRuntime
	peers      *peer.Client
	replicas   *replication.Manager
	server     *server.Server
	muxes      []*mux.Mux              // ports shared by Kafka and Raft
	pending    map[string]net.Listener // broker listeners bound, served once ready
	addrs      map[string]net.Addr
	epoch      atomic.Int64 // broker epoch from the controller's registration

	// applied serializes applyImage (called by the controller's dispatch
	// and once by startBroker) and keeps it from going back to an older
	// image than the last one applied.
	applied struct {
		sync.Mutex
		index uint64
		any   bool
	}

	stop      chan struct{}  // closed by Close: stops the heartbeat loop
	wg        sync.WaitGroup // the heartbeat loop
	dirFailed chan error     // a log directory failed (buffered, first failure only)
}

// Start starts a node from its configuration and returns once it serves:
// a broker once the metadata log is applied, it is registered and
// unfenced, and its replicas are open; a controller-only node once the
// quorum has a leader and it has applied the log.
func Start(ctx context.Context, cfg *config.Broker, logger *slog.Logger) (*Broker, error) {
	b := &Broker{cfg: cfg, log: logger, addrs: map[string]net.Addr{}, pending: map[string]net.Listener{}, stop: make(chan struct{}), dirFailed: make(chan error, 1)}
	if err := b.start(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Broker) start(ctx context.Context) error {
	cfg, logger := b.cfg, b.log
	isBroker, isController := cfg.HasRole("broker"), cfg.HasRole("controller")
	raftListener, advertise, err := b.bindListeners(isBroker, isController)
	if err != nil {
		return err
	}
	if isBroker {
		if b.partitions, err = partition.NewManager(cfg.NodeID, vfs.Default(), cfg.LogDirs, logger.With("component", "replicas"), time.Now); err != nil {
			return err
		}
		b.partitions.OnLogDirFailure(func(dir string, cause error) {
			select {
			case b.dirFailed <- fmt.Errorf("log directory %s failed: %w", dir, cause):
			default:
			}
		})
	}
	b.controller, err = controller.Start(controller.Config{
		NodeID:         cfg.NodeID,
		Voters:         cfg.Voters,
		Listener:       raftListener,
		Advertise:      advertise,
		BrokerListener: cfg.InterBrokerListenerName,
		DataDir:        filepath.Join(cfg.MetadataLogDir, controller.MetadataDirName),
		Broker:         cfg,
		Logger:         logger.With("component", "controller"),

		LeaderImbalanceCheckInterval: time.Duration(cfg.Int64("leader.imbalance.check.interval.seconds")) * time.Second,
		LeaderImbalancePercentage:    int(cfg.Int64("leader.imbalance.per.broker.percentage")),
	})
	if err != nil {
		return err
	}
	b.peers = peer.New(b.resolvePeer, b.resolveController, fmt.Sprintf("samsa-broker-%d", cfg.NodeID))
	env := b.newEnv(isBroker)
	b.server = server.New(serverConfig(cfg), env, logger.With("component", "server"))
	if isController {
		// Brokers register, heartbeat and forward here from now on.
		if err := b.serveListeners(true); err != nil {
			return err
		}
		if err := b.controller.WaitReady(ctx); err != nil {
			return fmt.Errorf("waiting for the metadata quorum: %w", err)
		}
	}
	if !isBroker {
		return nil
	}
	return b.startBroker(ctx, isController)
}

// newEnv builds the handlers' environment; a controller-only node has no
// replicas and no group coordinator (its listener serves neither).
func (b *Broker) newEnv(isBroker bool) *handlers.Env {
	env := &handlers.Env{
		NodeID:     b.cfg.NodeID,
		Config:     b.cfg,
		Controller: b.controller,
		Partitions: b.partitions,
		Peers:      b.peers,
		Log:        b.log.With("component", "handlers"),
		Clock:      time.Now,
	}
	env.ProducerIDs = &handlers.ProducerIDs{Allocate: func(ctx context.Context) (int64, int32, error) {
		return handlers.AllocateProducerIDs(ctx, b.controller, b.peers, b.cfg.NodeID)
	}}
	if isBroker {
		b.groups = coordinator.NewRuntime(handlers.OffsetsTopic, func(p int32) *group.Shard {
			return group.NewShard(p, b.groupConfig())
		}, time.Now, b.log.With("component", "groups"))
		b.replicas = replication.NewManager(b.cfg.NodeID, leaderClient{b.peers}, b.log.With("component", "replication"),
			replication.Config{ReplicaLagTimeMax: time.Duration(b.cfg.ReplicaLagTimeMaxMs) * time.Millisecond})
		env.Groups = b.groups
	}
	return env
}

// startBroker registers this broker, waits until it has the metadata and
// is unfenced, opens its replicas and then serves its listeners.
func (b *Broker) startBroker(ctx context.Context, isController bool) error {
	b.controller.Subscribe(func(_, next *metadata.Image) { b.applyImage(next) })
	if err := b.register(ctx); err != nil {
		return err
	}
	if !isController {
		// A broker-only node receives the log once the active controller
		// has added it as a non-voter (at registration).
		if err := b.controller.WaitReady(ctx); err != nil {
			return fmt.Errorf("waiting for the metadata log: %w", err)
		}
	}
	if err := b.awaitUnfenced(ctx); err != nil {
		return err
	}
	if err := b.awaitOwnImage(ctx); err != nil {
		return err
	}
	b.wg.Add(2)
	go b.heartbeatLoop()
	go b.isrLoop()
	b.applyImage(b.controller.Image())
	b.partitions.RemoveStale()
	return b.serveListeners(false)
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

// applyImage turns the metadata image into this broker's assignments.
func (b *Broker) applyImage(img *metadata.Image) {
	b.applied.Lock()
	defer b.applied.Unlock()
	if b.applied.any && img.AppliedIndex < b.applied.index {
		return // a newer image was applied already
	}
	b.applied.index, b.applied.any = img.AppliedIndex, true
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
	for _, m := range b.muxes {
		m.Close()
	}
	for _, ln := range b.pending {
		ln.Close()
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
