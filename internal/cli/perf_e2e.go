package cli

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// e2eStampSize is the length of the send timestamp at the start of values.
const e2eStampSize = 8

// PerfE2EConfig configures RunPerfE2E.
type PerfE2EConfig struct {
	Bootstrap   []string
	Topic       string
	Rate        float64 // records/s, must be positive
	NumRecords  int64
	RecordSize  int // at least 8: the send timestamp
	Acks        string
	Partitions  int // > 0: create the topic if missing
	IdleTimeout time.Duration
}

// E2ESummary is the outcome of RunPerfE2E: latency from send to receipt.
type E2ESummary struct {
	Records        int64   `json:"records"`
	ElapsedSeconds float64 `json:"elapsed_s"`
	RecordsPerSec  float64 `json:"records_per_s"`
	LatencySummary
}

// String renders the summary as one human-readable line.
func (s E2ESummary) String() string {
	return fmt.Sprintf("%d records, %.1f records/sec, end-to-end latency %.2f ms avg, %.2f ms 50th, %.2f ms 99th, %.2f ms 99.9th, %.2f ms max.",
		s.Records, s.RecordsPerSec, s.AvgMs, s.P50Ms, s.P99Ms, s.P999Ms, s.MaxMs)
}

// RunPerfE2E produces at a fixed rate with the send time embedded in each
// value while a consumer in the same process measures delivery latency.
func RunPerfE2E(ctx context.Context, cfg PerfE2EConfig) (E2ESummary, error) {
	if cfg.Topic == "" || cfg.NumRecords <= 0 || cfg.Rate <= 0 || cfg.RecordSize < e2eStampSize || cfg.RecordSize > maxPerfRecordSize {
		return E2ESummary{}, fmt.Errorf("%w: need --topic, positive --num-records and --rate, and --record-size in [%d, %d]", ErrUsage, e2eStampSize, maxPerfRecordSize)
	}
	// Linger 0: a latency measurement must not include time the producer
	// waits on purpose to fill batches.
	producer := producerOptions{acks: cfg.Acks, compression: "none", lingerMs: 0}
	opts, err := producer.kgoOptions()
	if err != nil {
		return E2ESummary{}, err
	}
	if err := ensureTopic(ctx, cfg.Bootstrap, cfg.Topic, cfg.Partitions); err != nil {
		return E2ESummary{}, err
	}
	consumer, err := openE2EConsumer(ctx, cfg)
	if err != nil {
		return E2ESummary{}, err
	}
	defer consumer.Close()
	clients, err := openClients(cfg.Bootstrap, 1, opts)
	if err != nil {
		return E2ESummary{}, err
	}
	defer closeClients(clients)
	idle := cfg.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	results := make(chan e2eResult, 1)
	go func() { results <- consumeE2E(ctx, consumer, cfg.NumRecords, idle) }()
	start := time.Now()
	produceErr := produceStamped(ctx, clients[0], cfg)
	result := <-results
	elapsed := time.Since(start)
	summary := E2ESummary{Records: int64(result.histogram.Count()), ElapsedSeconds: elapsed.Seconds(),
		RecordsPerSec: rate(float64(result.histogram.Count()), elapsed), LatencySummary: summarizeLatency(result.histogram)}
	if produceErr != nil {
		return summary, produceErr
	}
	return summary, result.err
}

// openE2EConsumer starts a consumer at the current end of every partition,
// so it sees exactly the records produced afterwards.
func openE2EConsumer(ctx context.Context, cfg PerfE2EConfig) (*kgo.Client, error) {
	admin, err := kgo.NewClient(kgo.SeedBrokers(cfg.Bootstrap...))
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	defer admin.Close()
	listCtx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	ends, err := kadm.NewClient(admin).ListEndOffsets(listCtx, cfg.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", cfg.Topic, err)
	}
	starts := map[string]map[int32]kgo.Offset{cfg.Topic: {}}
	ends.Each(func(o kadm.ListedOffset) {
		starts[cfg.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	if len(starts[cfg.Topic]) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, cfg.Topic)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(cfg.Bootstrap...), kgo.ClientID("samsa-perf"),
		kgo.ConsumePartitions(starts), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return consumer, nil
}

type e2eResult struct {
	histogram *Histogram
	err       error
}

func consumeE2E(ctx context.Context, consumer *kgo.Client, want int64, idle time.Duration) e2eResult {
	result := e2eResult{histogram: NewHistogram()}
	for int64(result.histogram.Count()) < want {
		pollCtx, cancel := context.WithTimeout(ctx, idle)
		fetches := consumer.PollFetches(pollCtx)
		cancel()
		if err := fetchError(fetches); err != nil {
			result.err = err
			return result
		}
		if fetches.NumRecords() == 0 && pollCtx.Err() != nil {
			result.err = fmt.Errorf("%w: received %d of %d records", ErrPerfTimeout, result.histogram.Count(), want)
			return result
		}
		now := time.Now().UnixNano()
		fetches.EachRecord(func(r *kgo.Record) {
			if len(r.Value) >= e2eStampSize {
				sent := int64(binary.BigEndian.Uint64(r.Value))
				result.histogram.Record(time.Duration(now - sent))
			}
		})
	}
	return result
}

// produceStamped sends cfg.NumRecords paced records whose values start with
// the send time in unix nanoseconds.
func produceStamped(ctx context.Context, client *kgo.Client, cfg PerfE2EConfig) error {
	pace := newPacer(cfg.Rate)
	stats := newPerfStats(time.Now())
	for n := range cfg.NumRecords {
		if !pace.wait(n, ctx.Done()) {
			break
		}
		value := make([]byte, cfg.RecordSize)
		binary.BigEndian.PutUint64(value, uint64(time.Now().UnixNano()))
		client.Produce(ctx, &kgo.Record{Topic: cfg.Topic, Value: value}, func(_ *kgo.Record, err error) {
			stats.record(0, 0, err)
		})
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = client.Flush(flushCtx)
	_, err := produceSummary(stats, 0, ctx.Err())
	return err
}
