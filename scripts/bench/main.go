// Command bench runs the same client workloads (the samsa perf logic from
// internal/cli) against a Samsa broker and against kfake, each in its own
// process, and prints a markdown comparison with broker CPU and peak RSS.
// With --groups it runs the consumer-group workloads instead (rebalance
// times and OffsetCommit throughput, median and min-max of 3 runs). With
// --cluster it runs Samsa alone: a local three-node cluster (rf=3) against
// one node (rf=1), plus leader failover times (see clustertable.go). With
// --suite (or --quick) it runs the side-by-side suite: Samsa, kfake in memory
// and on disk, and NATS JetStream, against the machine's own limits (see
// suite.go); ./scripts/benchmark builds the broker and runs it.
//
//	go run ./scripts/bench --suite --samsa-bin ./samsa --doc docs/benchmarks.md
//	go run ./scripts/bench --quick --samsa-bin ./samsa --out /tmp/suite.md
//	go run ./scripts/bench --samsa-bin ./samsa --scale 0.1 --out bench.md
//	go run ./scripts/bench --groups --samsa-bin ./samsa --out groups.md
//	go run ./scripts/bench --cluster --samsa-bin ./samsa --out cluster.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"samsa/internal/cli"
)

type options struct {
	samsaBin string
	kfakeBin string
	scale    float64
	out      string
	ready    time.Duration
	groups   bool
	// heartbeat is the group members' heartbeat interval (--groups).
	heartbeat time.Duration
	cluster   bool
	// repeats is how many times --cluster repeats throughput and failover.
	repeats int
	// workloadLimit bounds each --cluster or suite workload on one deployment.
	workloadLimit time.Duration
	suite         bool
	quick         bool   // the suite with small counts (CI, a first look)
	doc           string // markdown document whose suite section to replace
	peersDir      string // the scripts/bench/peers module
	natsServerBin string // prebuilt nats-server (default: built from peersDir)
	natsBenchBin  string // prebuilt natsbench (default: built from peersDir)
	only          string // run only the suite workloads whose name matches
	keepCache     bool   // never drop the page cache (cold rows read warm)
}

func main() {
	var o options
	flag.StringVar(&o.samsaBin, "samsa-bin", "", "samsa binary to benchmark (empty or missing: samsa reported unavailable)")
	flag.StringVar(&o.kfakeBin, "kfake-bin", "", "prebuilt kfakeserver binary (default: go build ./scripts/bench/kfakeserver)")
	flag.Float64Var(&o.scale, "scale", 1, "multiply every record count by this factor")
	flag.StringVar(&o.out, "out", "", "also write the markdown table to this file")
	flag.DurationVar(&o.ready, "ready-timeout", 30*time.Second, "how long to wait for a broker to answer ApiVersions")
	flag.BoolVar(&o.groups, "groups", false, "run the consumer-group workloads instead of produce/consume")
	flag.DurationVar(&o.heartbeat, "group-heartbeat", groupHeartbeat, "heartbeat interval of the group members (--groups)")
	flag.BoolVar(&o.cluster, "cluster", false, "run Samsa as a three-node cluster against one node, with failover times")
	flag.IntVar(&o.repeats, "repeats", 3, "runs per throughput and failover figure (--cluster)")
	flag.DurationVar(&o.workloadLimit, "workload-timeout", 20*time.Minute, "bound on each workload on one deployment (--cluster, --suite)")
	flag.BoolVar(&o.suite, "suite", false, "run the side-by-side suite: samsa, kfake (memory, disk) and NATS JetStream, with machine limits")
	flag.BoolVar(&o.quick, "quick", false, "the suite with small counts (about 1-2 minutes)")
	flag.StringVar(&o.doc, "doc", "", "replace the suite section between the markers of this markdown file and write its chart next to it (--suite)")
	flag.StringVar(&o.peersDir, "peers-dir", defaultPeersDir(), "the peers module that builds nats-server and natsbench (--suite)")
	flag.StringVar(&o.natsServerBin, "nats-server-bin", "", "prebuilt nats-server (default: built from --peers-dir)")
	flag.StringVar(&o.natsBenchBin, "natsbench-bin", "", "prebuilt natsbench (default: built from --peers-dir)")
	flag.StringVar(&o.only, "only", "", "run only the suite workloads whose name matches this regular expression (partial runs)")
	flag.BoolVar(&o.keepCache, "keep-page-cache", false, "do not drop the page cache before the cold consume rows (--suite)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.scale <= 0 || o.scale > 1000 {
		return fmt.Errorf("--scale must be in (0, 1000]")
	}
	if o.workloadLimit <= 0 {
		o.workloadLimit = 20 * time.Minute
	}
	if o.suite || o.quick {
		return runSuite(o)
	}
	if o.cluster {
		table, err := clusterTable(o)
		if err != nil {
			return err
		}
		return emit(table, o.out)
	}
	if o.kfakeBin == "" {
		built, cleanup, err := buildKfake()
		if err != nil {
			return err
		}
		defer cleanup()
		o.kfakeBin = built
	}
	list, overrides := workloads(o.scale), []string(nil)
	if o.groups {
		if o.heartbeat <= 0 {
			o.heartbeat = groupHeartbeat
		}
		// kfake has no initial rebalance delay: measure the protocol, not
		// a configured wait.
		list, overrides = groupWorkloads(groupScaleFor(o.scale, o.heartbeat)), []string{"group.initial.rebalance.delay.ms=0"}
	}
	targets := []target{
		{name: "samsa", start: func() (*brokerProcess, error) {
			if o.samsaBin == "" {
				return nil, fmt.Errorf("no --samsa-bin given")
			}
			return startSamsa(o.samsaBin, o.ready, overrides...)
		}},
		{name: "kfake", start: func() (*brokerProcess, error) { return startKfake(o.kfakeBin) }},
	}
	results := map[string]map[string]figure{}
	var rows, notes []string
	for _, w := range list {
		for _, t := range targets {
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, t.name)
			figures, note := runWorkload(t, w)
			if note != "" {
				fmt.Fprintf(os.Stderr, "bench: %s\n", note)
				notes = append(notes, note)
			}
			for _, f := range figures {
				if results[f.row] == nil {
					results[f.row] = map[string]figure{}
					rows = append(rows, f.row)
				}
				results[f.row][t.name] = f
			}
		}
	}
	table := renderTable(rows, results)
	if o.groups {
		table = renderGroupTable(rows, results)
		notes = append(notes, groupNotes(o.heartbeat)...)
	}
	for _, note := range notes {
		table += "\n- " + note
	}
	if len(notes) > 0 {
		table += "\n"
	}
	return emit(table, o.out)
}

// emit prints the table and, with --out, writes it to that file.
func emit(table, out string) error {
	fmt.Print(table)
	if out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", out, err)
		}
	}
	return nil
}

// buildKfake compiles the kfakeserver helper into a temporary directory.
func buildKfake() (string, func(), error) {
	dir, err := os.MkdirTemp("", "bench-bin-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "kfakeserver")
	cmd := exec.Command("go", "build", "-o", bin, "samsa/scripts/bench/kfakeserver")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building kfakeserver: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// target is a broker implementation under test.
type target struct {
	name  string
	start func() (*brokerProcess, error)
}

// figure is one measured number with the broker's resource use for it.
type figure struct {
	row     string
	value   float64
	cpu     float64
	rssMiB  float64
	spread  valueRange
	failure string
}

// valueRange is the min-max of a figure measured several times.
type valueRange struct {
	low, high float64
	present   bool
}

// workload runs against a freshly started broker and yields figures.
type workload struct {
	name string
	run  func(ctx context.Context, addr string, measure measureFunc)
}

// measureFunc records the rows one step of a workload produced; they share
// the broker CPU spent during that step. Repeated figures pass each row's
// min-max range too.
type measureFunc func(rows []string, values []float64, err error, ranges ...valueRange)

func workloads(scale float64) []workload {
	var list []workload
	for _, size := range []int{100, 1024} {
		// Long enough (several seconds at full speed) that the broker's
		// CPU seconds and the medians mean something.
		base := 5_000_000.0
		if size == 1024 {
			base = 1_000_000
		}
		count := max(int64(base*scale), 1000)
		for _, partitions := range []int{1, 6} {
			for _, acks := range []string{"1", "all"} {
				list = append(list, throughputWorkload(size, partitions, acks, count))
			}
		}
	}
	return append(list, e2eWorkload(max(int64(100_000*scale), 2000)))
}

func throughputWorkload(size, partitions int, acks string, count int64) workload {
	label := fmt.Sprintf("%s p%d acks=%s", sizeLabel(size), partitions, acks)
	topic := fmt.Sprintf("bench-%d-p%d-acks%s", size, partitions, acks)
	return workload{name: label, run: func(ctx context.Context, addr string, measure measureFunc) {
		produced, err := cli.RunPerfProduce(ctx, cli.PerfProduceConfig{
			Bootstrap: []string{addr}, Topic: topic, NumRecords: count, RecordSize: size,
			Acks: acks, Partitions: partitions, Producers: 1, Compression: "none", LingerMs: -1, // the client default, as users run it
		})
		measure([]string{"produce " + label + " (records/s)"}, []float64{produced.RecordsPerSec}, err)
		if err != nil {
			measure([]string{"consume " + label + " (records/s)"}, []float64{0}, fmt.Errorf("produce failed"))
			return
		}
		consumed, err := cli.RunPerfConsume(ctx, cli.PerfConsumeConfig{
			Bootstrap: []string{addr}, Topic: topic, NumRecords: count, FromBeginning: true, IdleTimeout: 30 * time.Second,
		})
		measure([]string{"consume " + label + " (records/s)"}, []float64{consumed.RecordsPerSec}, err)
	}}
}

func e2eWorkload(count int64) workload {
	const rate = 10_000
	label := fmt.Sprintf("e2e 100B @%d/s acks=all", rate)
	return workload{name: label, run: func(ctx context.Context, addr string, measure measureFunc) {
		summary, err := cli.RunPerfE2E(ctx, cli.PerfE2EConfig{
			Bootstrap: []string{addr}, Topic: "bench-e2e", Rate: rate, NumRecords: count, RecordSize: 100,
			Acks: "all", Partitions: 1, IdleTimeout: 30 * time.Second,
		})
		measure([]string{label + " p50 (ms)", label + " p99 (ms)", label + " p99.9 (ms)"},
			[]float64{summary.P50Ms, summary.P99Ms, summary.P999Ms}, err)
	}}
}

func sizeLabel(size int) string {
	if size%1024 == 0 {
		return fmt.Sprintf("%d KiB", size/1024)
	}
	return fmt.Sprintf("%d B", size)
}

// runWorkload starts a fresh broker, runs w against it and stops it. Each
// figure's CPU is the broker's CPU seconds spent during that step.
func runWorkload(t target, w workload) ([]figure, string) {
	var figures []figure
	broker, err := t.start()
	if err != nil {
		w.run(canceledContext(), "127.0.0.1:1", func(rows []string, _ []float64, _ error, _ ...valueRange) {
			for _, row := range rows {
				figures = append(figures, figure{row: row, failure: "unavailable"})
			}
		})
		return figures, fmt.Sprintf("%s unavailable for %s: %v", t.name, w.name, err)
	}
	defer broker.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	before, _ := broker.cpuSeconds()
	var notes []string
	w.run(ctx, broker.addr, func(rows []string, values []float64, err error, ranges ...valueRange) {
		after, _ := broker.cpuSeconds()
		rss, _ := broker.peakRSSMiB()
		for i, row := range rows {
			f := figure{row: row, value: values[i], cpu: after - before, rssMiB: rss}
			if i < len(ranges) {
				f.spread = ranges[i]
			}
			if err != nil {
				f.failure = "failed"
			}
			figures = append(figures, f)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s failed %s: %v", t.name, rows[0], err))
		}
		before = after
	})
	return figures, strings.Join(notes, "; ")
}

// canceledContext lets a workload enumerate its rows without doing work.
func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func renderTable(rows []string, results map[string]map[string]figure) string {
	var b strings.Builder
	b.WriteString("| workload | samsa | kfake | ratio | samsa CPU s | kfake CPU s | samsa peak RSS MiB | kfake peak RSS MiB |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		s, k := results[row]["samsa"], results[row]["kfake"]
		ratio := "n/a"
		if s.failure == "" && k.failure == "" && k.value > 0 {
			ratio = fmt.Sprintf("%.2f", s.value/k.value)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", row,
			cell(s, s.value, "%.1f"), cell(k, k.value, "%.1f"), ratio,
			cell(s, s.cpu, "%.2f"), cell(k, k.cpu, "%.2f"), cell(s, s.rssMiB, "%.0f"), cell(k, k.rssMiB, "%.0f"))
	}
	return b.String()
}

func cell(f figure, value float64, format string) string {
	if f.failure != "" {
		return f.failure
	}
	return fmt.Sprintf(format, value)
}
