package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"samsa/internal/cli"
)

// suiteScale sizes the suite: the full run (about 10 minutes on 2 cores)
// or --quick (about 1-2 minutes), times --scale.
type suiteScale struct {
	repeats        int
	small          int64   // 100 B records per produce step
	large          int64   // 1 KiB records per produce step
	natsFraction   float64 // NATS steps send this fraction of the records
	e2eSeconds     float64 // length of each end-to-end latency run
	longRecords    int64   // 1 KiB records of the long run
	longSegment    int64   // its segment.bytes
	longRetention  int64   // its retention.bytes
	rssPartitions  int
	rssConnections int
	limits         limitSizes
}

func suiteScaleFor(o options) suiteScale {
	s := suiteScale{repeats: max(o.repeats, 1), small: 1_000_000, large: 250_000, natsFraction: 0.1, e2eSeconds: 4,
		longRecords: 2_000_000, longSegment: 32 << 20, longRetention: 128 << 20, rssPartitions: 1000, rssConnections: 1000,
		limits: limitSizes{duration: time.Second, appendBytes: 1 << 30}}
	if o.quick {
		s = suiteScale{repeats: max(o.repeats, 1), small: 100_000, large: 25_000, natsFraction: 0.2, e2eSeconds: 1,
			longRecords: 100_000, longSegment: 4 << 20, longRetention: 16 << 20, rssPartitions: 1000, rssConnections: 200,
			limits: limitSizes{duration: 200 * time.Millisecond, appendBytes: 64 << 20}}
	}
	scaled := func(n int64) int64 { return max(int64(float64(n)*o.scale), 1000) }
	s.small, s.large, s.longRecords = scaled(s.small), scaled(s.large), scaled(s.longRecords)
	if o.scale < 1 {
		s.e2eSeconds = max(s.e2eSeconds*o.scale, 0.2)
		s.limits.appendBytes = max(int64(float64(s.limits.appendBytes)*o.scale), 8<<20)
		s.rssPartitions = max(int(float64(s.rssPartitions)*o.scale), 10)
		s.rssConnections = max(int(float64(s.rssConnections)*o.scale), 10)
	}
	return s
}

// flowSpec is one produce-then-consume (or produce-and-consume) workload.
type flowSpec struct {
	size       int
	partitions int
	acks       string
	keys       bool
	producers  int
	concurrent bool // consume while producing
	cold       bool // drop the page cache between produce and consume
	nodes      int  // 3: Samsa's local three-node cluster, rf=3
}

func (f flowSpec) label() string {
	label := fmt.Sprintf("%s p%d acks=%s", sizeLabel(f.size), f.partitions, f.acks)
	if f.keys {
		label += " keys"
	}
	if f.producers > 1 {
		label += fmt.Sprintf(" %d producers", f.producers)
	}
	if f.nodes > 1 {
		label += fmt.Sprintf(" %d nodes rf=3", f.nodes)
	}
	if f.cold {
		label += " cold"
	}
	return label
}

// slug is a name usable as a Kafka topic and a NATS stream.
func (f flowSpec) slug() string {
	return strings.NewReplacer(" ", "_", "=", "", ".", "").Replace(f.label())
}

// suiteWorkloads is the matrix: a base case (100 B, 6 partitions, acks=all,
// no keys, one producer, produce then consume) and one dimension varied at
// a time, then latency, the cluster, the long run and memory.
func suiteWorkloads(s suiteScale) []suiteWorkload {
	base := flowSpec{size: 100, partitions: 6, acks: "all", producers: 1}
	vary := func(change func(*flowSpec)) flowSpec {
		spec := base
		change(&spec)
		return spec
	}
	list := []suiteWorkload{
		flowWorkload(base, s),
		flowWorkload(vary(func(f *flowSpec) { f.size = 1024 }), s),
		flowWorkload(vary(func(f *flowSpec) { f.partitions = 1 }), s),
		flowWorkload(vary(func(f *flowSpec) { f.partitions = 100 }), s),
		flowWorkload(vary(func(f *flowSpec) { f.acks = "1" }), s),
		flowWorkload(vary(func(f *flowSpec) { f.keys = true }), s),
		flowWorkload(vary(func(f *flowSpec) { f.producers = 16 }), s),
		flowWorkload(vary(func(f *flowSpec) { f.concurrent = true }), s),
		flowWorkload(vary(func(f *flowSpec) { f.size, f.cold = 1024, true }), s),
		e2eSuiteWorkload(10_000, 1, s),
		e2eSuiteWorkload(100_000, 1, s),
		flowWorkload(vary(func(f *flowSpec) { f.nodes = 3 }), s),
		e2eSuiteWorkload(10_000, 3, s),
		e2eSuiteWorkload(100_000, 3, s),
		longRunWorkload(s),
		memoryWorkload(s),
	}
	return list
}

func flowRows(spec flowSpec) (produce, consume string) {
	produce, consume = "produce "+spec.label()+" (records/s)", "consume "+spec.label()+" (records/s)"
	if spec.concurrent {
		produce = "produce+consume at once: produce " + spec.label() + " (records/s)"
		consume = "produce+consume at once: consume " + spec.label() + " (records/s)"
	}
	return produce, consume
}

func flowWorkload(spec flowSpec, s suiteScale) suiteWorkload {
	count := s.small
	if spec.size > 100 {
		count = s.large
	}
	produceRow, consumeRow := flowRows(spec)
	w := suiteWorkload{
		name: spec.label(), samsaNodes: spec.nodes, samsaOnly: spec.nodes > 1,
		rows: []suiteRow{{name: produceRow, limit: produceLimit, recordSize: spec.size}, {name: consumeRow, limit: consumeLimit, recordSize: spec.size}},
	}
	if spec.concurrent {
		w.name = "produce+consume at once " + spec.label()
	}
	w.kafka = func(ctx context.Context, env *suiteEnv) error {
		for run := range env.repeats {
			if err := kafkaFlow(ctx, env, spec, fmt.Sprintf("%s-%d", spec.slug(), run), count); err != nil {
				return err
			}
		}
		return nil
	}
	if !spec.keys && spec.acks == "all" && spec.nodes <= 1 {
		// JetStream has no record keys and one acknowledgement mode (after
		// the stream stored the message): those rows are n/a for NATS.
		natsCount := max(int64(float64(count)*s.natsFraction), 1000)
		w.nats = func(ctx context.Context, env *suiteEnv) error {
			for run := range env.repeats {
				if err := natsFlow(ctx, env, spec, fmt.Sprintf("s%s%d", streamName(spec.slug()), run), natsCount); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return w
}

func kafkaFlow(ctx context.Context, env *suiteEnv, spec flowSpec, topic string, count int64) error {
	addrs := env.deployment.addrs()
	produceRow, consumeRow := flowRows(spec)
	gb := float64(count) * float64(spec.size) / 1e9
	produceConfig := cli.PerfProduceConfig{
		Bootstrap: addrs, Topic: topic, NumRecords: count, RecordSize: spec.size, Acks: spec.acks,
		Partitions: spec.partitions, Producers: spec.producers, Keys: spec.keys, Compression: "none", LingerMs: -1,
	}
	consumeConfig := cli.PerfConsumeConfig{Bootstrap: addrs, Topic: topic, NumRecords: count, FromBeginning: true, IdleTimeout: 30 * time.Second}
	// The topic exists before the clock and the CPU count start.
	if err := createSuiteTopic(ctx, addrs, topic, spec.partitions, nil); err != nil {
		return err
	}
	if spec.concurrent {
		return env.step([]string{produceRow, consumeRow}, gb, func() ([]float64, error) {
			consumed := make(chan error, 1)
			var consume cli.ConsumeSummary
			go func() {
				var err error
				consume, err = cli.RunPerfConsume(ctx, consumeConfig)
				consumed <- err
			}()
			produce, err := cli.RunPerfProduce(ctx, produceConfig)
			return []float64{produce.RecordsPerSec, consume.RecordsPerSec}, errors.Join(err, <-consumed)
		})
	}
	err := env.step([]string{produceRow}, gb, func() ([]float64, error) {
		produce, err := cli.RunPerfProduce(ctx, produceConfig)
		return []float64{produce.RecordsPerSec}, err
	})
	if err != nil {
		return err
	}
	if spec.cold {
		dropPageCache(env)
	}
	return env.step([]string{consumeRow}, gb, func() ([]float64, error) {
		consume, err := cli.RunPerfConsume(ctx, consumeConfig)
		return []float64{consume.RecordsPerSec}, err
	})
}

func natsFlow(ctx context.Context, env *suiteEnv, spec flowSpec, stream string, count int64) error {
	addr := env.deployment.addrs()[0]
	produceRow, consumeRow := flowRows(spec)
	gb := float64(count) * float64(spec.size) / 1e9
	args := []string{"--stream", stream, "--subjects", fmt.Sprint(spec.partitions), "--count", fmt.Sprint(count),
		"--size", fmt.Sprint(spec.size), "--producers", fmt.Sprint(spec.producers)}
	if spec.concurrent {
		return env.step([]string{produceRow, consumeRow}, gb, func() ([]float64, error) {
			r, err := runNATSBench(ctx, env.natsBench, addr, append(args, "--mode", "both")...)
			return []float64{r.RecordsPerSec, r.ConsumedPerSec}, err
		})
	}
	err := env.step([]string{produceRow}, gb, func() ([]float64, error) {
		r, err := runNATSBench(ctx, env.natsBench, addr, append(args, "--mode", "produce")...)
		return []float64{r.RecordsPerSec}, err
	})
	if err != nil {
		return err
	}
	if spec.cold {
		dropPageCache(env)
	}
	return env.step([]string{consumeRow}, gb, func() ([]float64, error) {
		r, err := runNATSBench(ctx, env.natsBench, addr, append(args, "--mode", "consume")...)
		return []float64{r.RecordsPerSec}, err
	})
}

// streamName keeps the letters and digits of a slug.
func streamName(slug string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, slug)
}

// dropPageCache writes dirty pages and drops the page cache so the next
// read comes from the disk; without permission it notes that the backlog
// may still be cached.
func dropPageCache(env *suiteEnv) {
	if env.keepCache {
		env.note("cold rows: page cache kept (--keep-page-cache): the backlog was read warm")
		return
	}
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200); err != nil {
		env.note("cold rows: could not drop the page cache (%v); the backlog may still be cached", err)
	}
}

func e2eSuiteWorkload(rate float64, nodes int, s suiteScale) suiteWorkload {
	label := fmt.Sprintf("e2e 100 B p1 acks=all @%s/s", groupedInt(int64(rate)))
	if nodes > 1 {
		label += fmt.Sprintf(" %d nodes rf=3", nodes)
	}
	rows := []string{label + " p50 (ms)", label + " p99 (ms)", label + " p99.9 (ms)"}
	count := max(int64(rate*s.e2eSeconds), 1000)
	warmUp := max(count/10, 100)
	w := suiteWorkload{name: label, samsaNodes: nodes, samsaOnly: nodes > 1}
	for _, row := range rows {
		w.rows = append(w.rows, suiteRow{name: row, lowerBetter: true})
	}
	w.kafka = func(ctx context.Context, env *suiteEnv) error {
		e2e := func(records int64) ([]float64, error) {
			r, err := cli.RunPerfE2E(ctx, cli.PerfE2EConfig{Bootstrap: env.deployment.addrs(), Topic: "e2e",
				Rate: rate, NumRecords: records, RecordSize: 100, Acks: "all", Partitions: 1, IdleTimeout: 30 * time.Second})
			return []float64{r.P50Ms, r.P99Ms, r.P999Ms}, err
		}
		return repeatWithWarmUp(env, rows, warmUp, count, e2e)
	}
	if nodes <= 1 {
		w.nats = func(ctx context.Context, env *suiteEnv) error {
			return repeatWithWarmUp(env, rows, warmUp, count, func(records int64) ([]float64, error) {
				r, err := runNATSBench(ctx, env.natsBench, env.deployment.addrs()[0], "--mode", "e2e", "--stream", "e2e",
					"--rate", fmt.Sprint(rate), "--count", fmt.Sprint(records), "--size", "100")
				return []float64{r.P50Ms, r.P99Ms, r.P999Ms}, err
			})
		}
	}
	return w
}

// repeatWithWarmUp runs a latency measurement once with warmUp records
// without recording it (the topic, leaders, followers' fetch sessions and
// client connections get ready), then env.repeats times with count records
// on the same topic.
func repeatWithWarmUp(env *suiteEnv, rows []string, warmUp, count int64, measure func(records int64) ([]float64, error)) error {
	if _, err := measure(warmUp); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for range env.repeats {
		if err := env.step(rows, 0, func() ([]float64, error) { return measure(count) }); err != nil {
			return err
		}
	}
	return nil
}

// createSuiteTopic creates topic with the broker's default replication and the
// given topic configs; an existing topic is fine.
func createSuiteTopic(ctx context.Context, addrs []string, topic string, partitions int, configs map[string]*string) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	admin := kadm.NewClient(client)
	_, err = admin.CreateTopic(ctx, int32(partitions), -1, configs, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	return waitLeaders(ctx, admin, topic, partitions)
}

// waitLeaders polls Metadata until every partition of topic has a leader,
// so a measurement does not include a client's retries while a broker is
// still electing them.
func waitLeaders(ctx context.Context, admin *kadm.Client, topic string, partitions int) error {
	for {
		topics, err := admin.ListTopics(ctx, topic)
		if err == nil && topics.Has(topic) && topics[topic].Err == nil && len(topics[topic].Partitions) == partitions {
			ready := true
			for _, p := range topics[topic].Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the leaders of %s: %w", topic, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// groupedInt writes 100000 as 100,000.
func groupedInt(n int64) string {
	digits := fmt.Sprint(n)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
