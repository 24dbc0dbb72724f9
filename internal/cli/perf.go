package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

func runPerf(e *env, args []string) error {
	return dispatch(e, "perf", args, map[string]func(*env, []string) error{
		"produce": runPerfProduce,
		"consume": runPerfConsume,
		"e2e":     runPerfE2E,
	})
}

// writeSummary prints summary as one JSON line or as its String form.
func writeSummary(w io.Writer, asJSON bool, summary fmt.Stringer) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, summary.String())
		return err
	}
	line, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encoding summary: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", line)
	return err
}

// progressWriter is where progress lines go: stdout, or stderr when stdout
// carries the JSON summary.
func progressWriter(e *env, asJSON bool) io.Writer {
	if asJSON {
		return e.stderr
	}
	return e.stdout
}

func runPerfProduce(e *env, args []string) error {
	fs := newFlagSet(e, "perf produce", "perf produce --topic T --num-records N --record-size B [flags]")
	var cfg PerfProduceConfig
	fs.StringVar(&cfg.Topic, "topic", "", "topic to write (required)")
	fs.Int64Var(&cfg.NumRecords, "num-records", 0, "records to send (required)")
	fs.IntVar(&cfg.RecordSize, "record-size", 100, "value size in bytes")
	fs.Float64Var(&cfg.Throughput, "throughput", -1, "cap in records/s (-1: none)")
	fs.IntVar(&cfg.Partitions, "partitions", 0, "create the topic with this many partitions if missing")
	fs.IntVar(&cfg.Producers, "producers", 1, "number of independent producer clients")
	fs.BoolVar(&cfg.Keys, "keys", false, "give each record its sequence number as key")
	fs.IntVar(&cfg.LingerMs, "linger-ms", -1, "producer linger in ms (-1: the client's default)")
	fs.IntVar(&cfg.BatchBytes, "batch-bytes", 0, "maximum batch size in bytes (0: client default)")
	interval := fs.Duration("progress-interval", 5*time.Second, "progress line interval (0: none)")
	asJSON := fs.Bool("json", false, "print the final summary as one JSON line (progress goes to stderr)")
	producer := producerOptions{}
	producer.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg.Bootstrap, cfg.Acks, cfg.Compression = fs.seeds(), producer.acks, producer.compression
	cfg.ProgressInterval, cfg.Progress = *interval, progressWriter(e, *asJSON)
	summary, err := RunPerfProduce(e.ctx, cfg)
	if err != nil {
		return err
	}
	return writeSummary(e.stdout, *asJSON, summary)
}

func runPerfConsume(e *env, args []string) error {
	fs := newFlagSet(e, "perf consume", "perf consume --topic T --num-records N [flags]")
	var cfg PerfConsumeConfig
	fs.StringVar(&cfg.Topic, "topic", "", "topic to read (required)")
	fs.Int64Var(&cfg.NumRecords, "num-records", 0, "records to read (required)")
	fs.BoolVar(&cfg.FromBeginning, "from-beginning", true, "start at the earliest offset (false: at the end)")
	fetchMax := fs.Int("fetch-max-bytes", 0, "fetch.max.bytes (0: client default)")
	fs.DurationVar(&cfg.IdleTimeout, "timeout", time.Minute, "fail after this long without records")
	fs.DurationVar(&cfg.ProgressInterval, "progress-interval", 5*time.Second, "progress line interval (0: none)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON line (progress goes to stderr)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *fetchMax < 0 || *fetchMax > 1<<30 {
		return fmt.Errorf("%w: --fetch-max-bytes out of range", ErrUsage)
	}
	cfg.Bootstrap, cfg.FetchMaxBytes = fs.seeds(), int32(*fetchMax)
	cfg.Progress = progressWriter(e, *asJSON)
	summary, err := RunPerfConsume(e.ctx, cfg)
	if err != nil {
		return err
	}
	return writeSummary(e.stdout, *asJSON, summary)
}

func runPerfE2E(e *env, args []string) error {
	fs := newFlagSet(e, "perf e2e", "perf e2e --topic T --rate R --num-records N [flags]")
	var cfg PerfE2EConfig
	fs.StringVar(&cfg.Topic, "topic", "", "topic to use (required)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "records/s to produce")
	fs.Int64Var(&cfg.NumRecords, "num-records", 0, "records to send (required)")
	fs.IntVar(&cfg.RecordSize, "record-size", 100, "value size in bytes (at least 8)")
	fs.StringVar(&cfg.Acks, "acks", "-1", "required acks: -1 (all), 0 or 1")
	fs.IntVar(&cfg.Partitions, "partitions", 1, "create the topic with this many partitions if missing (0: never)")
	fs.DurationVar(&cfg.IdleTimeout, "timeout", 30*time.Second, "fail after this long without records")
	fs.DurationVar(&cfg.ProgressInterval, "progress-interval", 5*time.Second, "progress line interval (0: none)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON line (progress goes to stderr)")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg.Bootstrap, cfg.Progress = fs.seeds(), progressWriter(e, *asJSON)
	summary, err := RunPerfE2E(e.ctx, cfg)
	if err != nil {
		return err
	}
	return writeSummary(e.stdout, *asJSON, summary)
}
