// Package partition holds one replica of a partition: its log, the state of
// its idempotent producers, its leader epoch, high watermark and in-sync
// replica set, and the waiters that long-poll for new data.
package partition

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"samsa/internal/log"
	"samsa/internal/producerstate"
	"samsa/internal/vfs"
)

// Sentinel errors of this package; handlers map them to Kafka codes.
var (
	ErrNotLeader          = errors.New("partition: not the leader")
	ErrUnknownPartition   = errors.New("partition: unknown topic or partition")
	ErrInvalidTimestamp   = errors.New("partition: timestamp out of range")
	ErrKeyRequired        = errors.New("partition: compacted topic needs a key on every record")
	ErrUnsupportedCodec   = errors.New("partition: unsupported compression codec")
	ErrTransactionalBatch = errors.New("partition: transactional batches need a transaction coordinator")
	ErrControlBatch       = errors.New("partition: clients may not produce control batches")
	ErrFencedLeaderEpoch  = errors.New("partition: leader epoch of the request is older than the current one")
	ErrUnknownLeaderEpoch = errors.New("partition: leader epoch of the request is newer than the current one")
	// ErrNotFollower: a follower-only operation (AppendAsFollower,
	// TruncateTo) on the leader. Maps to NOT_LEADER_OR_FOLLOWER.
	ErrNotFollower = errors.New("partition: not a follower")
	// ErrNotEnoughReplicas: acks=all while the in-sync set is smaller than
	// min.insync.replicas; nothing was appended. Maps to NOT_ENOUGH_REPLICAS.
	ErrNotEnoughReplicas = errors.New("partition: fewer in-sync replicas than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend: acks=all, the records were appended
	// and replicated, but the in-sync set shrank below min.insync.replicas
	// meanwhile. Maps to NOT_ENOUGH_REPLICAS_AFTER_APPEND.
	ErrNotEnoughReplicasAfterAppend = errors.New("partition: in-sync set shrank below min.insync.replicas after the append")
)

// Settings are the topic configs that shape appends and reads.
type Settings struct {
	Log                log.Config
	MaxMessageBytes    int
	LogAppendTime      bool // message.timestamp.type=LogAppendTime
	TimestampMaxDiffMs int64
	Compact            bool // cleanup.policy contains compact
	Cleaner            log.CleanerConfig
	Compression        string // compression.type: producer, uncompressed, gzip, snappy, lz4, zstd
	MinInsyncReplicas  int
	ProducerExpiration time.Duration
}

// ID names a partition.
type ID struct {
	Topic     string
	Partition int32
}

func (id ID) String() string { return fmt.Sprintf("%s-%d", id.Topic, id.Partition) }

// Partition is one replica. Appends are serialized by mu; reads only touch
// the log and atomics.
type Partition struct {
	ID      ID
	TopicID [16]byte
	log     *log.Log
	logger  *slog.Logger
	clock   func() time.Time
	fsys    vfs.FS
	dir     string

	highWatermark atomic.Int64
	leaderEpoch   atomic.Int32
	changes       atomic.Uint64 // see Changes

	// settings holds the current Settings; replaced whole by SetSettings,
	// read without the lock on every append.
	settings atomic.Pointer[Settings]

	mu struct {
		sync.Mutex
		producers *producerstate.Manager
		leader    bool
		waiters   map[chan struct{}]Wake
		acks      map[*AckWaiter]struct{} // AwaitReplicated in progress
		replicas  replicaSet
		// hwFromOpen: the high watermark is the log end offset found at
		// open, trusted only while this replica is alone in its in-sync set.
		hwFromOpen bool
	}
}

// AppendResult is what a produce response needs.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64 // the last offset appended: acks=all waits for it (WaitReplicated)
	LogAppendTime  int64 // -1 unless message.timestamp.type=LogAppendTime
	LogStartOffset int64
	Duplicate      bool
}

// Log exposes the replica's log (for admin APIs such as DescribeLogDirs).
func (p *Partition) Log() *log.Log { return p.log }

// HighWatermark is the offset below which records are committed and visible.
func (p *Partition) HighWatermark() int64 { return p.highWatermark.Load() }

// LeaderEpoch is the current leader epoch.
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// Settings returns the current topic settings.
func (p *Partition) Settings() Settings { return *p.settings.Load() }

// SetSettings applies changed topic configs.
func (p *Partition) SetSettings(s Settings) {
	p.settings.Store(&s)
	p.log.SetConfig(s.Log)
}

// BecomeLeader makes this replica the sole leader at epoch (replication
// factor one: the replica is its own in-sync set, so the high watermark is
// the log end offset). MakeLeader is the general form.
func (p *Partition) BecomeLeader(epoch int32) {
	p.MakeLeader(epoch, p.PartitionEpoch(), nil, nil, -1)
}

// BecomeFollower stops this replica from accepting produce requests.
// MakeFollower is the general form.
func (p *Partition) BecomeFollower(epoch int32) {
	p.MakeFollower(epoch, p.PartitionEpoch(), -1, nil)
}

// IsLeader reports whether this replica leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.leader
}

// CheckLeaderEpoch validates a client's current leader epoch (-1: unchecked).
func (p *Partition) CheckLeaderEpoch(epoch int32) error {
	if epoch < 0 {
		return nil
	}
	cur := p.leaderEpoch.Load()
	switch {
	case epoch < cur:
		return ErrFencedLeaderEpoch
	case epoch > cur:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// Wake says which changes wake a watcher (Watch, WatchFor).
type Wake uint8

const (
	// WakeOnAppend: records were appended to the leader's log (follower
	// fetches read up to the log end).
	WakeOnAppend Wake = 1 << iota
	// WakeOnHighWatermark: the high watermark moved (consumer fetches and
	// acks=all waiters see only committed records).
	WakeOnHighWatermark
	// wakeOnState: leadership, replica sets or the partition's life
	// changed; every watcher is woken.
	wakeOnState
	// WakeOnAny wakes on every change.
	WakeOnAny = WakeOnAppend | WakeOnHighWatermark | wakeOnState
)

// Watch registers ch to receive (without blocking) once when anything
// changes. WatchFor is the selective form.
func (p *Partition) Watch(ch chan struct{}) { p.WatchFor(ch, WakeOnAny) }

// WatchFor registers ch to receive (without blocking) once when a change
// of a kind in on happens; leadership and replica-set changes and Close
// always wake. Unwatch removes ch; a woken channel is removed already.
// A long poll that waits for committed records watches
// WakeOnHighWatermark only, so an append that is not yet committed does
// not wake it for nothing.
func (p *Partition) WatchFor(ch chan struct{}, on Wake) {
	p.mu.Lock()
	if p.mu.waiters == nil {
		p.mu.waiters = make(map[chan struct{}]Wake)
	}
	p.mu.waiters[ch] = on | wakeOnState
	p.mu.Unlock()
}

// Unwatch removes ch registered by Watch.
func (p *Partition) Unwatch(ch chan struct{}) {
	p.mu.Lock()
	delete(p.mu.waiters, ch)
	p.mu.Unlock()
}

// Changes counts the notifications of watchers so far. A long poll that
// loaded it before reading the partition, then registered with WatchFor,
// need not read again if it is unchanged: nothing it could wait for
// happened in between.
func (p *Partition) Changes() uint64 { return p.changes.Load() }

// notifyLocked wakes the watchers interested in what changed.
func (p *Partition) notifyLocked(changed Wake) {
	p.changes.Add(1)
	if changed&(WakeOnHighWatermark|wakeOnState) != 0 && len(p.mu.acks) > 0 {
		p.completeAcksLocked()
	}
	for ch, on := range p.mu.waiters {
		if on&changed == 0 {
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
		}
		delete(p.mu.waiters, ch)
	}
}

// Close closes the log.
func (p *Partition) Close() error {
	p.mu.Lock()
	p.mu.leader = false
	p.notifyLocked(WakeOnAny)
	p.mu.Unlock()
	return p.log.Close()
}

// ReadInfo is a fetch's view of the partition.
type ReadInfo struct {
	Records        log.ReadResult
	HighWatermark  int64
	LastStable     int64
	LogStartOffset int64
}

// Read returns committed batches from offset (Kafka's fetch rules: the whole
// batch containing offset, at most maxBytes unless minOneBatch lets one
// larger batch through, nothing at or above the high watermark).
func (p *Partition) Read(offset int64, maxBytes int, minOneBatch bool) (ReadInfo, error) {
	hw := p.highWatermark.Load()
	info := ReadInfo{HighWatermark: hw, LastStable: hw, LogStartOffset: p.log.StartOffset()}
	if offset > hw && offset <= p.log.EndOffset() {
		// Above the high watermark but inside the log: nothing visible yet.
		return info, nil
	}
	res, err := p.log.Read(offset, maxBytes, hw, minOneBatch)
	if err != nil {
		return info, err
	}
	info.Records = res
	return info, nil
}
