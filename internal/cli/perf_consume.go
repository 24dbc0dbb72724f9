package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrPerfTimeout is returned when a perf consumer sees no record for its
// idle timeout before reaching its record count.
var ErrPerfTimeout = errors.New("timed out waiting for records")

// PerfConsumeConfig configures RunPerfConsume.
type PerfConsumeConfig struct {
	Bootstrap     []string
	Topic         string
	NumRecords    int64
	FromBeginning bool          // false: start at the end of every partition
	FetchMaxBytes int32         // 0: client default
	IdleTimeout   time.Duration // 0: 60s
	// ProgressInterval and Progress: a progress line per interval (nil
	// writer or zero interval: none).
	ProgressInterval time.Duration
	Progress         io.Writer
}

// ConsumeSummary is the outcome of RunPerfConsume.
type ConsumeSummary struct {
	Records        int64   `json:"records"`
	Bytes          int64   `json:"bytes"`
	ElapsedSeconds float64 `json:"elapsed_s"`
	RecordsPerSec  float64 `json:"records_per_s"`
	MBPerSec       float64 `json:"mb_per_s"`
}

// String renders the summary as one human-readable line.
func (s ConsumeSummary) String() string {
	return fmt.Sprintf("%d records consumed, %.2f MB, %.3f s elapsed, %.1f records/sec (%.2f MB/sec).",
		s.Records, float64(s.Bytes)/(1<<20), s.ElapsedSeconds, s.RecordsPerSec, s.MBPerSec)
}

// RunPerfConsume reads NumRecords records of Topic and measures throughput
// from the first poll to the last record.
func RunPerfConsume(ctx context.Context, cfg PerfConsumeConfig) (ConsumeSummary, error) {
	if cfg.Topic == "" || cfg.NumRecords <= 0 || cfg.FetchMaxBytes < 0 {
		return ConsumeSummary{}, fmt.Errorf("%w: need --topic, a positive --num-records and a non-negative --fetch-max-bytes", ErrUsage)
	}
	idle := cfg.IdleTimeout
	if idle <= 0 {
		idle = time.Minute
	}
	start := kgo.NewOffset().AtEnd()
	if cfg.FromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Bootstrap...), kgo.ClientID("samsa-perf"), kgo.ConsumeTopics(cfg.Topic), kgo.ConsumeResetOffset(start)}
	if cfg.FetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(cfg.FetchMaxBytes))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return ConsumeSummary{}, fmt.Errorf("creating client: %w", err)
	}
	defer client.Close()
	began := time.Now()
	counter := newWindowCounter(began)
	stop, progressDone := make(chan struct{}), make(chan struct{})
	go reportEvery(cfg.Progress, cfg.ProgressInterval, stop, progressDone, func(w io.Writer, now time.Time) {
		records, bytes, seconds := counter.window(now)
		if seconds > 0 {
			fmt.Fprintf(w, "%.0f records consumed, %.1f records/sec (%.2f MB/sec).\n", records, records/seconds, bytes/seconds/(1<<20))
		}
	})
	defer func() {
		close(stop)
		<-progressDone
	}()
	var summary ConsumeSummary
	for summary.Records < cfg.NumRecords {
		pollCtx, cancel := context.WithTimeout(ctx, idle)
		fetches := client.PollRecords(pollCtx, int(min(cfg.NumRecords-summary.Records, 1<<20)))
		cancel()
		if err := fetchError(fetches); err != nil {
			return summary, err
		}
		if fetches.NumRecords() == 0 && pollCtx.Err() != nil {
			if ctx.Err() != nil {
				return summary, fmt.Errorf("consume interrupted: %w", ctx.Err())
			}
			return summary, fmt.Errorf("%w: %d of %d records after %s idle", ErrPerfTimeout, summary.Records, cfg.NumRecords, idle)
		}
		before, beforeBytes := summary.Records, summary.Bytes
		fetches.EachRecord(func(r *kgo.Record) {
			summary.Records++
			summary.Bytes += int64(len(r.Key) + len(r.Value))
		})
		counter.records.Add(summary.Records - before)
		counter.bytes.Add(summary.Bytes - beforeBytes)
		elapsed := time.Since(began)
		summary.ElapsedSeconds = elapsed.Seconds()
		summary.RecordsPerSec = rate(float64(summary.Records), elapsed)
		summary.MBPerSec = rate(float64(summary.Bytes), elapsed) / (1 << 20)
	}
	return summary, nil
}
