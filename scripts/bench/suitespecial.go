package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// longRunWorkload writes s.longRecords 1 KiB records (after a warm-up of
// half a tenth) to one partition whose small segments roll many times while
// retention deletes the oldest, timing each tenth; it compares the last
// tenth's throughput with the first's (Kafka's O(1) claim: the log's length
// does not slow appends).
func longRunWorkload(s suiteScale) suiteWorkload {
	tenth := max(s.longRecords/10, 100)
	label := fmt.Sprintf("long run 1 KiB p1 acks=all, %s records, segment %d MiB, retention %d MiB",
		groupedInt(10*tenth), s.longSegment>>20, s.longRetention>>20)
	rows := []string{label + ": first tenth (records/s)", label + ": last tenth (records/s)", label + ": last/first tenth"}
	w := suiteWorkload{
		name: "long run",
		rows: []suiteRow{
			{name: rows[0], limit: produceLimit, recordSize: 1024},
			{name: rows[1], limit: produceLimit, recordSize: 1024},
			{name: rows[2]},
		},
		samsaOverrides: []string{"log.retention.check.interval.ms=1000"},
		kfakeConfigs:   []string{"log.cleaner.backoff.ms=1000"},
	}
	w.kafka = func(ctx context.Context, env *suiteEnv) error {
		addrs := env.deployment.addrs()
		configs := map[string]*string{"segment.bytes": kadm.StringPtr(fmt.Sprint(s.longSegment)), "retention.bytes": kadm.StringPtr(fmt.Sprint(s.longRetention))}
		if err := createSuiteTopic(ctx, addrs, "long", 1, configs); err != nil {
			return err
		}
		gb := float64(tenth*10+tenth/2) * 1024 / 1e9
		err := env.step(rows, gb, func() ([]float64, error) {
			rates, err := produceTenths(ctx, addrs, "long", tenth, 1024)
			if err != nil {
				return nil, err
			}
			var each []string
			for _, rate := range rates {
				each = append(each, formatFigure(rate))
			}
			env.note("long run: records/s of each tenth: %s", strings.Join(each, ", "))
			return []float64{rates[0], rates[9], rates[9] / rates[0]}, nil
		})
		if err != nil {
			return err
		}
		if start, err := logStartOffset(ctx, addrs, "long"); err == nil {
			env.note("long run: log start offset %d after writing %d records (retention deleted the segments before it)", start, tenth*10+tenth/2+1)
		}
		return nil
	}
	return w
}

// produceTenths writes half a tenth to warm up and then ten tenths of tenth
// records each with one producer (the settings of samsa perf produce:
// acks=all, the client's default linger and idempotence, no compression)
// and returns each tenth's records/s, timed by acknowledgements from the end
// of the warm-up, so connecting, the first metadata request and the
// client's batching ramp-up are not part of the first tenth.
func produceTenths(ctx context.Context, addrs []string, topic string, tenth int64, size int) ([]float64, error) {
	client, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	var mu sync.Mutex
	var acked int64
	var firstErr error
	var marks []time.Time // end of the warm-up, then the end of each tenth
	warmUp := tenth / 2
	value := make([]byte, size)
	for range warmUp + 10*tenth + 1 {
		client.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if acked >= warmUp && (acked-warmUp)%tenth == 0 {
				marks = append(marks, time.Now())
			}
			acked++
		})
	}
	if err := client.Flush(ctx); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return nil, firstErr
	}
	if len(marks) != 11 {
		return nil, fmt.Errorf("%d of %d records acknowledged", acked, warmUp+10*tenth+1)
	}
	rates := make([]float64, 10)
	for i := range rates {
		rates[i] = float64(tenth) / marks[i+1].Sub(marks[i]).Seconds()
	}
	return rates, nil
}

func logStartOffset(ctx context.Context, addrs []string, topic string) (int64, error) {
	client, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return 0, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Retention runs on a 1 s timer after the last append.
	time.Sleep(2 * time.Second)
	starts, err := kadm.NewClient(client).ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	offset, ok := starts.Lookup(topic, 0)
	if !ok || offset.Err != nil {
		return 0, fmt.Errorf("no start offset for %s", topic)
	}
	return offset.Offset, nil
}

// memoryWorkload measures the broker's resident memory per partition (a
// topic of s.rssPartitions partitions, one 100 B record in each) and per
// idle connection (s.rssConnections connections that each completed one
// request: ApiVersions, or CONNECT and PING on NATS).
func memoryWorkload(s suiteScale) suiteWorkload {
	partitionRow := fmt.Sprintf("RSS per partition, %s partitions with one record each (KiB)", groupedInt(int64(s.rssPartitions)))
	connectionRow := fmt.Sprintf("RSS per idle connection, %s connections (KiB)", groupedInt(int64(s.rssConnections)))
	w := suiteWorkload{name: "memory", rows: []suiteRow{{name: partitionRow, lowerBetter: true}, {name: connectionRow, lowerBetter: true}}}
	w.kafka = func(ctx context.Context, env *suiteEnv) error {
		before := env.deployment.rssMiB()
		err := env.step([]string{partitionRow}, 0, func() ([]float64, error) {
			if err := fillPartitions(ctx, env.deployment.addrs(), "memory", s.rssPartitions); err != nil {
				return nil, err
			}
			return []float64{(env.deployment.rssMiB() - before) * 1024 / float64(s.rssPartitions)}, nil
		})
		if err != nil {
			return err
		}
		return measureConnections(env, connectionRow, s.rssConnections, kafkaGreeting)
	}
	w.nats = func(ctx context.Context, env *suiteEnv) error {
		env.cell(partitionRow).state = "n/a"
		return measureConnections(env, connectionRow, s.rssConnections, natsGreeting)
	}
	return w
}

// fillPartitions creates topic with count partitions and writes one record
// to each.
func fillPartitions(ctx context.Context, addrs []string, topic string, count int) error {
	if err := createSuiteTopic(ctx, addrs, topic, count, nil); err != nil {
		return err
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer client.Close()
	records := make([]*kgo.Record, count)
	for i := range records {
		records[i] = &kgo.Record{Partition: int32(i), Value: make([]byte, 100)}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return client.ProduceSync(ctx, records...).FirstErr()
}

// measureConnections opens count connections, completes greet on each and
// records the broker's RSS growth per connection in KiB.
func measureConnections(env *suiteEnv, row string, count int, greet func(net.Conn) error) error {
	addr := env.deployment.addrs()[0]
	var conns []net.Conn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	before := env.deployment.rssMiB()
	return env.step([]string{row}, 0, func() ([]float64, error) {
		for range count {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return nil, fmt.Errorf("connection %d: %w", len(conns)+1, err)
			}
			conns = append(conns, conn)
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := greet(conn); err != nil {
				return nil, fmt.Errorf("connection %d: %w", len(conns), err)
			}
		}
		return []float64{(env.deployment.rssMiB() - before) * 1024 / float64(count)}, nil
	})
}

// kafkaGreeting sends ApiVersions v0 and reads the whole response.
func kafkaGreeting(conn net.Conn) error {
	var request [14]byte
	binary.BigEndian.PutUint32(request[0:], 10)      // size
	binary.BigEndian.PutUint16(request[4:], 18)      // ApiVersions
	binary.BigEndian.PutUint16(request[6:], 0)       // version 0
	binary.BigEndian.PutUint32(request[8:], 1)       // correlation id
	binary.BigEndian.PutUint16(request[12:], 0xffff) // null client id
	if _, err := conn.Write(request[:]); err != nil {
		return err
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return err
	}
	length := binary.BigEndian.Uint32(size[:])
	if length > 1<<20 {
		return fmt.Errorf("ApiVersions response of %d bytes", length)
	}
	_, err := io.CopyN(io.Discard, conn, int64(length))
	return err
}

// natsGreeting sends CONNECT and PING and waits for PONG.
func natsGreeting(conn net.Conn) error {
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n")); err != nil {
		return err
	}
	reader := bufio.NewReader(conn)
	for range 10 {
		line, err := reader.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "PONG") {
			return nil
		}
	}
	return fmt.Errorf("no PONG from the NATS server")
}
