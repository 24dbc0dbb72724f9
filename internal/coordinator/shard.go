package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/record"
)

// StateMachine is a coordinator's state for one partition. Every method runs
// on the shard's loop, one call at a time.
type StateMachine interface {
	// Replay applies one record read from the log while loading.
	Replay(Record) error
	// Loaded runs once, after the last record was replayed.
	Loaded(Context)
	// Close runs when the shard stops (leadership lost or shutdown).
	Close()
}

// maxQueued bounds the events waiting for a shard's loop.
const maxQueued = 4096

// ErrOverloaded: the shard's queue is full (answered as COORDINATOR_NOT_AVAILABLE).
var ErrOverloaded = errors.New("coordinator: too many queued requests")

// Shard runs one partition's state machine on its own goroutine.
type Shard[S StateMachine] struct {
	part   *partition.Partition
	sm     S
	clock  func() time.Time
	logger *slog.Logger

	events chan func()
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc

	// Owned by the loop goroutine.
	timers   map[string]*timerEntry
	timerSeq uint64

	// Writes waiting for replication, in write order; one goroutine waits
	// for them so the loop never blocks on followers.
	waits struct {
		sync.Mutex
		queue  []pendingWrite
		signal chan struct{}
		closed bool
	}

	mu struct {
		sync.Mutex
		loaded  bool
		stopped bool
	}
}

// pendingWrite is an appended write waiting for the in-sync replicas.
type pendingWrite struct {
	lastOffset int64
	after      func(error)
}

// replicationTimeout bounds the wait for a write to reach the in-sync
// replicas (Kafka's offsets.commit.timeout.ms).
const replicationTimeout = 5 * time.Second

type timerEntry struct {
	seq   uint64
	timer *time.Timer
}

// StartShard loads the partition into sm on a new goroutine and then
// serves events until Stop.
func StartShard[S StateMachine](p *partition.Partition, sm S, clock func() time.Time, logger *slog.Logger) *Shard[S] {
	if clock == nil {
		clock = time.Now
	}
	s := &Shard[S]{
		part: p, sm: sm, clock: clock, logger: logger,
		events: make(chan func(), maxQueued),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		timers: map[string]*timerEntry{},
	}
	s.waits.signal = make(chan struct{}, 1)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	go s.waitReplicated()
	return s
}

// Do runs fn on the loop with the state machine. It fails at once with
// ErrLoading while the partition is being replayed and ErrNotCoordinator
// after Stop.
func (s *Shard[S]) Do(fn func(Context, S)) error {
	s.mu.Lock()
	loaded, stopped := s.mu.loaded, s.mu.stopped
	s.mu.Unlock()
	switch {
	case stopped:
		return ErrNotCoordinator
	case !loaded:
		return ErrLoading
	}
	return s.enqueue(func() { fn(s, s.sm) })
}

func (s *Shard[S]) enqueue(ev func()) error {
	select {
	case s.events <- ev:
		return nil
	case <-s.stop:
		return ErrNotCoordinator
	default:
		return ErrOverloaded
	}
}

// Stop ends the loop and waits for it; the state machine's Close runs on
// the loop before it exits.
func (s *Shard[S]) Stop() {
	s.mu.Lock()
	if s.mu.stopped {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.mu.stopped = true
	s.mu.Unlock()
	close(s.stop)
	s.cancel()
	<-s.done
}

func (s *Shard[S]) run() {
	defer close(s.done)
	if !s.loadUntilStopped() {
		return
	}
	s.sm.Loaded(s)
	s.mu.Lock()
	s.mu.loaded = true
	s.mu.Unlock()
	for {
		select {
		case ev := <-s.events:
			ev()
		case <-s.stop:
			for _, t := range s.timers {
				t.timer.Stop()
			}
			s.sm.Close()
			return
		}
	}
}

// loadUntilStopped loads the partition, retrying a failed load with backoff
// until it succeeds (true) or the shard is stopped (false). Meanwhile Do
// answers ErrLoading, which clients retry. A load fails when, say, the
// partition is not the leader yet or a read fails; it starts again from
// the log start, which is safe because coordinator records are upserts
// and tombstones by key: replaying a prefix twice ends in the same state.
func (s *Shard[S]) loadUntilStopped() bool {
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.load()
		if err == nil {
			return true
		}
		s.logger.Warn("loading coordinator partition failed; retrying", "partition", s.part.ID.String(), "attempt", attempt, "err", err)
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-s.stop:
			timer.Stop()
			return false
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// load replays every committed record of the partition into the state
// machine, in offset order.
func (s *Shard[S]) load() error {
	start := time.Now()
	// Load to the log end, not the high watermark: right after a failover
	// the new leader's high watermark lags, and as leader its log is the
	// one that counts.
	offset := s.part.Log().StartOffset()
	end := s.part.Log().EndOffset()
	n := 0
	for offset < end {
		info, err := s.part.ReadForFollower(offset, 1<<20)
		if err != nil {
			return fmt.Errorf("reading %s at %d: %w", s.part.ID, offset, err)
		}
		if info.Records.Size == 0 {
			break
		}
		data, err := info.Records.AppendTo(make([]byte, 0, info.Records.Size))
		if err != nil {
			return err
		}
		err = record.Walk(data, func(batch []byte) error {
			h, recs, err := record.Records(batch, 0)
			if err != nil {
				return err
			}
			if !h.IsControl() {
				for _, r := range recs {
					if h.BaseOffset+int64(r.OffsetDelta) < offset {
						continue
					}
					if err := s.sm.Replay(Record{Key: r.Key, Value: r.Value}); err != nil {
						s.logger.Warn("skipping a coordinator record that does not replay", "partition", s.part.ID.String(), "offset", h.BaseOffset+int64(r.OffsetDelta), "err", err)
					}
					n++
				}
			}
			offset = h.NextOffset()
			return nil
		})
		if err != nil && !errors.Is(err, record.ErrShort) {
			return err
		}
	}
	s.logger.Info("coordinator partition loaded", "partition", s.part.ID.String(), "records", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Now implements Context.
func (s *Shard[S]) Now() time.Time { return s.clock() }

// Write implements Context: the records go to the partition as one batch
// (acks=all: min.insync.replicas applies); after runs on the loop once the
// in-sync replicas have them (the high watermark passed them) or the write
// failed.
func (s *Shard[S]) Write(records []Record, after func(error)) {
	last, err := s.append(records)
	if err != nil || last < 0 {
		// Run after as its own event, so that state machines see the
		// same order whether a write completes at once or later.
		if qerr := s.enqueueInternal(func() { after(err) }); qerr != nil {
			after(qerr)
		}
		return
	}
	s.waits.Lock()
	if s.waits.closed {
		s.waits.Unlock()
		after(ErrNotCoordinator)
		return
	}
	s.waits.queue = append(s.waits.queue, pendingWrite{lastOffset: last, after: after})
	s.waits.Unlock()
	select {
	case s.waits.signal <- struct{}{}:
	default:
	}
}

// waitReplicated waits, in write order, for each appended write to reach
// the in-sync replicas and hands its callback back to the loop.
func (s *Shard[S]) waitReplicated() {
	for {
		s.waits.Lock()
		if len(s.waits.queue) == 0 {
			closed := s.waits.closed
			s.waits.Unlock()
			if closed {
				return
			}
			select {
			case <-s.waits.signal:
			case <-s.stop:
				s.waits.Lock()
				s.waits.closed = true
				s.waits.Unlock()
			}
			continue
		}
		w := s.waits.queue[0]
		s.waits.queue = s.waits.queue[1:]
		s.waits.Unlock()
		ctx, cancel := context.WithTimeout(s.ctx, replicationTimeout)
		err := s.part.WaitReplicated(ctx, w.lastOffset)
		cancel()
		if errors.Is(err, partition.ErrNotLeader) || (err != nil && s.isStopping()) {
			err = ErrNotCoordinator
		}
		s.enqueueTimer(func() { w.after(err) })
	}
}

func (s *Shard[S]) isStopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// enqueueInternal queues an event from the loop itself; it blocks rather
// than drop, since dropping would lose a reply.
func (s *Shard[S]) enqueueInternal(ev func()) error {
	select {
	case s.events <- ev:
		return nil
	case <-s.stop:
		return ErrNotCoordinator
	default:
	}
	// The queue is full of client events: run it inline instead.
	ev()
	return nil
}

func (s *Shard[S]) append(records []Record) (int64, error) {
	if len(records) == 0 {
		return -1, nil
	}
	now := s.clock().UnixMilli()
	h := record.Header{
		BaseTimestamp: now, MaxTimestamp: now,
		ProducerID: record.NoProducerID, ProducerEpoch: -1, BaseSequence: record.NoSequence,
	}
	recs := make([]record.Record, len(records))
	for i, r := range records {
		recs[i] = record.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	batch, err := record.BuildBatch(h, recs, record.CompressionNone)
	if err != nil {
		return -1, err
	}
	res, err := s.part.AppendRecordsAcks(batch, -1)
	switch {
	case errors.Is(err, partition.ErrNotLeader):
		return -1, ErrNotCoordinator
	case errors.Is(err, log.ErrOffline) || log.IsDiskFull(err):
		// Kafka answers a coordinator write that failed with
		// KAFKA_STORAGE_ERROR with NOT_COORDINATOR: the client looks the
		// coordinator up again (after a failed directory, elsewhere).
		s.logger.Warn("coordinator write failed on storage", "partition", s.part.ID.String(), "err", err)
		return -1, fmt.Errorf("%w: %w", ErrNotCoordinator, err)
	}
	return res.LastOffset, err
}

// Schedule implements Context.
func (s *Shard[S]) Schedule(key string, d time.Duration, fn func(Context)) {
	s.Cancel(key)
	s.timerSeq++
	seq := s.timerSeq
	entry := &timerEntry{seq: seq}
	entry.timer = time.AfterFunc(d, func() {
		s.enqueueTimer(func() {
			if cur, ok := s.timers[key]; !ok || cur.seq != seq {
				return // cancelled or replaced
			}
			delete(s.timers, key)
			fn(s)
		})
	})
	s.timers[key] = entry
}

// enqueueTimer queues a timer firing; a full queue delays it instead of
// dropping it.
func (s *Shard[S]) enqueueTimer(ev func()) {
	select {
	case s.events <- ev:
	case <-s.stop:
	}
}

// Cancel implements Context.
func (s *Shard[S]) Cancel(key string) {
	if t, ok := s.timers[key]; ok {
		t.timer.Stop()
		delete(s.timers, key)
	}
}
