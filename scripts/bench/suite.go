package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// The suite (--suite) runs Samsa and its peers side by side: franz-go's
// kfake in memory and with its disk persistence, and NATS JetStream with
// file storage. Kafka-protocol brokers are driven by the samsa perf client
// code (franz-go) with the same settings; NATS by natsbench from the peers
// module. Every workload gets a fresh broker per target; each figure is the
// median (min-max) of --repeats runs with the broker's CPU seconds and peak
// RSS from /proc.

// Target names: the columns of the suite's tables.
const (
	targetSamsa     = "samsa"
	targetKfake     = "kfake mem"
	targetKfakeDisk = "kfake disk"
	targetNATS      = "nats js file"
)

var suiteTargetNames = []string{targetSamsa, targetKfake, targetKfakeDisk, targetNATS}

// deployment is a running broker (or cluster) under test.
type deployment interface {
	addrs() []string
	cpuSeconds() float64
	peakRSSMiB() float64
	// rssMiB is the current resident set; 0 if not known.
	rssMiB() float64
	stop()
}

type processDeployment struct{ process *brokerProcess }

func (d processDeployment) addrs() []string { return []string{d.process.addr} }
func (d processDeployment) cpuSeconds() float64 {
	seconds, _ := d.process.cpuSeconds()
	return seconds
}
func (d processDeployment) peakRSSMiB() float64 {
	rss, _ := d.process.peakRSSMiB()
	return rss
}
func (d processDeployment) rssMiB() float64 {
	rss, _ := d.process.rssMiB()
	return rss
}
func (d processDeployment) stop() { d.process.stop() }

type clusterDeployment struct{ cluster *localCluster }

func (d clusterDeployment) addrs() []string     { return d.cluster.addrs() }
func (d clusterDeployment) cpuSeconds() float64 { return d.cluster.cpuSeconds() }
func (d clusterDeployment) peakRSSMiB() float64 { return d.cluster.peakRSSMiB() }
func (d clusterDeployment) rssMiB() float64     { return 0 }
func (d clusterDeployment) stop()               { d.cluster.stop() }

// suiteTarget starts a fresh deployment of one broker for a workload.
type suiteTarget struct {
	name  string
	nats  bool
	start func(w suiteWorkload) (deployment, error)
}

// suiteRow is one line of the tables.
type suiteRow struct {
	name        string
	lowerBetter bool      // latencies and memory
	limit       limitKind // the machine limit the figure is read against
	recordSize  int       // bytes per record, for MB/s of records/s rows
}

type limitKind int

const (
	noLimit limitKind = iota
	produceLimit
	consumeLimit
)

// suiteWorkload runs on a fresh deployment of each target that has a run
// function for it (kafka for Samsa and kfake, nats for NATS).
type suiteWorkload struct {
	name           string
	rows           []suiteRow
	samsaOnly      bool // e.g. the three-node cluster rows
	samsaNodes     int  // 0 or 1: one process; 3: the local cluster
	samsaOverrides []string
	kfakeConfigs   []string
	kafka          func(ctx context.Context, env *suiteEnv) error
	nats           func(ctx context.Context, env *suiteEnv) error
}

// suiteCell is one target's samples for one row.
type suiteCell struct {
	values []float64
	cpu    []float64 // broker CPU seconds of each run's step
	gb     []float64 // GB moved by each run's step (0: not a data row)
	rss    float64   // peak RSS over the workload
	state  string    // "", "failed", "unavailable" or "n/a"
}

// suiteEnv is what a workload's run function works with on one target.
type suiteEnv struct {
	target     string
	deployment deployment
	natsBench  string
	repeats    int
	keepCache  bool
	cells      map[string]*suiteCell
	notes      []string
}

func (e *suiteEnv) cell(row string) *suiteCell {
	if e.cells[row] == nil {
		e.cells[row] = &suiteCell{}
	}
	return e.cells[row]
}

// step runs fn, recording its values for rows with the broker CPU seconds
// spent meanwhile and the GB the step moved.
func (e *suiteEnv) step(rows []string, gb float64, fn func() ([]float64, error)) error {
	before := e.deployment.cpuSeconds()
	values, err := fn()
	if err != nil {
		return err
	}
	cpu := e.deployment.cpuSeconds() - before
	for i, row := range rows {
		cell := e.cell(row)
		cell.values = append(cell.values, values[i])
		cell.cpu = append(cell.cpu, cpu)
		cell.gb = append(cell.gb, gb)
	}
	return nil
}

func (e *suiteEnv) note(format string, args ...any) {
	e.notes = append(e.notes, e.target+": "+fmt.Sprintf(format, args...))
}

// suiteResults is everything one suite run measured.
type suiteResults struct {
	started  time.Time
	elapsed  time.Duration
	options  options
	limits   machineLimits
	rows     []suiteRow
	cells    map[string]map[string]*suiteCell // row, then target name
	notes    []string
	limitErr error
}

// runSuite builds the helpers, measures the machine, runs every workload on
// every target and writes the tables (and, with --doc, the chart).
func runSuite(o options) error {
	scale := suiteScaleFor(o)
	only, err := regexp.Compile(o.only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	targets, cleanup, notes := suiteTargets(&o)
	defer cleanup()
	results := &suiteResults{started: time.Now(), options: o, cells: map[string]map[string]*suiteCell{}, notes: notes}
	fmt.Fprintln(os.Stderr, "bench: measuring the machine's limits")
	results.limits, results.limitErr = measureLimits(os.TempDir(), scale.limits)
	for _, w := range suiteWorkloads(scale) {
		if !only.MatchString(w.name) {
			continue
		}
		results.rows = append(results.rows, w.rows...)
		for _, t := range targets {
			env := &suiteEnv{natsBench: o.natsBenchBin, repeats: scale.repeats, keepCache: o.keepCache}
			cells, notes := runSuiteWorkload(o, t, w, env)
			results.notes = append(results.notes, notes...)
			for row, cell := range cells {
				if results.cells[row] == nil {
					results.cells[row] = map[string]*suiteCell{}
				}
				results.cells[row][t.name] = cell
			}
		}
	}
	results.elapsed = time.Since(results.started)
	return emitSuite(results)
}

// runSuiteWorkload starts t's broker for w, runs w and stops the broker.
func runSuiteWorkload(o options, t suiteTarget, w suiteWorkload, env *suiteEnv) (map[string]*suiteCell, []string) {
	run := w.kafka
	if t.nats {
		run = w.nats
	}
	cells := map[string]*suiteCell{}
	if run == nil || (w.samsaOnly && t.name != targetSamsa) {
		for _, row := range w.rows {
			cells[row.name] = &suiteCell{state: "n/a"}
		}
		return cells, nil
	}
	started := time.Now()
	defer func() {
		fmt.Fprintf(os.Stderr, "bench: %s on %s: %s\n", w.name, t.name, time.Since(started).Round(100*time.Millisecond))
	}()
	d, err := t.start(w)
	if err != nil {
		for _, row := range w.rows {
			cells[row.name] = &suiteCell{state: "unavailable"}
		}
		return cells, []string{fmt.Sprintf("%s unavailable for %s: %v", t.name, w.name, err)}
	}
	defer d.stop()
	ctx, cancel := context.WithTimeout(context.Background(), o.workloadLimit)
	defer cancel()
	env.target, env.deployment, env.cells = t.name, d, cells
	err = run(ctx, env)
	rss := d.peakRSSMiB()
	for _, row := range w.rows {
		cell := env.cell(row.name)
		cell.rss = rss
		if err != nil && len(cell.values) == 0 {
			cell.state = "failed"
		}
	}
	if err != nil {
		env.note("failed %s: %v", w.name, err)
		fmt.Fprintf(os.Stderr, "bench: %s failed %s: %v\n", t.name, w.name, err)
	}
	return cells, env.notes
}

// suiteTargets builds kfakeserver and the NATS peers as needed and returns
// the targets; a helper that cannot be built leaves its targets
// unavailable (with a note) rather than failing the run.
func suiteTargets(o *options) ([]suiteTarget, func(), []string) {
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	var notes []string
	if o.kfakeBin == "" {
		built, done, err := buildKfake()
		if err != nil {
			notes = append(notes, fmt.Sprintf("kfake unavailable: %v", err))
		} else {
			o.kfakeBin = built
			cleanups = append(cleanups, done)
		}
	}
	if o.natsServerBin == "" || o.natsBenchBin == "" {
		bins, done, err := buildPeers(o.peersDir)
		if err != nil {
			notes = append(notes, fmt.Sprintf("NATS unavailable: %v", err))
		} else {
			o.natsServerBin, o.natsBenchBin = bins.natsServer, bins.natsBench
			cleanups = append(cleanups, done)
		}
	}
	return []suiteTarget{
		{name: targetSamsa, start: func(w suiteWorkload) (deployment, error) { return startSuiteSamsa(*o, w) }},
		{name: targetKfake, start: func(w suiteWorkload) (deployment, error) { return startSuiteKfake(*o, w, false) }},
		{name: targetKfakeDisk, start: func(w suiteWorkload) (deployment, error) { return startSuiteKfake(*o, w, true) }},
		{name: targetNATS, nats: true, start: func(suiteWorkload) (deployment, error) {
			process, err := startNATS(o.natsServerBin, o.ready)
			if err != nil {
				return nil, err
			}
			return processDeployment{process}, nil
		}},
	}, cleanup, notes
}

func startSuiteSamsa(o options, w suiteWorkload) (deployment, error) {
	if o.samsaBin == "" {
		return nil, fmt.Errorf("no --samsa-bin given")
	}
	if w.samsaNodes > 1 {
		cluster, err := startLocalCluster(o.samsaBin, w.samsaNodes, o.ready, w.samsaOverrides...)
		if err != nil {
			return nil, err
		}
		return clusterDeployment{cluster}, nil
	}
	process, err := startSamsa(o.samsaBin, o.ready, w.samsaOverrides...)
	if err != nil {
		return nil, err
	}
	return processDeployment{process}, nil
}

func startSuiteKfake(o options, w suiteWorkload, disk bool) (deployment, error) {
	if o.kfakeBin == "" {
		return nil, fmt.Errorf("kfakeserver not built")
	}
	var args []string
	if disk {
		args = append(args, "--data-dir", "{dir}")
	}
	for _, config := range w.kfakeConfigs {
		args = append(args, "--config", config)
	}
	process, err := startKfake(o.kfakeBin, args...)
	if err != nil {
		return nil, err
	}
	return processDeployment{process}, nil
}

// defaultPeersDir is the peers module relative to the repository root.
func defaultPeersDir() string { return filepath.Join("scripts", "bench", "peers") }
