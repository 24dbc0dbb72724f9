// Package producerstate tracks idempotent producers per partition (KIP-98):
// the producer epoch and the metadata of the last few batches of every
// producer id, so the leader can reject sequence gaps, fence stale epochs
// and answer retried batches with their original offsets instead of
// appending them twice.
package producerstate

import (
	"errors"
	"math"

	"samsa/internal/record"
)

// MaxBatches is how many recent batches are kept per producer, matching the
// five in-flight requests an idempotent producer may have.
const MaxBatches = 5

// Sentinel errors returned by Check. Handlers map them to Kafka codes.
var (
	// ErrOutOfOrderSequence: the batch does not follow the producer's last
	// sequence. Maps to OUT_OF_ORDER_SEQUENCE_NUMBER.
	ErrOutOfOrderSequence = errors.New("producerstate: out of order sequence number")
	// ErrInvalidProducerEpoch: the batch's epoch is older than the
	// producer's current epoch. Maps to INVALID_PRODUCER_EPOCH for produce.
	ErrInvalidProducerEpoch = errors.New("producerstate: invalid producer epoch")
)

// BatchMeta describes one appended batch of a producer.
type BatchMeta struct {
	FirstSeq    int32
	LastSeq     int32
	FirstOffset int64
	LastOffset  int64
	Timestamp   int64
}

// ProducerState is a copy of what the Manager knows of one producer.
type ProducerState struct {
	Epoch int16
	// LastTimestamp is the max timestamp of the last batch applied.
	LastTimestamp int64
	// Batches are the most recent batches, oldest first, at most MaxBatches.
	Batches []BatchMeta
}

// entry is the state of one producer id.
type entry struct {
	epoch         int16
	lastTimestamp int64
	batches       []BatchMeta // oldest first, at most MaxBatches
}

func (e *entry) lastSeq() int32 {
	if len(e.batches) == 0 {
		return record.NoSequence
	}
	return e.batches[len(e.batches)-1].LastSeq
}

// Manager holds the producer state of one partition. It is not safe for
// concurrent use; the partition serializes access under its own lock.
type Manager struct {
	producers map[int64]*entry
}

// NewManager returns an empty Manager.
func NewManager() *Manager {
	return &Manager{producers: make(map[int64]*entry)}
}

// Len returns the number of producers tracked.
func (m *Manager) Len() int { return len(m.producers) }

// Producer returns a copy of the state of producer id pid.
func (m *Manager) Producer(pid int64) (ProducerState, bool) {
	e, ok := m.producers[pid]
	if !ok {
		return ProducerState{}, false
	}
	return ProducerState{
		Epoch:         e.epoch,
		LastTimestamp: e.lastTimestamp,
		Batches:       append([]BatchMeta(nil), e.batches...),
	}, true
}

// Check validates a batch of an idempotent or transactional producer (its
// header has a producer id >= 0) before it is appended. A retry of one of
// the producer's last MaxBatches batches returns its metadata as dup: the
// caller answers with dup.FirstOffset and appends nothing. An epoch below
// the current one fails with ErrInvalidProducerEpoch. A new epoch must start
// at sequence 0 and a known epoch must continue at the last sequence plus
// one (wrapping after MaxInt32), else ErrOutOfOrderSequence. Producers the
// Manager does not know (never seen, or removed by retention) are accepted
// at any sequence. Control batches are checked for the epoch only.
func (m *Manager) Check(h *record.Header) (dup *BatchMeta, err error) {
	e, ok := m.producers[h.ProducerID]
	if !ok {
		return nil, nil
	}
	if h.ProducerEpoch < e.epoch {
		return nil, ErrInvalidProducerEpoch
	}
	if h.IsControl() {
		return nil, nil
	}
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 {
			return nil, ErrOutOfOrderSequence
		}
		return nil, nil
	}
	lastSeq := h.LastSequence()
	for i := range e.batches {
		if e.batches[i].FirstSeq == h.BaseSequence && e.batches[i].LastSeq == lastSeq {
			found := e.batches[i]
			return &found, nil
		}
	}
	if !inSequence(e.lastSeq(), h.BaseSequence) {
		return nil, ErrOutOfOrderSequence
	}
	return nil, nil
}

// inSequence reports whether next directly follows last; sequences wrap
// from MaxInt32 to 0, and a producer without batches starts at 0.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// Apply records a batch that was appended; h carries its assigned base
// offset. A new epoch forgets the batches of the old one. Control batches
// and batches without a sequence update the epoch and timestamp only.
func (m *Manager) Apply(h *record.Header) {
	e, ok := m.producers[h.ProducerID]
	if !ok {
		e = &entry{epoch: h.ProducerEpoch}
		m.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches = nil
	}
	e.lastTimestamp = h.MaxTimestamp
	if h.IsControl() || h.BaseSequence == record.NoSequence {
		return
	}
	meta := BatchMeta{
		FirstSeq:    h.BaseSequence,
		LastSeq:     h.LastSequence(),
		FirstOffset: h.BaseOffset,
		LastOffset:  h.LastOffset(),
		Timestamp:   h.MaxTimestamp,
	}
	if len(e.batches) == MaxBatches {
		copy(e.batches, e.batches[1:])
		e.batches = e.batches[:MaxBatches-1]
	}
	e.batches = append(e.batches, meta)
}

// TruncateFrom forgets batches whose last offset is at or above offset, as
// when the log is truncated there. Producers left without batches are
// removed.
func (m *Manager) TruncateFrom(offset int64) {
	for pid, e := range m.producers {
		kept := e.batches[:0]
		for _, b := range e.batches {
			if b.LastOffset < offset {
				kept = append(kept, b)
			}
		}
		e.batches = kept
		if len(kept) == 0 {
			delete(m.producers, pid)
		}
	}
}

// Expire removes producers whose last batch timestamp is older than
// nowMs - maxAgeMs (producer.id.expiration.ms) and returns how many.
func (m *Manager) Expire(nowMs, maxAgeMs int64) int {
	removed := 0
	for pid, e := range m.producers {
		if e.lastTimestamp < nowMs-maxAgeMs {
			delete(m.producers, pid)
			removed++
		}
	}
	return removed
}
