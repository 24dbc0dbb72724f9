// Package coordinator is the runtime shared by log-backed coordinators
// (consumer groups now, transactions later): one single-writer event loop
// per partition of the coordinator's internal topic. A loop loads its state
// by replaying the partition's records, then handles requests and timers one
// at a time; state changes are records appended to the partition, and a
// reply that depends on them is sent only after they are durable.
package coordinator

import (
	"errors"
	"time"
)

// Record is one record of a coordinator topic; a nil Value is a tombstone.
type Record struct {
	Key   []byte
	Value []byte
}

// Context is what state-machine code sees while it runs on its loop. It is
// valid only during the call it is passed to (and the callbacks it starts,
// which run on the same loop).
type Context interface {
	// Now is the loop's clock (injected in tests).
	Now() time.Time
	// Write appends records to the partition. after runs on the loop once
	// they are durable (err nil) or could not be written (err non-nil, the
	// state machine must not have applied them: apply in after).
	Write(records []Record, after func(err error))
	// Schedule runs fn on the loop after d, replacing a pending timer with
	// the same key.
	Schedule(key string, d time.Duration, fn func(Context))
	// Cancel drops the pending timer with key, if any.
	Cancel(key string)
}

// Sentinel errors of the runtime; handlers map them to Kafka codes.
var (
	// ErrNotCoordinator: this broker does not lead the partition (NOT_COORDINATOR).
	ErrNotCoordinator = errors.New("coordinator: not the coordinator for this key")
	// ErrLoading: the partition is still being replayed (COORDINATOR_LOAD_IN_PROGRESS).
	ErrLoading = errors.New("coordinator: loading")
	// ErrUnavailable: the internal topic does not exist yet or is offline (COORDINATOR_NOT_AVAILABLE).
	ErrUnavailable = errors.New("coordinator: not available")
)
