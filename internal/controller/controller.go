// Package controller runs Samsa's Raft metadata quorum (hashicorp/raft with
// a raft-wal log) and offers validated metadata writes on the active
// controller.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"samsa/internal/config"
	"samsa/internal/metadata"
	"samsa/internal/mux"
)

// ErrNotController is returned by writes on a node that is not the active controller.
var ErrNotController = errors.New("not the active controller")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("controller closed")

// Voter is one member of the metadata quorum.
type Voter = config.Voter

// MetadataDirName is the directory under DataDir holding the metadata log.
const MetadataDirName = "__cluster_metadata-0"

// Config configures a controller node.
type Config struct {
	NodeID int32
	Voters []Voter
	Bind   string // host:port to listen on for Raft when Listener is nil
	// Listener is the Raft side of a port shared with the Kafka protocol
	// (internal/mux); nil: the controller listens on Bind itself.
	Listener net.Listener
	// Advertise is this node's Raft address as the others dial it; empty:
	// its address in Voters, else the bound address.
	Advertise string
	// BrokerListener names the listener whose endpoint, in a broker-only
	// node's registration, is its Raft address (inter.broker.listener.name):
	// the active controller adds such a node as a non-voter, so that it
	// receives the committed metadata log.
	BrokerListener string
	DataDir        string // metadata.log.dir
	Broker         *config.Broker
	Logger         *slog.Logger
	// SessionTimeout overrides broker.session.timeout.ms when positive.
	SessionTimeout time.Duration
	// LeaderImbalanceCheckInterval is how often the active controller looks
	// for leaders to move back to preferred replicas (when
	// auto.leader.rebalance.enable); 0 = DefaultImbalanceCheckInterval.
	LeaderImbalanceCheckInterval time.Duration
	// LeaderImbalancePercentage is the share of a broker's preferred
	// partitions it may not lead before a rebalance; 0 = DefaultImbalancePercentage.
	LeaderImbalancePercentage int
	// Clock returns the time for broker sessions; nil = time.Now.
	Clock func() time.Time
}

// Controller is one node of the metadata quorum.
type Controller struct {
	config    Config
	logger    *slog.Logger
	raft      *raft.Raft
	log       *wal.WAL
	meta      *metadb.BoltMetaDB // closed separately: WAL.Close leaves it open
	transport *raft.NetworkTransport
	ownMux    *mux.Mux // when Config.Listener was nil
	image     atomic.Pointer[metadata.Image]
	wake      chan struct{} // buffered 1: new image to deliver
	done      chan struct{}
	group     sync.WaitGroup
	write     sync.Mutex   // serializes validate-then-append on the leader
	sessions  sessionState // guarded by write
	closeOnce sync.Once
	mu        struct {
		sync.Mutex
		subscribers []*subscriber
		delivered   uint64        // applied index every subscriber has seen
		deliveredCh chan struct{} // closed and replaced when delivered grows
	}
}

// Start opens (or creates) the metadata log in DataDir, starts Raft on
// Bind and bootstraps the configured voters when no state exists yet.
func Start(cfg Config) (*Controller, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Broker == nil {
		cfg.Broker = config.Default()
	}
	controller := &Controller{config: cfg, logger: cfg.Logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	controller.image.Store(metadata.Empty())
	controller.mu.deliveredCh = make(chan struct{})
	if err := controller.open(); err != nil {
		controller.release()
		return nil, err
	}
	controller.group.Add(3)
	go controller.dispatch()
	go controller.watchLeadership()
	go controller.superviseBrokers()
	return controller, nil
}

func (c *Controller) open() error {
	directory := filepath.Join(c.config.DataDir, MetadataDirName)
	if err := os.MkdirAll(filepath.Join(directory, "wal"), 0o755); err != nil {
		return fmt.Errorf("metadata dir: %w", err)
	}
	hcLogger := newHCLogger(c.logger, "raft")
	var err error
	c.meta = &metadb.BoltMetaDB{}
	walDirectory := filepath.Join(directory, "wal")
	if c.log, err = wal.Open(walDirectory, wal.WithLogger(hcLogger), wal.WithSegmentSize(4<<20), wal.WithMetaStore(c.meta),
		wal.WithSegmentFiler(newTruncatedTailFiler(walDirectory))); err != nil {
		return fmt.Errorf("open metadata wal: %w", err)
	}
	snapshots, err := raft.NewFileSnapshotStoreWithLogger(directory, 2, hcLogger)
	if err != nil {
		return fmt.Errorf("open metadata snapshots: %w", err)
	}
	listener := c.config.Listener
	if listener == nil {
		if c.ownMux, err = mux.Listen(c.config.Bind, c.logger); err != nil {
			return fmt.Errorf("controller listener %s: %w", c.config.Bind, err)
		}
		listener = c.ownMux.Raft()
	}
	c.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &streamLayer{Listener: listener, advertise: raftAddr(c.advertiseAddress(listener))},
		MaxPool: 3,
		Timeout: 5 * time.Second,
		Logger:  hcLogger,
	})
	raftConfig := c.raftConfig()
	if err := c.bootstrapIfNew(raftConfig, snapshots); err != nil {
		return err
	}
	if c.raft, err = raft.NewRaft(raftConfig, (*fsm)(c), c.log, c.log, snapshots, c.transport); err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	return nil
}

func (c *Controller) raftConfig() *raft.Config {
	raftConfig := raft.DefaultConfig()
	raftConfig.LocalID = serverID(c.config.NodeID)
	raftConfig.HeartbeatTimeout = 500 * time.Millisecond
	raftConfig.ElectionTimeout = 500 * time.Millisecond
	raftConfig.LeaderLeaseTimeout = 250 * time.Millisecond
	raftConfig.CommitTimeout = 20 * time.Millisecond
	raftConfig.SnapshotThreshold = 4096
	raftConfig.TrailingLogs = 1024
	raftConfig.SnapshotInterval = time.Minute
	raftConfig.Logger = newHCLogger(c.logger, "raft")
	return raftConfig
}

// advertiseAddress is Config.Advertise, else this node's voter address,
// else the bound address.
func (c *Controller) advertiseAddress(listener net.Listener) string {
	if c.config.Advertise != "" {
		return c.config.Advertise
	}
	for _, voter := range c.config.Voters {
		if voter.ID == c.config.NodeID {
			return voter.Address()
		}
	}
	return listener.Addr().String()
}

func (c *Controller) bootstrapIfNew(raftConfig *raft.Config, snapshots raft.SnapshotStore) error {
	existing, err := raft.HasExistingState(c.log, c.log, snapshots)
	if err != nil {
		return fmt.Errorf("read metadata state: %w", err)
	}
	if existing || !c.isVoter() {
		return nil
	}
	var configuration raft.Configuration
	for _, voter := range c.config.Voters {
		configuration.Servers = append(configuration.Servers, raft.Server{
			Suffrage: raft.Voter, ID: serverID(voter.ID), Address: raft.ServerAddress(voter.Address()),
		})
	}
	if err := raft.BootstrapCluster(raftConfig, c.log, c.log, snapshots, c.transport, configuration); err != nil {
		return fmt.Errorf("bootstrap metadata quorum: %w", err)
	}
	return nil
}

func (c *Controller) isVoter() bool {
	for _, voter := range c.config.Voters {
		if voter.ID == c.config.NodeID {
			return true
		}
	}
	return false
}

func serverID(id int32) raft.ServerID {
	return raft.ServerID(strconv.Itoa(int(id)))
}

// Close stops Raft, the background goroutines and the log.
func (c *Controller) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		shutdown := c.raft.Shutdown().Error() // unblocks goroutines waiting on Raft
		c.group.Wait()
		err = errors.Join(shutdown, c.release())
	})
	return err
}

func (c *Controller) release() error {
	var errs []error
	if c.raft != nil {
		errs = append(errs, c.raft.Shutdown().Error()) // a no-op when already shut down
	}
	if c.transport != nil {
		errs = append(errs, c.transport.Close())
	}
	if c.ownMux != nil {
		errs = append(errs, c.ownMux.Close())
	}
	if c.log != nil {
		errs = append(errs, c.log.Close())
	}
	if c.meta != nil {
		errs = append(errs, c.meta.Close())
	}
	return errors.Join(errs...)
}

// Image returns the latest applied metadata image.
func (c *Controller) Image() *metadata.Image {
	return c.image.Load()
}

// LeaderID returns the active controller's node id, or -1 when unknown.
func (c *Controller) LeaderID() int32 {
	_, id := c.raft.LeaderWithID()
	if id == "" {
		return -1
	}
	number, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(number)
}

// IsActive reports whether this node is the active controller.
func (c *Controller) IsActive() bool {
	return c.raft.State() == raft.Leader
}

// WaitReady blocks until a leader is known and this node has applied the
// committed log (on the leader, everything before a barrier).
func (c *Controller) WaitReady(ctx context.Context) error {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		if ready, err := c.readyOnce(ctx); ready || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrClosed
		case <-ticker.C:
		}
	}
}

func (c *Controller) readyOnce(ctx context.Context) (bool, error) {
	if c.LeaderID() < 0 {
		return false, nil
	}
	if c.IsActive() {
		if err := c.raft.Barrier(timeoutOf(ctx)).Error(); err != nil {
			return false, nil
		}
		return c.ensureClusterID(ctx) == nil, nil
	}
	commit := c.raft.CommitIndex()
	return commit > 0 && c.raft.AppliedIndex() >= commit && c.Image().ClusterID != "", nil
}

func timeoutOf(ctx context.Context) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return max(time.Until(deadline), time.Millisecond)
	}
	return 10 * time.Second
}

// watchLeadership writes the cluster id when this node first leads an empty log.
func (c *Controller) watchLeadership() {
	defer c.group.Done()
	for {
		select {
		case <-c.done:
			return
		case leader := <-c.raft.LeaderCh():
			c.write.Lock()
			c.stopSessionsLocked() // a new leadership restarts every session
			if leader {
				c.startSessionsLocked()
			}
			c.write.Unlock()
			if leader {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := c.raft.Barrier(10 * time.Second).Error(); err == nil {
					if err := c.ensureClusterID(ctx); err != nil {
						c.logger.Warn("write cluster id", "error", err)
					}
				}
				cancel()
			}
		}
	}
}
