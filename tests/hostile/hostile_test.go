package hostile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The broker's limits in this test, and what the memory bound is made of.
const (
	maxRequestBytes = 8 << 20  // socket.request.max.bytes
	queuedBytes     = 32 << 20 // queued.max.request.bytes
	maxConnections  = 3000     // max.connections
	perIPDefault    = 3        // max.connections.per.ip (the slowloris address gets this)
	floodPerIPLimit = 400      // override for each flooding address
	idleMillis      = 8000     // connections.max.idle.ms
	// perConnectionBytes generously covers a connection's goroutines,
	// buffers and kernel-side bookkeeping charged to the process.
	perConnectionBytes = 96 << 10
	// baseBytes covers the runtime, the metadata quorum, a few partitions'
	// indexes and the real clients' traffic.
	baseBytes = 256 << 20
)

var floodAddresses = []string{"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"}

const (
	realAddress      = "127.0.0.1" // franz-go, kcat, kafka-python
	caseAddress      = "127.0.0.2" // one connection per hostile frame
	slowlorisAddress = "127.0.0.3"
	realRecords      = 3000
	kcatLines        = 300
	ioTimeout        = 30 * time.Second
)

func TestHostileClientsWhileRealClientsWork(t *testing.T) {
	overrides := fmt.Sprintf("%s:200,%s:1000", realAddress, caseAddress)
	for _, address := range floodAddresses {
		overrides += fmt.Sprintf(",%s:%d", address, floodPerIPLimit)
	}
	b := startBroker(t,
		fmt.Sprintf("socket.request.max.bytes=%d", maxRequestBytes),
		fmt.Sprintf("queued.max.request.bytes=%d", queuedBytes),
		fmt.Sprintf("max.connections=%d", maxConnections),
		fmt.Sprintf("max.connections.per.ip=%d", perIPDefault),
		"max.connections.per.ip.overrides="+overrides,
		fmt.Sprintf("connections.max.idle.ms=%d", idleMillis),
	)
	createTopics(t, b.addr, map[string]int32{"real-0": 3, "kc": 1})

	stop := make(chan struct{})
	var hostile sync.WaitGroup
	var flood floodResult
	var slowloris slowlorisResult
	var cases caseResult
	perIP := floodPerAddress(t)
	hostile.Add(3)
	floodReady := make(chan struct{})
	go func() { defer hostile.Done(); flood = runFlood(b.addr, perIP, floodReady, stop) }()
	slowlorisDone := make(chan struct{})
	go func() {
		defer hostile.Done()
		defer close(slowlorisDone)
		slowloris = runSlowloris(b.addr, perIPDefault+2)
	}()
	go func() { defer hostile.Done(); cases = runCases(b.addr, stop) }()

	acked := produceFranz(t, b.addr, "real-0")
	consumeFranz(t, b.addr, "real-0", acked)
	kcatRoundTrip(t, b.addr)
	consumeKafkaPython(t, b.addr, "real-0", acked)
	// More franz-go rounds, each on a new topic, while slow partial frames
	// are still pending.
	for round := 1; ; round++ {
		select {
		case <-slowlorisDone:
		default:
			topic := fmt.Sprintf("real-%d", round)
			createTopics(t, b.addr, map[string]int32{topic: 3})
			consumeFranz(t, b.addr, topic, produceFranz(t, b.addr, topic))
			continue
		}
		break
	}

	// Keep the hostile load up until every kind of attack has run.
	select {
	case <-floodReady:
	case <-time.After(2 * time.Minute):
		t.Error("the connection flood did not finish opening within 2 minutes")
	}
	close(stop)
	hostile.Wait()
	if b.hasExited() {
		t.Fatal("broker exited under hostile load")
	}

	admittedPerIP := min(perIP, floodPerIPLimit)
	if flood.answered != admittedPerIP*len(floodAddresses) || flood.refused != (perIP-admittedPerIP)*len(floodAddresses) || flood.failed != nil {
		t.Errorf("flood of %d connections: %d answered (want %d), %d refused (want %d), error %v",
			perIP*len(floodAddresses), flood.answered, admittedPerIP*len(floodAddresses), flood.refused, (perIP-admittedPerIP)*len(floodAddresses), flood.failed)
	}
	if slowloris.refused != 2 || slowloris.droppedByIdle != perIPDefault || slowloris.failed != nil {
		t.Errorf("slowloris: %d refused (want 2), %d dropped when idle (want %d), error %v", slowloris.refused, slowloris.droppedByIdle, perIPDefault, slowloris.failed)
	}
	for _, failure := range cases.failures {
		t.Error(failure)
	}
	if cases.rounds < 3 {
		t.Errorf("hostile frames ran %d rounds, want at least 3", cases.rounds)
	}
	for _, fragment := range []string{"unsupported API key 12345", "Metadata version 99 outside", "socket.request.max.bytes", "max.connections.per.ip reached", "decoding Metadata v9"} {
		if b.logCount(t, fragment) == 0 {
			t.Errorf("no broker log line mentions %q", fragment)
		}
	}

	peak := b.statusKiB(t, "VmHWM") << 10
	bound := int64(baseBytes + 2*(queuedBytes+maxRequestBytes) + maxConnections*perConnectionBytes)
	t.Logf("broker peak RSS %d MiB (bound %d MiB); flood %d connections; %d hostile-frame rounds", peak>>20, bound>>20, flood.answered, cases.rounds)
	if peak > bound {
		t.Errorf("broker peak RSS %d MiB exceeds %d MiB", peak>>20, bound>>20)
	}
}

// floodPerAddress sizes the flood to the file-descriptor limit: this
// process and the broker each hold one descriptor per connection.
func floodPerAddress(t *testing.T) int {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	perIP := min(500, (int(limit.Cur)-512)/len(floodAddresses))
	if perIP < 50 {
		t.Skipf("ulimit -n %d is too low for the connection flood", limit.Cur)
	}
	return perIP
}

func createTopics(t *testing.T, addr string, topics map[string]int32) {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	for topic, partitions := range topics {
		if _, err := admin.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
}

// dialFrom connects from a chosen loopback address.
func dialFrom(local, addr string) (net.Conn, error) {
	dialer := net.Dialer{Timeout: ioTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return dialer.Dial("tcp", addr)
}

// readResponse reads one response frame: correlation id and body.
func readResponse(nc net.Conn, timeout time.Duration) (int32, []byte, error) {
	nc.SetReadDeadline(time.Now().Add(timeout))
	var header [8]byte
	if _, err := io.ReadFull(nc, header[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(header[:])
	if size < 4 || size > 1<<20 {
		return 0, nil, fmt.Errorf("response size %d", size)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(nc, body); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(header[4:])), body, nil
}

// closedByBroker reports whether the broker closed the connection (EOF or
// reset) rather than answering or leaving it open.
func closedByBroker(nc net.Conn, timeout time.Duration) error {
	corr, _, err := readResponse(nc, timeout)
	var ne net.Error
	switch {
	case err == nil:
		return fmt.Errorf("answered (correlation id %d), want the connection closed", corr)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("connection still open after %v", timeout)
	}
	return nil
}

var apiVersionsV0 = kmsg.NewRequestFormatter(kmsg.FormatterClientID("hostile")).AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1)

// floodResult counts what thousands of ApiVersions connections got.
type floodResult struct {
	answered, refused int
	failed            error
}

// runFlood opens perIP connections from each flooding address, sends
// ApiVersions on each and holds the admitted ones open until stop.
func runFlood(addr string, perIP int, ready chan<- struct{}, stop <-chan struct{}) floodResult {
	var result floodResult
	var mu sync.Mutex
	var open []net.Conn
	var wg sync.WaitGroup
	work := make(chan string)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for local := range work {
				nc, err := dialFrom(local, addr)
				if err == nil {
					_, err = nc.Write(apiVersionsV0)
				}
				var corr int32
				if err == nil {
					corr, _, err = readResponse(nc, ioTimeout)
				}
				mu.Lock()
				switch {
				case err == nil && corr == 1:
					result.answered++
					open = append(open, nc)
				case err != nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
					result.refused++
					nc.Close()
				default:
					if result.failed == nil {
						result.failed = fmt.Errorf("flood connection from %s: corr %d, %v", local, corr, err)
					}
					if nc != nil {
						nc.Close()
					}
				}
				mu.Unlock()
			}
		}()
	}
	for range perIP {
		for _, local := range floodAddresses {
			work <- local
		}
	}
	close(work)
	wg.Wait()
	close(ready)
	<-stop
	for _, nc := range open {
		nc.Close()
	}
	return result
}

// slowlorisResult counts what slow partial frames got.
type slowlorisResult struct {
	refused, droppedByIdle int
	failed                 error
}

// runSlowloris opens count connections from one address (above its
// max.connections.per.ip), each claiming a Produce frame of almost
// socket.request.max.bytes and sending it one byte at a time. The ones
// admitted must be closed by the broker once connections.max.idle.ms
// passes without the frame completing.
func runSlowloris(addr string, count int) slowlorisResult {
	var result slowlorisResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := dialFrom(slowlorisAddress, addr)
			if err != nil {
				mu.Lock()
				result.failed = err
				mu.Unlock()
				return
			}
			defer nc.Close()
			frame := binary.BigEndian.AppendUint32(nil, maxRequestBytes-1)
			frame = append(frame, 0, 0, 0, 9, 0, 0, 0, byte(i)) // Produce v9 header
			outcome := trickle(nc, frame)
			mu.Lock()
			defer mu.Unlock()
			switch outcome {
			case "refused":
				result.refused++
			case "dropped":
				result.droppedByIdle++
			default:
				result.failed = errors.New(outcome)
			}
		}()
	}
	wg.Wait()
	return result
}

// trickle writes the frame's first bytes, then one byte every 250 ms, until
// the broker closes the connection. A refused connection is closed before
// its first read completes; an admitted one only after the idle timeout.
func trickle(nc net.Conn, frame []byte) string {
	closed := make(chan error, 1)
	go func() {
		var one [1]byte
		nc.SetReadDeadline(time.Now().Add(4 * idleMillis * time.Millisecond))
		_, err := nc.Read(one[:])
		closed <- err
	}()
	start := time.Now()
	nc.Write(frame[:6])
	sent := 6
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case err := <-closed:
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				return "slow partial frame left open beyond 4x connections.max.idle.ms"
			case err == nil:
				return "broker answered a partial frame"
			case sent <= 8 && time.Since(start) < idleMillis*time.Millisecond/2:
				return "refused"
			default:
				return "dropped"
			}
		case <-ticker.C:
			if sent < len(frame) {
				nc.Write(frame[sent : sent+1])
				sent++
			} else {
				nc.Write([]byte{0})
			}
		}
	}
}

// caseResult collects wrong reactions to hostile frames.
type caseResult struct {
	rounds   int
	failures []string
}

// hostileCase is one hostile input and the check of Kafka's reaction.
type hostileCase struct {
	name  string
	frame func(round int) []byte
	// halfClose: the client ends its side after writing (a frame that
	// never completes); otherwise the broker must react on its own.
	halfClose bool
	check     func(nc net.Conn) error
}

func expectClosed(nc net.Conn) error { return closedByBroker(nc, ioTimeout) }

func sized(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func hostileCases() []hostileCase {
	metadataV4 := kmsg.NewPtrMetadataRequest()
	metadataV4.Version = 4
	validMetadata := kmsg.NewRequestFormatter(kmsg.FormatterClientID("hostile")).AppendRequest(nil, metadataV4, 5)
	return []hostileCase{
		{name: "random bytes", halfClose: true, check: expectClosed, frame: func(round int) []byte {
			random := rand.New(rand.NewPCG(uint64(round), 6))
			b := make([]byte, 16+random.IntN(4096))
			for i := range b {
				b[i] = byte(random.Uint32())
			}
			return b
		}},
		{name: "truncated frame", halfClose: true, check: expectClosed, frame: func(int) []byte { return validMetadata[:len(validMetadata)/2] }},
		{name: "size 2^31-1", check: expectClosed, frame: func(int) []byte { return []byte{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 4, 0, 0, 0, 1} }},
		{name: "size above socket.request.max.bytes", check: expectClosed, frame: func(int) []byte {
			return append(binary.BigEndian.AppendUint32(nil, maxRequestBytes+1), 0, 0, 0, 9, 0, 0, 0, 1)
		}},
		{name: "negative size", check: expectClosed, frame: func(int) []byte { return []byte{0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0} }},
		{name: "unknown API key", check: expectClosed, frame: func(int) []byte { return sized([]byte{0x30, 0x39, 0, 0, 0, 0, 0, 1, 0xff, 0xff}) }},
		{name: "unknown Metadata version", check: expectClosed, frame: func(int) []byte { return sized([]byte{0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff, 0, 0}) }},
		{name: "client id past the frame", check: expectClosed, frame: func(int) []byte { return sized([]byte{0, 3, 0, 4, 0, 0, 0, 1, 0x7f, 0xff}) }},
		{name: "negative string length in a non-nullable topic name", check: expectClosed, frame: func(int) []byte {
			return sized([]byte{0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 1, 0xff, 0xfd})
		}},
		{name: "2^32-1 tagged fields", check: expectClosed, frame: func(int) []byte {
			return sized([]byte{0, 3, 0, 9, 0, 0, 0, 7, 0xff, 0xff, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
		}},
		{name: "ApiVersions v99 (KIP-511)", check: checkFutureAPIVersions, frame: func(int) []byte {
			return sized([]byte{0, 18, 0, 99, 0, 0, 0, 11, 0xff, 0xff, 0xde, 0xad})
		}},
		{name: "negative count of a nullable array", check: checkNegativeNullableArray, frame: func(int) []byte {
			// Metadata v4: topics -2 (Kafka reads any negative length as
			// null: all topics), no auto-creation.
			return sized([]byte{0, 3, 0, 4, 0, 0, 0, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0})
		}},
	}
}

// checkFutureAPIVersions: an ApiVersions of an unknown version is answered
// with a v0 body: UNSUPPORTED_VERSION and the ApiVersions range.
func checkFutureAPIVersions(nc net.Conn) error {
	corr, body, err := readResponse(nc, ioTimeout)
	if err != nil || corr != 11 {
		return fmt.Errorf("corr %d, %v", corr, err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	if err := resp.ReadFrom(body); err != nil {
		return err
	}
	if resp.ErrorCode != 35 || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 || resp.ApiKeys[0].MinVersion != 0 {
		return fmt.Errorf("error %d keys %+v, want UNSUPPORTED_VERSION (35) and ApiVersions' range", resp.ErrorCode, resp.ApiKeys)
	}
	return nil
}

// checkNegativeNullableArray: Metadata with topics -2 lists every topic.
func checkNegativeNullableArray(nc net.Conn) error {
	corr, body, err := readResponse(nc, ioTimeout)
	if err != nil || corr != 12 {
		return fmt.Errorf("corr %d, %v", corr, err)
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 4
	if err := resp.ReadFrom(body); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, topic := range resp.Topics {
		names[*topic.Topic] = topic.ErrorCode == 0
	}
	if !names["real-0"] || !names["kc"] {
		return fmt.Errorf("topics %v, want all topics (real-0, kc, ...)", names)
	}
	return nil
}

// runCases sends every hostile frame on its own connection, round after
// round, until stop (at least three rounds).
func runCases(addr string, stop <-chan struct{}) caseResult {
	var result caseResult
	pace := time.NewTicker(50 * time.Millisecond) // leave CPU to the real clients
	defer pace.Stop()
	for {
		<-pace.C
		for _, hc := range hostileCases() {
			if err := runCase(addr, hc, result.rounds); err != nil {
				result.failures = append(result.failures, fmt.Sprintf("round %d, %s: %v", result.rounds, hc.name, err))
			}
		}
		result.rounds++
		select {
		case <-stop:
			if result.rounds >= 3 {
				return result
			}
		default:
		}
		if len(result.failures) > 20 {
			return result
		}
	}
}

func runCase(addr string, hc hostileCase, round int) error {
	nc, err := dialFrom(caseAddress, addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := nc.Write(hc.frame(round)); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return err
	}
	if hc.halfClose {
		nc.(*net.TCPConn).CloseWrite()
	}
	return hc.check(nc)
}

// produceFranz produces realRecords records with franz-go (idempotent,
// acks=all) and returns the acknowledged values per partition, in offset
// order.
func produceFranz(t *testing.T, addr, topic string) map[int32][]string {
	t.Helper()
	// gzip: kafka-python reads it without extra libraries.
	client, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.GzipCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type ack struct {
		offset int64
		value  string
	}
	var mu sync.Mutex
	acks := map[int32][]ack{}
	var failures []error
	for i := range realRecords {
		value := fmt.Sprintf("value-%05d", i)
		client.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(value)}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err)
				return
			}
			acks[r.Partition] = append(acks[r.Partition], ack{r.Offset, string(r.Value)})
		})
		if i%500 == 499 {
			client.Flush(ctx)
		}
	}
	if err := client.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d produce errors, first: %v", len(failures), failures[0])
	}
	values := map[int32][]string{}
	total := 0
	for partition, list := range acks {
		for i, a := range list {
			if a.offset != int64(i) {
				t.Fatalf("partition %d: ack %d at offset %d", partition, i, a.offset)
			}
			values[partition] = append(values[partition], a.value)
		}
		total += len(list)
	}
	if total != realRecords {
		t.Fatalf("%d acknowledgements, want %d", total, realRecords)
	}
	return values
}

// consumeFranz reads every partition of topic with franz-go and compares
// with the acknowledgements, record by record.
func consumeFranz(t *testing.T, addr, topic string, acked map[int32][]string) {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := map[int32][]string{}
	for count := 0; count < realRecords; {
		fetches := client.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("fetch errors after %d records: %v", count, errs)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if int64(len(got[r.Partition])) != r.Offset {
				t.Fatalf("partition %d: offset %d after %d records", r.Partition, r.Offset, len(got[r.Partition]))
			}
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			count++
		})
	}
	compareRecords(t, "franz-go", acked, got)
}

func compareRecords(t *testing.T, who string, want, got map[int32][]string) {
	t.Helper()
	for partition, values := range want {
		if strings.Join(got[partition], ",") != strings.Join(values, ",") {
			t.Fatalf("%s partition %d: %d records differ from the %d acknowledged", who, partition, len(got[partition]), len(values))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: records in %d partitions, want %d", who, len(got), len(want))
	}
}

// kcatRoundTrip produces kcatLines lines with kcat and consumes them back.
func kcatRoundTrip(t *testing.T, addr string) {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if !requireClient(t, err == nil, "kcat") {
		return
	}
	var lines []string
	for i := range kcatLines {
		lines = append(lines, fmt.Sprintf("kcat-%04d", i))
	}
	input := strings.Join(lines, "\n") + "\n"
	if _, err := runClient(t, input, path, "-b", addr, "-P", "-t", "kc", "-p", "0", "-X", "acks=all"); err != nil {
		t.Fatalf("kcat produce: %v", err)
	}
	out, err := runClient(t, "", path, "-b", addr, "-C", "-t", "kc", "-o", "beginning", "-e", "-q")
	if err != nil {
		t.Fatalf("kcat consume: %v", err)
	}
	if out != input {
		t.Fatalf("kcat consumed %d bytes, want the %d produced lines back exactly", len(out), kcatLines)
	}
}

// kafkaPythonConsumer reads every record of a topic from the beginning and
// prints partition and value per line.
const kafkaPythonConsumer = `
import sys
from kafka import KafkaConsumer, TopicPartition
consumer = KafkaConsumer(bootstrap_servers=sys.argv[1], enable_auto_commit=False, consumer_timeout_ms=30000)
partitions = [TopicPartition(sys.argv[3], p) for p in range(3)]
consumer.assign(partitions)
consumer.seek_to_beginning()
want = int(sys.argv[2])
seen = 0
for message in consumer:
    print("%d %d %s" % (message.partition, message.offset, message.value.decode()))
    seen += 1
    if seen == want:
        break
consumer.close()
`

func consumeKafkaPython(t *testing.T, addr, topic string, acked map[int32][]string) {
	t.Helper()
	const python = "/usr/bin/python3"
	_, statErr := os.Stat(python)
	haveKafka := statErr == nil && exec.Command(python, "-c", "import kafka").Run() == nil
	if !requireClient(t, haveKafka, "kafka-python") {
		return
	}
	out, err := runClient(t, "", python, "-c", kafkaPythonConsumer, addr, fmt.Sprint(realRecords), topic)
	if err != nil {
		t.Fatalf("kafka-python: %v", err)
	}
	got := map[int32][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var partition int32
		var offset int64
		var value string
		if _, err := fmt.Sscanf(line, "%d %d %s", &partition, &offset, &value); err != nil {
			t.Fatalf("kafka-python line %q: %v", line, err)
		}
		if int64(len(got[partition])) != offset {
			t.Fatalf("kafka-python partition %d: offset %d after %d records", partition, offset, len(got[partition]))
		}
		got[partition] = append(got[partition], value)
	}
	compareRecords(t, "kafka-python", acked, got)
}
