package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// faultKind names one kind of fault.
type faultKind string

const (
	killLeader          faultKind = "kill -9 partition leader"
	killController      faultKind = "kill -9 active controller"
	killRandom          faultKind = "kill -9 random broker"
	pauseLeader         faultKind = "SIGSTOP partition leader"
	pauseRandom         faultKind = "SIGSTOP random broker"
	isolateLeader       faultKind = "partition: isolate a leader"
	isolateController   faultKind = "partition: isolate the controller"
	bridgeSplit         faultKind = "partition: split (two nodes cut, third sees both)"
	mixedKillPartition  faultKind = "mixed: partition one node, kill -9 another"
	mixedPauseKill      faultKind = "mixed: SIGSTOP one node, kill -9 another"
	restartAttemptBound           = 3
)

// fault is one injected fault, as reported.
type fault struct {
	kind    faultKind
	targets []int32
	start   time.Duration // since the workload began
	end     time.Duration
	note    string
}

// nemesis injects seeded random faults at random intervals until its
// context ends, healing each before the next.
type nemesis struct {
	cluster   *cluster
	logger    *slog.Logger
	random    *rand.Rand
	gap       [2]time.Duration // pause between faults, min and max
	hold      [2]time.Duration // how long a fault lasts, min and max
	pauseHold [2]time.Duration // SIGSTOP length: longer than every session timeout
	began     time.Time

	mu struct {
		sync.Mutex
		faults []fault
	}
}

func (n *nemesis) kinds() []faultKind {
	kinds := []faultKind{killLeader, killController, killRandom, pauseLeader, pauseRandom, mixedPauseKill}
	if n.cluster.network.isolated {
		kinds = append(kinds, isolateLeader, isolateController, bridgeSplit, mixedKillPartition)
	}
	return kinds
}

// run injects faults until ctx ends; everything is healed when it returns.
func (n *nemesis) run(ctx context.Context) {
	defer n.healAll()
	for {
		if !sleepContext(ctx, n.between(n.gap)) {
			return
		}
		kinds := n.kinds()
		kind := kinds[n.random.IntN(len(kinds))]
		n.inject(ctx, kind)
	}
}

func (n *nemesis) between(bounds [2]time.Duration) time.Duration {
	return bounds[0] + time.Duration(n.random.Int64N(int64(bounds[1]-bounds[0])+1))
}

// inject applies one fault, holds it, heals it and records it.
func (n *nemesis) inject(ctx context.Context, kind faultKind) {
	leader, controller := n.targets(ctx)
	hold := n.between(n.hold)
	record := fault{kind: kind, start: time.Since(n.began)}
	var heal func() error
	var err error
	switch kind {
	case killLeader, killController, killRandom:
		target := map[faultKind]int32{killLeader: leader, killController: controller, killRandom: n.randomNode()}[kind]
		record.targets = []int32{target}
		err = n.cluster.kill(target)
		heal = func() error { return n.cluster.start(target) }
	case pauseLeader, pauseRandom:
		target := map[faultKind]int32{pauseLeader: leader, pauseRandom: n.randomNode()}[kind]
		record.targets = []int32{target}
		hold = n.between(n.pauseHold)
		err = n.cluster.pause(target)
		heal = func() error { return n.cluster.resume(target) }
	case isolateLeader, isolateController:
		target := map[faultKind]int32{isolateLeader: leader, isolateController: controller}[kind]
		record.targets = []int32{target}
		err = n.isolate(target)
		heal = n.cluster.network.heal
	case bridgeSplit:
		a := n.randomNode()
		b := n.otherNode(a)
		record.targets = []int32{a, b}
		err = n.cluster.network.cut(a, b)
		heal = n.cluster.network.heal
	case mixedKillPartition, mixedPauseKill:
		first := n.randomNode()
		second := n.otherNode(first)
		record.targets = []int32{first, second}
		if kind == mixedKillPartition {
			err = errors.Join(n.isolate(first), n.cluster.kill(second))
			heal = func() error { return errors.Join(n.cluster.network.heal(), n.cluster.start(second)) }
		} else {
			hold = n.between(n.pauseHold)
			err = errors.Join(n.cluster.pause(first), n.cluster.kill(second))
			heal = func() error { return errors.Join(n.cluster.resume(first), n.cluster.start(second)) }
		}
	}
	if err != nil {
		record.note = "inject: " + err.Error()
	}
	n.logger.Info("fault", "kind", kind, "targets", record.targets, "hold", hold)
	if kind == pauseLeader || kind == pauseRandom || kind == mixedPauseKill {
		// A pause always outlasts the session timeouts, even the last one.
		sleepContext(context.Background(), hold)
	} else {
		// The last fault is usually still active when the phase ends: the
		// recovery check then measures serving again after a real heal.
		sleepContext(ctx, hold)
	}
	if err := heal(); err != nil {
		record.note += " heal: " + err.Error()
	}
	record.end = time.Since(n.began)
	n.mu.Lock()
	n.mu.faults = append(n.mu.faults, record)
	n.mu.Unlock()
}

// targets returns a partition leader of the workload topic and the active
// controller as a live node sees them; a random node stands in for either
// when nobody answers.
func (n *nemesis) targets(ctx context.Context) (leader, controller int32) {
	leader, controller = n.randomNode(), n.randomNode()
	views, controllerID, err := n.cluster.partitions(ctx, topicName)
	if err != nil {
		return leader, controller
	}
	var leaders []int32
	for _, view := range views {
		if view.leader > 0 {
			leaders = append(leaders, view.leader)
		}
	}
	if len(leaders) > 0 {
		leader = leaders[n.random.IntN(len(leaders))]
	}
	if slices.Contains(n.cluster.ids(), controllerID) {
		controller = controllerID
	}
	return leader, controller
}

// isolate cuts node target off from every other node.
func (n *nemesis) isolate(target int32) error {
	var errs []error
	for _, id := range n.cluster.ids() {
		if id != target {
			errs = append(errs, n.cluster.network.cut(target, id))
		}
	}
	return errors.Join(errs...)
}

func (n *nemesis) randomNode() int32 {
	return int32(1 + n.random.IntN(len(n.cluster.nodes)))
}

func (n *nemesis) otherNode(not int32) int32 {
	other := int32(1 + n.random.IntN(len(n.cluster.nodes)-1))
	if other >= not {
		other++
	}
	return other
}

// healAll resumes paused nodes, restarts stopped ones and removes every
// network cut.
func (n *nemesis) healAll() {
	if n.cluster.network.isolated {
		if err := n.cluster.network.heal(); err != nil {
			n.logger.Error("heal network", "error", err)
		}
	}
	for _, id := range n.cluster.ids() {
		running, paused := n.cluster.state(id)
		switch {
		case paused:
			_ = n.cluster.resume(id)
		case !running:
			_ = n.cluster.kill(id) // reaps a crashed process's slot
			for attempt := 0; attempt < restartAttemptBound; attempt++ {
				if err := n.cluster.start(id); err == nil {
					break
				}
			}
		}
	}
}

func (n *nemesis) faults() []fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.mu.faults)
}

// sleepContext sleeps for duration or until ctx ends; false when ctx ended.
func sleepContext(ctx context.Context, duration time.Duration) bool {
	timer := time.NewTimer(duration)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func (f fault) String() string {
	return fmt.Sprintf("%7.1fs-%7.1fs %s on %v %s", f.start.Seconds(), f.end.Seconds(), f.kind, f.targets, f.note)
}
