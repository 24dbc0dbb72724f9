package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
	// ProgressInterval and Progress: a progress line per interval (nil
	// writer or zero interval: none).
	ProgressInterval time.Duration
	Progress         io.Writer
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
	start := time.Now()
	received := newWindowCounter(start)
	go func() { results <- consumeE2E(ctx, consumer, cfg.NumRecords, idle, received) }()
	stop, progressDone := make(chan struct{}), make(chan struct{})
	go reportEvery(cfg.Progress, cfg.ProgressInterval, stop, progressDone, func(w io.Writer, now time.Time) {
		records, _, seconds := received.window(now)
		if seconds > 0 {
			fmt.Fprintf(w, "%d of %d records received, %.1f records/sec.\n", received.records.Load(), cfg.NumRecords, records/seconds)
		}
	})
	produceErr := produceStamped(ctx, clients[0], cfg)
	result := <-results
	elapsed := time.Since(start)
	close(stop)
	<-progressDone
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
	starts, err := endOffsets(listCtx, kadm.NewClient(admin), cfg.Topic, cfg.Partitions > 0)
	if err != nil {
		return nil, err
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(cfg.Bootstrap...), kgo.ClientID("samsa-perf"),
		kgo.ConsumePartitions(starts), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return consumer, nil
}

// endOffsets lists the end offset of every partition of topic. A topic
// created a moment ago (created) may not be in every broker's metadata or
// have leaders everywhere yet (any Kafka broker answers with a retriable
// error then), so it retries those until ctx ends.
func endOffsets(ctx context.Context, admin *kadm.Client, topic string, created bool) (map[string]map[int32]kgo.Offset, error) {
	for {
		ends, err := admin.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		starts := map[string]map[int32]kgo.Offset{topic: {}}
		ends.Each(func(o kadm.ListedOffset) {
			starts[topic][o.Partition] = kgo.NewOffset().At(o.Offset)
		})
		if err == nil && len(starts[topic]) == 0 {
			err = fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
		}
		if err == nil {
			return starts, nil
		}
		if !kerr.IsRetriable(err) && !(created && topicMissing(err)) {
			return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// topicMissing reports whether err says the topic is not (yet) known.
func topicMissing(err error) bool {
	return errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, ErrTopicNotFound)
}

type e2eResult struct {
	histogram *Histogram
	err       error
}

func consumeE2E(ctx context.Context, consumer *kgo.Client, want int64, idle time.Duration, received *windowCounter) e2eResult {
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
		received.records.Add(int64(fetches.NumRecords()))
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
