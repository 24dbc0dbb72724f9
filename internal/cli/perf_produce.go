package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxPerfRecordSize bounds --record-size so a typo cannot exhaust memory.
const maxPerfRecordSize = 64 << 20

// PerfProduceConfig configures RunPerfProduce.
type PerfProduceConfig struct {
	Bootstrap        []string
	Topic            string
	NumRecords       int64
	RecordSize       int
	Throughput       float64 // records/s across all producers; <= 0 means unlimited
	Acks             string  // "-1"/"all", "1" or "0"
	Compression      string
	LingerMs         int
	BatchBytes       int
	Partitions       int // > 0: create the topic with this many partitions if missing
	Producers        int // independent clients, at least 1
	Keys             bool
	ProgressInterval time.Duration
	Progress         io.Writer // nil: no progress lines
}

// ProduceSummary is the outcome of RunPerfProduce.
type ProduceSummary struct {
	Records        int64   `json:"records"`
	Failed         int64   `json:"failed"`
	Bytes          int64   `json:"bytes"`
	ElapsedSeconds float64 `json:"elapsed_s"`
	RecordsPerSec  float64 `json:"records_per_s"`
	MBPerSec       float64 `json:"mb_per_s"`
	LatencySummary
}

// String renders the summary like kafka-producer-perf-test.sh's last line.
func (s ProduceSummary) String() string {
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.2f ms 50th, %.2f ms 99th, %.2f ms 99.9th.",
		s.Records, s.RecordsPerSec, s.MBPerSec, s.AvgMs, s.MaxMs, s.P50Ms, s.P99Ms, s.P999Ms)
}

func (c *PerfProduceConfig) validate() error {
	switch {
	case c.Topic == "":
		return fmt.Errorf("%w: --topic is required", ErrUsage)
	case c.NumRecords <= 0:
		return fmt.Errorf("%w: --num-records must be positive", ErrUsage)
	case c.RecordSize < 0 || c.RecordSize > maxPerfRecordSize:
		return fmt.Errorf("%w: --record-size must be in [0, %d]", ErrUsage, maxPerfRecordSize)
	case c.Producers < 1 || c.Producers > 1024:
		return fmt.Errorf("%w: --producers must be in [1, 1024]", ErrUsage)
	case c.Partitions < 0:
		return fmt.Errorf("%w: --partitions must not be negative", ErrUsage)
	}
	return nil
}

// RunPerfProduce writes NumRecords records of RecordSize random bytes and
// measures throughput and per-record acknowledgement latency.
func RunPerfProduce(ctx context.Context, cfg PerfProduceConfig) (ProduceSummary, error) {
	if err := cfg.validate(); err != nil {
		return ProduceSummary{}, err
	}
	producer := producerOptions{acks: cfg.Acks, compression: cfg.Compression, lingerMs: cfg.LingerMs, batchBytes: cfg.BatchBytes}
	opts, err := producer.kgoOptions()
	if err != nil {
		return ProduceSummary{}, err
	}
	if err := ensureTopic(ctx, cfg.Bootstrap, cfg.Topic, cfg.Partitions); err != nil {
		return ProduceSummary{}, err
	}
	clients, err := openClients(cfg.Bootstrap, cfg.Producers, opts)
	if err != nil {
		return ProduceSummary{}, err
	}
	defer closeClients(clients)
	payload := make([]byte, cfg.RecordSize)
	for i := range payload {
		payload[i] = byte('A' + rand.IntN(26))
	}
	start := time.Now()
	stats := newPerfStats(start)
	stop, progressDone := make(chan struct{}), make(chan struct{})
	go reportProgress(cfg.Progress, cfg.ProgressInterval, stats, stop, progressDone)
	var wg sync.WaitGroup
	for i, client := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			produceShare(ctx, client, &cfg, payload, stats, int64(i))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-progressDone
	return produceSummary(stats, elapsed, ctx.Err())
}

func produceSummary(stats *perfStats, elapsed time.Duration, ctxErr error) (ProduceSummary, error) {
	stats.mu.Lock()
	defer stats.mu.Unlock()
	total := stats.mu.total
	summary := ProduceSummary{
		Records: int64(total.Count()), Failed: stats.mu.failed, Bytes: stats.mu.bytes,
		ElapsedSeconds: elapsed.Seconds(), RecordsPerSec: rate(float64(total.Count()), elapsed),
		MBPerSec: rate(float64(stats.mu.bytes), elapsed) / (1 << 20), LatencySummary: summarizeLatency(total),
	}
	if stats.mu.failed > 0 {
		return summary, fmt.Errorf("%w: %d records (first error: %w)", ErrProduceFailed, stats.mu.failed, stats.mu.firstErr)
	}
	if ctxErr != nil {
		return summary, fmt.Errorf("produce interrupted: %w", ctxErr)
	}
	return summary, nil
}

// produceShare sends records index, index+K, ... where K is the number of
// producers, pacing to this producer's share of the throughput cap.
func produceShare(ctx context.Context, client *kgo.Client, cfg *PerfProduceConfig, payload []byte, stats *perfStats, index int64) {
	producers := int64(cfg.Producers)
	pace := newPacer(cfg.Throughput / float64(producers))
	var sent int64
	for n := index; n < cfg.NumRecords; n += producers {
		if ctx.Err() != nil || !pace.wait(sent, ctx.Done()) {
			break
		}
		sent++
		record := &kgo.Record{Topic: cfg.Topic, Value: payload}
		if cfg.Keys {
			record.Key = strconv.AppendInt(nil, n, 10)
		}
		size := len(record.Key) + len(payload)
		sentAt := time.Now()
		client.Produce(ctx, record, func(_ *kgo.Record, err error) {
			stats.record(time.Since(sentAt), size, err)
		})
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = client.Flush(flushCtx) // failures arrive through the promises
}

// ensureTopic creates topic with partitions (broker-default replication) if
// partitions > 0 and it does not exist yet; an existing topic is used as it
// is.
func ensureTopic(ctx context.Context, bootstrap []string, topic string, partitions int) error {
	if partitions <= 0 {
		return nil
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	admin := kadm.NewClient(client)
	_, err = admin.CreateTopic(ctx, int32(partitions), -1, nil, topic)
	if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	// A broker may refuse CreateTopics (no permission, an old version
	// without default replication) for a topic that exists already.
	if topics, listErr := admin.ListTopics(ctx, topic); listErr == nil && topics.Has(topic) && topics[topic].Err == nil {
		return nil
	}
	return fmt.Errorf("creating topic %s: %w", topic, err)
}

func openClients(bootstrap []string, count int, opts []kgo.Opt) ([]*kgo.Client, error) {
	clients := make([]*kgo.Client, 0, count)
	for range count {
		all := append([]kgo.Opt{kgo.SeedBrokers(bootstrap...), kgo.ClientID("samsa-perf")}, opts...)
		client, err := kgo.NewClient(all...)
		if err != nil {
			closeClients(clients)
			return nil, fmt.Errorf("creating client: %w", err)
		}
		clients = append(clients, client)
	}
	return clients, nil
}

func closeClients(clients []*kgo.Client) {
	for _, c := range clients {
		c.Close()
	}
}
