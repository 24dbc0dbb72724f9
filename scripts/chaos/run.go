package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	nodeCount     = 3
	startBound    = 60 * time.Second // cluster formation
	recoveryBound = 30 * time.Second // serving again after healing
	inSyncBound   = 60 * time.Second // every replica back in the ISR
	probeAttempts = 1000             // bound on recovery probe rounds
)

// report is one run's outcome.
type report struct {
	options      options
	started      time.Time
	networkNote  string
	history      historySnapshot
	finalRecords int
	faults       []fault
	recovery     time.Duration
	anomalies    []*anomaly
	replicaLines []string
	dataDir      string
	errors       []string
}

// failed reports whether any anomaly count is non-zero.
func (r *report) failed() bool {
	for _, a := range r.anomalies {
		if a.count > 0 {
			return true
		}
	}
	return len(r.errors) > 0
}

// run performs one verification run and always cleans up its processes
// and namespaces. The error is errAnomalies (or a setup failure).
func run(ctx context.Context, opts options) (*report, error) {
	root, err := os.MkdirTemp("", "samsa-chaos-")
	if err != nil {
		return nil, err
	}
	if !opts.keepData {
		defer os.RemoveAll(root)
	}
	result := &report{options: opts, started: time.Now(), dataDir: root}
	network, note := newNetwork(nodeCount)
	defer network.teardown()
	result.networkNote = note
	c, err := newCluster(opts.binary, root, network, nodeCount)
	if err != nil {
		return nil, err
	}
	defer c.stopAll()
	if err := runPhases(ctx, c, opts, result); err != nil {
		result.errors = append(result.errors, err.Error())
	}
	if result.failed() {
		return result, errAnomalies
	}
	return result, nil
}

func runPhases(ctx context.Context, c *cluster, opts options, result *report) error {
	for _, id := range c.ids() {
		if err := c.start(id); err != nil {
			return err
		}
	}
	if err := c.waitBrokers(ctx, startBound); err != nil {
		return fmt.Errorf("cluster formation: %w", err)
	}
	h := &history{}
	w := &workload{cluster: c, history: h, logger: opts.logger, producers: opts.profile.producers,
		consumers: opts.profile.consumers, partitions: opts.profile.partitions,
		interval: opts.profile.interval, seed: opts.seed}
	if err := eventually(ctx, startBound, "topic created", func() error { return w.createTopic(ctx) }); err != nil {
		return err
	}
	if err := c.waitFullISR(ctx, topicName, w.partitions, startBound); err != nil {
		return err
	}
	n := &nemesis{cluster: c, logger: opts.logger, random: rand.New(rand.NewPCG(opts.seed, 0x6e656d)),
		gap: opts.profile.gap, hold: opts.profile.hold, pauseHold: opts.profile.pauseHold, began: time.Now()}
	faultCtx, cancel := context.WithTimeout(ctx, opts.profile.duration)
	defer cancel()
	var group sync.WaitGroup
	var probeErr error
	group.Go(func() {
		n.run(faultCtx) // heals everything before returning
		// Measured from the heal, while the producers still flush.
		healed := time.Now()
		probeErr = probeEveryPartition(ctx, w, healed.Add(recoveryBound))
		result.recovery = time.Since(healed)
	})
	group.Go(func() { w.run(faultCtx) })
	group.Wait()
	n.healAll() // nodes that crashed on their own since
	result.faults = n.faults()
	return verify(ctx, c, w, result, probeErr)
}

// verify reads everything back, stops the cluster and
// compares the replicas.
func verify(ctx context.Context, c *cluster, w *workload, result *report, probeErr error) error {
	recovered := &anomaly{name: "no recovery", meaning: fmt.Sprintf("the cluster did not serve acks=all writes to every partition within %v of healing, or replicas did not all rejoin the ISR within %v", recoveryBound, inSyncBound)}
	crashes := &anomaly{name: "node crashes", meaning: "a samsa process exited without being killed"}
	result.anomalies = append(result.anomalies, recovered, crashes)
	if probeErr != nil {
		recovered.add("%v", probeErr)
	}
	if err := c.waitFullISR(ctx, topicName, w.partitions, inSyncBound); err != nil {
		recovered.add("%v", err)
	}
	var final finalRead
	var highWatermarks map[int32]int64
	readErr := eventually(ctx, finalReadBound, "final read", func() (err error) {
		final, highWatermarks, err = w.finalRead(ctx)
		return err
	})
	var committed map[int32]int64
	commitErr := eventually(ctx, requestBound, "final committed offsets", func() (err error) {
		committed, err = w.finalCommitted(ctx)
		return err
	})
	crashLines := c.crashLines()
	for i := range c.crashCount() {
		if i < len(crashLines) {
			crashes.add("%s", crashLines[i])
		} else {
			crashes.add("see the node logs")
		}
	}
	c.stopAll()
	snapshot := w.history.snapshot()
	result.history = snapshot
	for _, records := range final {
		result.finalRecords += len(records)
	}
	if err := errors.Join(readErr, commitErr); err != nil {
		return err
	}
	result.anomalies = append(result.anomalies, checkHistory(snapshot, final, committed)...)
	dirs := map[int32]string{}
	for _, n := range c.nodes {
		dirs[n.id] = n.dataDir
	}
	divergence, lines := checkReplicas(dirs, highWatermarks)
	result.anomalies = append(result.anomalies, divergence)
	result.replicaLines = lines
	return nil
}

// probeEveryPartition writes one acks=all record to every partition until
// each has been acknowledged or deadline passes.
func probeEveryPartition(ctx context.Context, w *workload, deadline time.Time) error {
	client, err := kgo.NewClient(w.clientOptions(
		kgo.DefaultProduceTopic(topicName),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(5*time.Second),
	)...)
	if err != nil {
		return err
	}
	defer client.Close()
	pending := map[int32]bool{}
	for partition := range int32(w.partitions) {
		pending[partition] = true
	}
	var lastErr error
	for attempt := 0; attempt < probeAttempts && len(pending) > 0; attempt++ {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("partitions %v not writable: %w", keys(pending), lastErr)
		}
		for partition := range pending {
			record := &kgo.Record{Partition: partition, Value: []byte("probe-" + strconv.Itoa(int(partition)) + "-" + strconv.Itoa(attempt))}
			probeCtx, cancel := context.WithDeadline(ctx, deadline)
			err := client.ProduceSync(probeCtx, record).FirstErr()
			cancel()
			if err == nil {
				delete(pending, partition)
			} else {
				lastErr = err
			}
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("partitions %v not writable: %w", keys(pending), lastErr)
	}
	return nil
}

func keys(set map[int32]bool) []int32 {
	var list []int32
	for key := range set {
		list = append(list, key)
	}
	return list
}
