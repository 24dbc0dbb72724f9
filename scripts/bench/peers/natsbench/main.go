// Command natsbench drives a NATS JetStream server with the workloads of
// scripts/bench: produce a count of records (async publish, every publish
// acknowledged by the stream), consume them from the first sequence with an
// ordered consumer, both at once, or end-to-end latency at a fixed rate. It
// prints one JSON line with the figures on stdout.
//
//	natsbench --url nats://127.0.0.1:4222 --mode produce --stream S --count N --size B
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// errTimeout means records stopped arriving before the count was reached.
var errTimeout = errors.New("timed out waiting for records")

type config struct {
	url       string
	mode      string
	stream    string
	subjects  int
	count     int64
	size      int
	producers int
	rate      float64
	idle      time.Duration
	window    int
}

// result is the JSON line natsbench prints.
type result struct {
	Records        int64   `json:"records"`
	RecordsPerSec  float64 `json:"records_per_s"`
	ConsumedPerSec float64 `json:"consumed_per_s,omitempty"`
	P50Ms          float64 `json:"p50_ms,omitempty"`
	P99Ms          float64 `json:"p99_ms,omitempty"`
	P999Ms         float64 `json:"p999_ms,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", nats.DefaultURL, "server URL")
	flag.StringVar(&c.mode, "mode", "produce", "produce, consume, both or e2e")
	flag.StringVar(&c.stream, "stream", "bench", "stream name (subjects <stream>.<n>)")
	flag.IntVar(&c.subjects, "subjects", 1, "subjects the records are spread over (the partitions of the Kafka rows)")
	flag.Int64Var(&c.count, "count", 100_000, "records")
	flag.IntVar(&c.size, "size", 100, "value size in bytes (e2e: at least 8)")
	flag.IntVar(&c.producers, "producers", 1, "independent publishing connections")
	flag.Float64Var(&c.rate, "rate", 10_000, "records/s (e2e)")
	flag.DurationVar(&c.idle, "timeout", 30*time.Second, "fail after this long without progress")
	flag.IntVar(&c.window, "window", 4096, "unacknowledged async publishes per connection")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	r, err := run(ctx, c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "natsbench: %v\n", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

func run(ctx context.Context, c config) (result, error) {
	if c.count <= 0 || c.subjects < 1 || c.producers < 1 || c.size < 0 || c.size > 8<<20 {
		return result{}, fmt.Errorf("bad arguments")
	}
	if err := ensureStream(ctx, c); err != nil {
		return result{}, err
	}
	switch c.mode {
	case "produce":
		return produce(ctx, c, nil)
	case "consume":
		return consume(ctx, c)
	case "both":
		return both(ctx, c)
	case "e2e":
		return endToEnd(ctx, c)
	}
	return result{}, fmt.Errorf("unknown mode %q", c.mode)
}

// ensureStream creates the stream with file storage and one replica.
func ensureStream(ctx context.Context, c config) error {
	conn, js, err := connect(c)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: c.stream, Subjects: []string{c.stream + ".*"}, Storage: jetstream.FileStorage, Replicas: 1,
	})
	if err != nil {
		return fmt.Errorf("creating stream %s: %w", c.stream, err)
	}
	return nil
}

func connect(c config) (*nats.Conn, jetstream.JetStream, error) {
	conn, err := nats.Connect(c.url, nats.Timeout(10*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", c.url, err)
	}
	js, err := jetstream.New(conn, jetstream.WithPublishAsyncMaxPending(c.window), jetstream.WithPublishAsyncTimeout(c.idle))
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, js, nil
}

// produce publishes c.count records over c.producers connections and waits
// for every acknowledgement. stamp, if set, fills each value before sending.
func produce(ctx context.Context, c config, stamp func([]byte)) (result, error) {
	started := time.Now()
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for index := range c.producers {
		wg.Go(func() {
			if err := produceShare(ctx, c, int64(index), stamp); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(started)
	if failed.Load() > 0 {
		return result{}, firstErr.Load().(error)
	}
	return result{Records: c.count, RecordsPerSec: float64(c.count) / elapsed.Seconds()}, nil
}

func produceShare(ctx context.Context, c config, index int64, stamp func([]byte)) error {
	conn, js, err := connect(c)
	if err != nil {
		return err
	}
	defer conn.Close()
	pace := time.Duration(0)
	if stamp != nil && c.rate > 0 {
		pace = time.Duration(float64(time.Second) * float64(c.producers) / c.rate)
	}
	payload := make([]byte, c.size)
	started := time.Now()
	var sent int64
	for n := index; n < c.count; n += int64(c.producers) {
		if pace > 0 {
			if wait := time.Until(started.Add(time.Duration(sent) * pace)); wait > 0 {
				time.Sleep(wait)
			}
		}
		value := payload
		if stamp != nil {
			value = make([]byte, c.size)
			stamp(value)
		}
		subject := c.stream + "." + strconv.FormatInt(n%int64(c.subjects), 10)
		if err := publish(js, subject, value, c.idle); err != nil {
			return err
		}
		sent++
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("%w: %d publishes unacknowledged", errTimeout, js.PublishAsyncPending())
	}
	return nil
}

// publish sends one async publish, waiting while the window of
// unacknowledged publishes is full, for at most idle.
func publish(js jetstream.JetStream, subject string, value []byte, idle time.Duration) error {
	deadline := time.Now().Add(idle)
	for {
		_, err := js.PublishAsync(subject, value)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("publishing: %w", err)
			}
			return nil
		}
	}
}

// consume reads c.count records from the first sequence with an ordered
// consumer.
func consume(ctx context.Context, c config) (result, error) {
	conn, consumer, err := openConsumer(ctx, c, jetstream.DeliverAllPolicy)
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	started, received, err := drain(consumer, c, nil)
	elapsed := time.Since(started)
	if err != nil {
		return result{}, err
	}
	return result{Records: received, RecordsPerSec: float64(received) / elapsed.Seconds()}, nil
}

func openConsumer(ctx context.Context, c config, policy jetstream.DeliverPolicy) (*nats.Conn, jetstream.Consumer, error) {
	conn, js, err := connect(c)
	if err != nil {
		return nil, nil, err
	}
	consumer, err := js.OrderedConsumer(ctx, c.stream, jetstream.OrderedConsumerConfig{DeliverPolicy: policy})
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("creating consumer: %w", err)
	}
	return conn, consumer, nil
}

// drain iterates the consumer until c.count records arrived; the clock
// starts at the first record.
func drain(consumer jetstream.Consumer, c config, onRecord func([]byte, time.Time)) (time.Time, int64, error) {
	messages, err := consumer.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("pulling: %w", err)
	}
	defer messages.Stop()
	started := time.Now()
	var received int64
	for received < c.count {
		msg, err := nextWithin(messages, c.idle)
		if err != nil {
			return started, received, fmt.Errorf("%d of %d records: %w", received, c.count, err)
		}
		if received == 0 && onRecord == nil {
			started = time.Now()
		}
		if onRecord != nil {
			onRecord(msg.Data(), time.Now())
		}
		received++
	}
	return started, received, nil
}

func nextWithin(messages jetstream.MessagesContext, idle time.Duration) (jetstream.Msg, error) {
	type next struct {
		msg jetstream.Msg
		err error
	}
	done := make(chan next, 1)
	go func() {
		msg, err := messages.Next()
		done <- next{msg, err}
	}()
	select {
	case n := <-done:
		return n.msg, n.err
	case <-time.After(idle):
		messages.Stop()
		<-done
		return nil, errTimeout
	}
}

// both produces and consumes at the same time; the consume rate covers the
// time from the first published record to the last consumed one.
func both(ctx context.Context, c config) (result, error) {
	conn, consumer, err := openConsumer(ctx, c, jetstream.DeliverNewPolicy)
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	consumed := make(chan error, 1)
	var received int64
	started := time.Now()
	go func() {
		var err error
		_, received, err = drain(consumer, c, func([]byte, time.Time) {})
		consumed <- err
	}()
	produced, err := produce(ctx, c, nil)
	if cerr := <-consumed; err == nil {
		err = cerr
	}
	produced.ConsumedPerSec = float64(received) / time.Since(started).Seconds()
	return produced, err
}

// endToEnd publishes at c.rate with the send time in each value while an
// ordered consumer, created before the first publish, measures delivery
// latency.
func endToEnd(ctx context.Context, c config) (result, error) {
	if c.size < 8 {
		return result{}, fmt.Errorf("e2e needs --size >= 8")
	}
	conn, consumer, err := openConsumer(ctx, c, jetstream.DeliverNewPolicy)
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	latencies := make([]time.Duration, 0, c.count)
	consumed := make(chan error, 1)
	go func() {
		_, _, err := drain(consumer, c, func(value []byte, at time.Time) {
			sent := int64(binary.BigEndian.Uint64(value))
			latencies = append(latencies, at.Sub(time.Unix(0, sent)))
		})
		consumed <- err
	}()
	produced, err := produce(ctx, c, func(value []byte) {
		binary.BigEndian.PutUint64(value, uint64(time.Now().UnixNano()))
	})
	if cerr := <-consumed; err == nil {
		err = cerr
	}
	slices.Sort(latencies)
	produced.P50Ms, produced.P99Ms, produced.P999Ms = quantile(latencies, 0.5), quantile(latencies, 0.99), quantile(latencies, 0.999)
	return produced, err
}

func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[index].Microseconds()) / 1000
}
