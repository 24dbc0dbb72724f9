package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"samsa/internal/cli"
)

// clusterTarget is one local Samsa deployment: a column of the cluster
// table.
type clusterTarget struct {
	column      string
	nodes       int
	replication int // replication factor of the benchmark topics
	minISR      int // their min.insync.replicas
}

var (
	threeNodes = clusterTarget{column: "3 nodes rf=3", nodes: 3, replication: 3, minISR: 2}
	oneNode    = clusterTarget{column: "1 node rf=1", nodes: 1, replication: 1, minISR: 1}
)

// clusterWorkload runs on a fresh deployment of each of its targets.
type clusterWorkload struct {
	name      string
	rows      []string
	targets   []clusterTarget
	overrides []string // extra node configs (name=value)
	run       func(ctx context.Context, env clusterEnv, rec *recorder) error
}

// clusterEnv is what a workload runs against.
type clusterEnv struct {
	cluster *localCluster
	target  clusterTarget
	repeats int
}

// cellSamples is one table cell: a value per run, and the cluster's CPU
// seconds per run when the step measured them.
type cellSamples struct {
	values []float64
	cpu    []float64
	rss    float64
	state  string // "", "failed" or "unavailable"
}

// recorder collects a workload's samples on one target.
type recorder struct {
	cluster *localCluster
	cells   map[string]*cellSamples
	notes   []string
}

func newRecorder(cluster *localCluster) *recorder {
	return &recorder{cluster: cluster, cells: map[string]*cellSamples{}}
}

func (r *recorder) cell(row string) *cellSamples {
	if r.cells[row] == nil {
		r.cells[row] = &cellSamples{}
	}
	return r.cells[row]
}

// step runs fn and records its values for rows, with the CPU seconds all
// broker processes spent meanwhile.
func (r *recorder) step(rows []string, fn func() ([]float64, error)) error {
	before := r.cluster.cpuSeconds()
	values, err := fn()
	if err != nil {
		return fmt.Errorf("%s: %w", rows[0], err)
	}
	spent := r.cluster.cpuSeconds() - before
	for i, row := range rows {
		cell := r.cell(row)
		cell.values = append(cell.values, values[i])
		cell.cpu = append(cell.cpu, spent)
	}
	return nil
}

// sample records a value without CPU (a figure of a fault, not of work).
func (r *recorder) sample(row string, value float64) {
	cell := r.cell(row)
	cell.values = append(cell.values, value)
}

func (r *recorder) note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "bench:   %s\n", line)
	r.notes = append(r.notes, line)
}

func clusterWorkloads(scale float64) []clusterWorkload {
	both := []clusterTarget{threeNodes, oneNode}
	list := []clusterWorkload{
		clusterThroughput(100, max(int64(5_000_000*scale), 1000), both),
		clusterThroughput(1024, max(int64(1_000_000*scale), 1000), both),
		clusterE2E(max(int64(100_000*scale), 2000), both),
		failoverWorkload("default session 9 s", nil),
		failoverWorkload("session 3 s, heartbeat 0.5 s", []string{"broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500"}),
	}
	return list
}

// clusterThroughput produces count records of size bytes to a fresh
// 6-partition topic (acks=all) and consumes them from the earliest offset,
// once per repeat.
func clusterThroughput(size int, count int64, targets []clusterTarget) clusterWorkload {
	const partitions = 6
	label := fmt.Sprintf("%s p%d acks=all", sizeLabel(size), partitions)
	produceRow, consumeRow := "produce "+label+" (records/s)", "consume "+label+" (records/s)"
	return clusterWorkload{name: label, rows: []string{produceRow, consumeRow}, targets: targets,
		run: func(ctx context.Context, env clusterEnv, rec *recorder) error {
			for repeat := range env.repeats {
				topic := fmt.Sprintf("cbench-%d-r%d", size, repeat)
				if err := env.createTopic(ctx, topic, partitions); err != nil {
					return err
				}
				bootstrap := env.cluster.addrs()
				err := rec.step([]string{produceRow}, func() ([]float64, error) {
					produced, err := cli.RunPerfProduce(ctx, cli.PerfProduceConfig{
						Bootstrap: bootstrap, Topic: topic, NumRecords: count, RecordSize: size,
						Acks: "all", Partitions: partitions, Producers: 1, Compression: "none", LingerMs: -1,
					})
					return []float64{produced.RecordsPerSec}, err
				})
				if err != nil {
					return err
				}
				err = rec.step([]string{consumeRow}, func() ([]float64, error) {
					consumed, err := cli.RunPerfConsume(ctx, cli.PerfConsumeConfig{
						Bootstrap: bootstrap, Topic: topic, NumRecords: count, FromBeginning: true, IdleTimeout: 30 * time.Second,
					})
					return []float64{consumed.RecordsPerSec}, err
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "bench:   %s run %d: produce %.0f/s, consume %.0f/s\n", env.target.column,
					repeat+1, rec.cell(produceRow).values[repeat], rec.cell(consumeRow).values[repeat])
				env.deleteTopic(ctx, topic)
			}
			return nil
		}}
}

// clusterE2E measures end-to-end latency at 10,000 records/s, acks=all, on
// a one-partition topic.
func clusterE2E(count int64, targets []clusterTarget) clusterWorkload {
	const rate = 10_000
	label := fmt.Sprintf("e2e 100B @%d/s acks=all p1", rate)
	rows := []string{label + " p50 (ms)", label + " p99 (ms)", label + " p99.9 (ms)"}
	return clusterWorkload{name: label, rows: rows, targets: targets,
		run: func(ctx context.Context, env clusterEnv, rec *recorder) error {
			const topic = "cbench-e2e"
			if err := env.createTopic(ctx, topic, 1); err != nil {
				return err
			}
			return rec.step(rows, func() ([]float64, error) {
				summary, err := cli.RunPerfE2E(ctx, cli.PerfE2EConfig{
					Bootstrap: env.cluster.addrs(), Topic: topic, Rate: rate, NumRecords: count, RecordSize: 100,
					Acks: "all", Partitions: 1, IdleTimeout: 30 * time.Second,
				})
				return []float64{summary.P50Ms, summary.P99Ms, summary.P999Ms}, err
			})
		}}
}

// createTopic creates topic with the target's replication factor and
// min.insync.replicas and waits until every replica is in sync.
func (env clusterEnv) createTopic(ctx context.Context, topic string, partitions int) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.addrs()...))
	if err != nil {
		return err
	}
	defer client.Close()
	minISR := strconv.Itoa(env.target.minISR)
	configs := map[string]*string{"min.insync.replicas": &minISR}
	_, err = kadm.NewClient(client).CreateTopic(ctx, int32(partitions), int16(env.target.replication), configs, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	return env.cluster.waitFullISR(ctx, topic, partitions, env.target.replication)
}

// deleteTopic removes a finished run's topic (best effort: it only frees
// disk).
func (env clusterEnv) deleteTopic(ctx context.Context, topic string) {
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.addrs()...))
	if err != nil {
		return
	}
	defer client.Close()
	_, _ = kadm.NewClient(client).DeleteTopics(ctx, topic)
}

// runClusterWorkload starts a fresh deployment of target, runs w on it and
// stops it.
func runClusterWorkload(o options, target clusterTarget, w clusterWorkload) (map[string]*cellSamples, []string) {
	cluster, err := startLocalCluster(o.samsaBin, target.nodes, o.ready, w.overrides...)
	if err != nil {
		cells := map[string]*cellSamples{}
		for _, row := range w.rows {
			cells[row] = &cellSamples{state: "unavailable"}
		}
		return cells, []string{fmt.Sprintf("%s unavailable for %s: %v", target.column, w.name, err)}
	}
	defer cluster.stop()
	limit := o.workloadLimit
	if limit <= 0 {
		limit = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	rec := newRecorder(cluster)
	err = w.run(ctx, clusterEnv{cluster: cluster, target: target, repeats: max(o.repeats, 1)}, rec)
	rss := cluster.peakRSSMiB()
	for _, row := range w.rows {
		cell := rec.cell(row)
		cell.rss = rss
		if err != nil {
			cell.state = "failed"
		}
	}
	if err != nil {
		rec.notes = append(rec.notes, fmt.Sprintf("%s failed %s: %v%s", target.column, w.name, err, cluster.logTails(300)))
	}
	return rec.cells, rec.notes
}
