package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// errNotSettled means a group's assignment did not converge in time.
var errNotSettled = errors.New("group assignment did not settle")

// assignmentTracker records which partitions each group member owns, from
// the members' OnPartitionsAssigned/Revoked/Lost callbacks.
type assignmentTracker struct {
	changed chan struct{} // one pending wake-up for the waiter
	mu      struct {
		sync.Mutex
		owned  []map[int32]bool
		active []bool
	}
}

func newAssignmentTracker(members int) *assignmentTracker {
	t := &assignmentTracker{changed: make(chan struct{}, 1)}
	t.mu.owned = make([]map[int32]bool, members)
	t.mu.active = make([]bool, members)
	for i := range members {
		t.mu.owned[i] = map[int32]bool{}
		t.mu.active[i] = true
	}
	return t
}

func (t *assignmentTracker) update(member int, partitions map[string][]int32, owned bool) {
	t.mu.Lock()
	for _, list := range partitions {
		for _, p := range list {
			if owned {
				t.mu.owned[member][p] = true
			} else {
				delete(t.mu.owned[member], p)
			}
		}
	}
	t.mu.Unlock()
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// deactivate stops counting a member (before it leaves the group).
func (t *assignmentTracker) deactivate(member int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.active[member] = false
}

// settled reports whether the active members together own exactly
// partitions 0..partitions-1, each once, and the split is balanced (every
// member owns floor or ceil of partitions/members): the state both the range
// and the cooperative-sticky balancer end in.
func (t *assignmentTracker) settled(partitions int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	members := 0
	for _, active := range t.mu.active {
		if active {
			members++
		}
	}
	if members == 0 {
		return false
	}
	low := partitions / members
	high := (partitions + members - 1) / members
	seen := make(map[int32]bool, partitions)
	for i, owned := range t.mu.owned {
		if !t.mu.active[i] {
			continue
		}
		if len(owned) < low || len(owned) > high {
			return false
		}
		for p := range owned {
			if seen[p] || p < 0 || int(p) >= partitions {
				return false
			}
			seen[p] = true
		}
	}
	return len(seen) == partitions
}

// waitSettled blocks until settled holds, the context ends or limit passes.
func (t *assignmentTracker) waitSettled(ctx context.Context, partitions int, limit time.Duration) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for !t.settled(partitions) {
		select {
		case <-t.changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("%w within %s", errNotSettled, limit)
		}
	}
	return nil
}

// groupMember is one consumer-group client with its poll loop.
type groupMember struct {
	client *kgo.Client
	done   chan struct{}
}

// memberConfig is what every member of one benchmark group shares.
type memberConfig struct {
	addr      string
	group     string
	topic     string
	balancer  func() kgo.GroupBalancer
	heartbeat time.Duration
	tracker   *assignmentTracker
}

// startMember creates member index's client; the group join starts at once.
func startMember(config memberConfig, index int) (*groupMember, error) {
	track := func(owned bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, partitions map[string][]int32) {
			config.tracker.update(index, partitions, owned)
		}
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(config.addr),
		kgo.ConsumerGroup(config.group),
		kgo.ConsumeTopics(config.topic),
		kgo.Balancers(config.balancer()),
		kgo.HeartbeatInterval(config.heartbeat),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(track(true)),
		kgo.OnPartitionsRevoked(track(false)),
		kgo.OnPartitionsLost(track(false)),
	)
	if err != nil {
		return nil, err
	}
	m := &groupMember{client: client, done: make(chan struct{})}
	go m.poll()
	return m, nil
}

// poll consumes like an application would until the client is closed.
func (m *groupMember) poll() {
	defer close(m.done)
	for {
		if m.client.PollFetches(context.Background()).IsClientClosed() {
			return
		}
	}
}

// stop leaves the group (kgo's Close sends LeaveGroup) and ends the poll loop.
func (m *groupMember) stop() {
	m.client.Close()
	<-m.done
}

// startMembers starts count members at the same moment.
func startMembers(config memberConfig, count int) ([]*groupMember, error) {
	members := make([]*groupMember, count)
	errs := make([]error, count)
	var wait sync.WaitGroup
	for i := range count {
		wait.Add(1)
		go func() {
			defer wait.Done()
			members[i], errs[i] = startMember(config, i)
		}()
	}
	wait.Wait()
	if err := errors.Join(errs...); err != nil {
		stopMembers(members)
		return nil, err
	}
	return members, nil
}

// stopMembers stops every non-nil member concurrently.
func stopMembers(members []*groupMember) {
	var wait sync.WaitGroup
	for _, m := range members {
		if m == nil {
			continue
		}
		wait.Add(1)
		go func() {
			defer wait.Done()
			m.stop()
		}()
	}
	wait.Wait()
}
