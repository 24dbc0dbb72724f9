package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ack is one acknowledged produce: the broker said value is at
// (partition, offset).
type ack struct {
	producer  int
	sequence  int
	value     string
	partition int32
	offset    int64
}

// observation is one record read at (partition, offset), by a group
// consumer or by the final read.
type observation struct {
	partition int32
	offset    int64
	value     string
}

// commit is one acknowledged offset commit of the group.
type commit struct {
	partition  int32
	offset     int64
	sent       time.Time
	acked      time.Time
	member     string
	generation int32
}

func (c commit) String() string {
	return fmt.Sprintf("%d by %s generation %d (sent %s, acked %s)", c.offset, c.member, c.generation,
		c.sent.Format("15:04:05.000"), c.acked.Format("15:04:05.000"))
}

// history is everything the workload saw; every method is safe for
// concurrent use.
type history struct {
	mu struct {
		sync.Mutex
		attempts     int
		failures     int
		acks         []ack
		reads        []observation
		commits      []commit
		commitErrors int
	}
}

func (h *history) attempt() {
	h.mu.Lock()
	h.mu.attempts++
	h.mu.Unlock()
}

func (h *history) produced(a ack) {
	h.mu.Lock()
	h.mu.acks = append(h.mu.acks, a)
	h.mu.Unlock()
}

func (h *history) failed() {
	h.mu.Lock()
	h.mu.failures++
	h.mu.Unlock()
}

func (h *history) read(o observation) {
	h.mu.Lock()
	h.mu.reads = append(h.mu.reads, o)
	h.mu.Unlock()
}

func (h *history) committed(c commit) {
	h.mu.Lock()
	h.mu.commits = append(h.mu.commits, c)
	h.mu.Unlock()
}

func (h *history) commitFailed() {
	h.mu.Lock()
	h.mu.commitErrors++
	h.mu.Unlock()
}

// snapshot copies the history for checking.
func (h *history) snapshot() historySnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return historySnapshot{
		attempts:     h.mu.attempts,
		failures:     h.mu.failures,
		acks:         slices.Clone(h.mu.acks),
		reads:        slices.Clone(h.mu.reads),
		commits:      slices.Clone(h.mu.commits),
		commitErrors: h.mu.commitErrors,
	}
}

type historySnapshot struct {
	attempts, failures, commitErrors int
	acks                             []ack
	reads                            []observation
	commits                          []commit
}

// recordValue is the value of producer's sequence-th record.
func recordValue(producer, sequence int) string {
	return fmt.Sprintf("p%d-%d", producer, sequence)
}

// parseValue splits a value of recordValue; ok is false for anything else.
func parseValue(value string) (producer, sequence int, ok bool) {
	rest, found := strings.CutPrefix(value, "p")
	if !found {
		return 0, 0, false
	}
	producerText, sequenceText, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	producer, err1 := strconv.Atoi(producerText)
	sequence, err2 := strconv.Atoi(sequenceText)
	return producer, sequence, err1 == nil && err2 == nil
}
