// Package replication runs the follower side of replication: for every
// leader broker one fetcher goroutine that truncates diverging logs
// (OffsetForLeaderEpoch, KIP-101/279) and then fetches the partitions this
// broker follows from that leader, appending the leader's batches as they
// are.
package replication

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/partition"
)

// LeaderClient sends inter-broker requests to a leader. The broker
// implements it over the Kafka protocol; tests serve from partitions in
// memory. Calls must return when ctx ends.
type LeaderClient interface {
	Fetch(ctx context.Context, leader int32, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error)
	OffsetForLeaderEpoch(ctx context.Context, leader int32, req *kmsg.OffsetForLeaderEpochRequest) (*kmsg.OffsetForLeaderEpochResponse, error)
}

// Config holds the replica fetcher settings (Kafka's names in comments).
type Config struct {
	FetchMaxWait      time.Duration // replica.fetch.wait.max.ms: 500 ms
	FetchMinBytes     int32         // replica.fetch.min.bytes: 1
	FetchMaxBytes     int32         // replica.fetch.response.max.bytes: 10 MiB
	PartitionMaxBytes int32         // replica.fetch.max.bytes: 1 MiB
	RetryBackoff      time.Duration // replica.fetch.backoff.ms: 1 s, the longest backoff after errors
	ReplicaLagTimeMax time.Duration // replica.lag.time.max.ms: 30 s (for the leader's ISR checks)
	FetchVersion      int16         // Fetch request version: 12 (topic names); 13+ sends topic ids
	EpochVersion      int16         // OffsetForLeaderEpoch request version: 4
}

// withDefaults fills unset fields with Kafka's defaults.
func (c Config) withDefaults() Config {
	if c.FetchMaxWait <= 0 {
		c.FetchMaxWait = 500 * time.Millisecond
	}
	if c.FetchMinBytes <= 0 {
		c.FetchMinBytes = 1
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 10 << 20
	}
	if c.PartitionMaxBytes <= 0 {
		c.PartitionMaxBytes = 1 << 20
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = time.Second
	}
	if c.ReplicaLagTimeMax <= 0 {
		c.ReplicaLagTimeMax = 30 * time.Second
	}
	if c.FetchVersion < 12 {
		c.FetchVersion = 12
	}
	if c.EpochVersion <= 0 {
		c.EpochVersion = 4
	}
	return c
}

// Manager owns the fetchers of one broker: one goroutine per leader broker
// it follows partitions from.
type Manager struct {
	self   int32
	client LeaderClient
	logger *slog.Logger
	cfg    Config

	mu struct {
		sync.Mutex
		fetchers map[int32]*fetcher             // by leader
		leaderOf map[*partition.Partition]int32 // which fetcher owns each partition
		closed   bool
	}
}

// NewManager returns a manager for broker self.
func NewManager(self int32, client LeaderClient, logger *slog.Logger, cfg Config) *Manager {
	m := &Manager{self: self, client: client, logger: logger, cfg: cfg.withDefaults()}
	m.mu.fetchers = make(map[int32]*fetcher)
	m.mu.leaderOf = make(map[*partition.Partition]int32)
	return m
}

// Config returns the settings in effect (defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

// Follow makes this broker follow p from leader at leaderEpoch: the
// partition first truncates its log where it diverges from the leader's,
// then fetches from its log end offset. Following the same leader at the
// same epoch again changes nothing, so Follow may be called on every
// metadata image. Call p.MakeFollower first.
func (m *Manager) Follow(p *partition.Partition, leader int32, leaderEpoch int32) {
	var stopped []*fetcher
	defer func() { waitStopped(stopped) }()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return
	}
	if old, ok := m.mu.leaderOf[p]; ok {
		f := m.mu.fetchers[old]
		if old == leader && f.following(p, leaderEpoch) {
			return
		}
		stopped = m.removeLocked(p)
	}
	f, ok := m.mu.fetchers[leader]
	if !ok {
		f = newFetcher(m, leader)
		m.mu.fetchers[leader] = f
		go f.run()
	}
	f.add(p, leaderEpoch)
	m.mu.leaderOf[p] = leader
}

// Unfollow stops fetching p. When it returns, the fetcher no longer
// touches p, so p may become leader or be deleted.
func (m *Manager) Unfollow(p *partition.Partition) {
	m.mu.Lock()
	stopped := m.removeLocked(p)
	m.mu.Unlock()
	waitStopped(stopped)
}

// removeLocked takes p from its fetcher and stops the fetcher when it
// follows nothing else; the caller waits for it outside the lock.
func (m *Manager) removeLocked(p *partition.Partition) []*fetcher {
	leader, ok := m.mu.leaderOf[p]
	if !ok {
		return nil
	}
	delete(m.mu.leaderOf, p)
	f := m.mu.fetchers[leader]
	if f.remove(p) > 0 {
		return nil
	}
	delete(m.mu.fetchers, leader)
	f.cancel()
	return []*fetcher{f}
}

func waitStopped(fetchers []*fetcher) {
	for _, f := range fetchers {
		<-f.done
	}
}

// Following reports the leader p is followed from, if any.
func (m *Manager) Following(p *partition.Partition) (int32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	leader, ok := m.mu.leaderOf[p]
	return leader, ok
}

// Close stops every fetcher and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.mu.closed = true
	var all []*fetcher
	for leader, f := range m.mu.fetchers {
		f.cancel()
		all = append(all, f)
		delete(m.mu.fetchers, leader)
	}
	clear(m.mu.leaderOf)
	m.mu.Unlock()
	waitStopped(all)
}
