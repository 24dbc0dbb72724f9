// Package group is the classic Kafka consumer-group coordinator as a pure
// state machine: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, offsets and
// the admin APIs of the groups whose __consumer_offsets partition is one
// Shard. It owns no goroutines, sockets or locks: every method runs on the
// partition's single-writer loop (coordinator.Context), state changes are
// records written through the Context and applied when the write is
// durable, and timers are the Context's Schedule/Cancel.
//
// Write callbacks must run in the order their Write calls were made (one
// log partition appends in order); the offset and tombstone bookkeeping
// relies on it.
package group

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"time"

	"samsa/internal/coordinator"
)

// Sentinel errors returned by Replay.
var (
	// ErrInvalidRecord: a record of a known type could not be decoded.
	ErrInvalidRecord = errors.New("group: invalid coordinator record")
)

// Defaults of Kafka's group coordinator settings.
const (
	DefaultMinSessionTimeout     = 6 * time.Second
	DefaultMaxSessionTimeout     = 1800 * time.Second
	DefaultInitialRebalanceDelay = 3 * time.Second
	DefaultMaxSize               = math.MaxInt32
	DefaultOffsetsRetention      = 7 * 24 * time.Hour
	DefaultMaxMetadataBytes      = 1 << 20
	// OffsetMetadataMaxBytes is offset.metadata.max.bytes.
	OffsetMetadataMaxBytes = 4096
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms.
	OffsetsRetentionCheckInterval = 10 * time.Minute
	// NewMemberJoinTimeout bounds how long a new member may wait in a join.
	NewMemberJoinTimeout = 5 * time.Minute
)

// Config holds the coordinator settings (Kafka's names in comments).
type Config struct {
	MinSessionTimeout, MaxSessionTimeout time.Duration // group.min/max.session.timeout.ms
	InitialRebalanceDelay                time.Duration // group.initial.rebalance.delay.ms
	MaxSize                              int           // group.max.size
	OffsetsRetention                     time.Duration // offsets.retention.minutes
	// MaxMetadataBytes bounds one member's protocol metadata (all
	// protocols together) and one assignment; larger is INVALID_REQUEST.
	MaxMetadataBytes int
	// PartitionCount returns the number of partitions of a topic, false if
	// it does not exist. Nil accepts every topic and partition.
	PartitionCount func(topic string) (int32, bool)
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MinSessionTimeout:     DefaultMinSessionTimeout,
		MaxSessionTimeout:     DefaultMaxSessionTimeout,
		InitialRebalanceDelay: DefaultInitialRebalanceDelay,
		MaxSize:               DefaultMaxSize,
		OffsetsRetention:      DefaultOffsetsRetention,
		MaxMetadataBytes:      DefaultMaxMetadataBytes,
	}
}

// RequestInfo is what a handler knows about the request's client.
type RequestInfo struct {
	ClientID, ClientHost string
	Version              int16
}

type state int8

const (
	stateEmpty state = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

// String is Kafka's name of the state (DescribeGroups, ListGroups).
func (s state) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// protocol is one (name, metadata) pair of a member, in preference order.
type protocol struct {
	name     string
	metadata []byte
}

// member is one member of a group.
type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []protocol
	assignment       []byte
	joinSeq          uint64 // join order: the leader is the first joined
	isNew            bool
	// joinWaiter answers the member's pending JoinGroup, syncWaiter its
	// pending SyncGroup; nil when none is pending.
	joinWaiter func(*joinResult)
	syncWaiter func(syncResult)
}

// metadataFor returns the member's metadata for protocol name.
func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether protocols equal the member's, in order.
func (m *member) matches(protocols []protocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i, p := range protocols {
		if p.name != m.protocols[i].name || string(p.metadata) != string(m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

type topicPartition struct {
	topic     string
	partition int32
}

// offset is one committed offset.
type offset struct {
	offset          int64
	leaderEpoch     int32
	metadata        string
	commitTimestamp int64 // ms
	expireTimestamp int64 // ms, -1 when none (commits before v5)
}

// group is one classic group.
type group struct {
	id           string
	state        state
	protocolType string // "" when none
	protocol     string // selected protocol, "" when none
	generation   int32
	leader       string // "" when none
	// stateTimestamp is when the group entered its state (ms), -1 unknown.
	stateTimestamp int64
	members        map[string]*member
	instances      map[string]string // group.instance.id -> member id
	pending        map[string]bool   // member ids handed out by MEMBER_ID_REQUIRED
	pendingSync    map[string]bool   // members yet to SyncGroup this generation
	newMemberAdded bool              // a member joined during the initial delay
	initialDelay   bool              // the join phase is in its initial delay
	joinSeq        uint64
	syncWriting    bool // the leader's assignment is being written
	offsets        map[topicPartition]offset
	stored         bool // a live group metadata record exists in the log
	// subscribed is the union of the consumer members' topics; nil when
	// unknown (not a consumer group or metadata that does not parse).
	subscribed map[string]bool
}

func newGroup(id string, stateTimestamp int64) *group {
	return &group{
		id:             id,
		state:          stateEmpty,
		stateTimestamp: stateTimestamp,
		members:        make(map[string]*member),
		instances:      make(map[string]string),
		pending:        make(map[string]bool),
		pendingSync:    make(map[string]bool),
		offsets:        make(map[topicPartition]offset),
	}
}

// transition moves the group to st, stamping the time.
func (g *group) transition(st state, now time.Time) {
	g.state = st
	g.stateTimestamp = now.UnixMilli()
}

// unused reports whether the group holds nothing worth keeping: it may be
// forgotten without a tombstone.
func (g *group) unused() bool {
	return g.state == stateEmpty && !g.stored && g.generation == 0 && len(g.members) == 0 &&
		len(g.pending) == 0 && len(g.offsets) == 0
}

// Shard holds all groups whose __consumer_offsets partition is this one.
type Shard struct {
	partition int32
	cfg       Config
	groups    map[string]*group
	// pendingCommits counts the offset commits being written per group
	// and partition; expiry leaves those partitions alone.
	pendingCommits map[groupPartition]int
	closed         bool
}

type groupPartition struct {
	group string
	tp    topicPartition
}

// NewShard returns an empty shard for __consumer_offsets partition; zero
// Config fields take Kafka's defaults.
func NewShard(partition int32, cfg Config) *Shard {
	def := DefaultConfig()
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = def.MinSessionTimeout
	}
	if cfg.MaxSessionTimeout <= 0 {
		cfg.MaxSessionTimeout = def.MaxSessionTimeout
	}
	if cfg.InitialRebalanceDelay < 0 {
		cfg.InitialRebalanceDelay = 0
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = def.MaxSize
	}
	if cfg.OffsetsRetention <= 0 {
		cfg.OffsetsRetention = def.OffsetsRetention
	}
	if cfg.MaxMetadataBytes <= 0 {
		cfg.MaxMetadataBytes = def.MaxMetadataBytes
	}
	return &Shard{partition: partition, cfg: cfg, groups: make(map[string]*group), pendingCommits: make(map[groupPartition]int)}
}

// Partition is the __consumer_offsets partition of the shard.
func (s *Shard) Partition() int32 { return s.partition }

// newMemberID returns prefix-uuid, Kafka's member id shape.
func newMemberID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return prefix + "-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func heartbeatKey(groupID, memberID string) string { return "hb/" + groupID + "/" + memberID }
func joinKey(groupID string) string                { return "join/" + groupID }
func syncKey(groupID string) string                { return "sync/" + groupID }

const expireKey = "expire-offsets"

// writeErrorCode maps a failed coordinator write to Kafka's code for
// group APIs (Kafka maps storage errors the same way).
func writeErrorCode(err error) int16 {
	if errors.Is(err, coordinator.ErrNotCoordinator) {
		return codeNotCoordinator
	}
	return codeCoordinatorNotAvailable
}
