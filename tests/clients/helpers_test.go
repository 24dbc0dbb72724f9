package clients

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	kcatPath   = "/usr/bin/kcat"
	pythonPath = "/usr/bin/python3"
)

// clientProbes caches whether each real client is installed.
var clientProbes struct {
	sync.Mutex
	results map[string]string // client → "" when usable, else why not
}

// missingClient skips the test, or fails it when SAMSA_REQUIRE_CLIENTS=1.
func missingClient(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SAMSA_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("required client missing (SAMSA_REQUIRE_CLIENTS=1): %s", why)
	}
	t.Skipf("client missing: %s (install it, see scripts/test)", why)
}

// probeClient returns "" when client works, else a reason; cached.
func probeClient(client string) string {
	clientProbes.Lock()
	defer clientProbes.Unlock()
	if why, ok := clientProbes.results[client]; ok {
		return why
	}
	if clientProbes.results == nil {
		clientProbes.results = make(map[string]string)
	}
	why := probeClientLocked(client)
	clientProbes.results[client] = why
	return why
}

func probeClientLocked(client string) string {
	switch client {
	case "kcat":
		if result := runCommand(nil, kcatPath, "-V"); result.err != nil {
			return kcatPath + " -V failed: " + result.err.Error() + " (apt-get install kcat)"
		}
		return ""
	case "kafka", "confluent_kafka":
		result := runCommand(nil, pythonPath, "-c", "import "+client)
		if result.err != nil {
			return pythonPath + " cannot import " + client + ": " + strings.TrimSpace(string(result.stderr)) +
				" (apt-get install python3-kafka python3-confluent-kafka)"
		}
		return ""
	}
	return "unknown client " + client
}

// requireKcat skips (or fails) the test when kcat is not installed.
func requireKcat(t *testing.T) {
	t.Helper()
	if why := probeClient("kcat"); why != "" {
		missingClient(t, why)
	}
}

// requirePython skips (or fails) the test when module cannot be imported.
func requirePython(t *testing.T, module string) {
	t.Helper()
	if why := probeClient(module); why != "" {
		missingClient(t, why)
	}
}

// runPython runs py/<script> with params as a JSON argument and decodes the
// JSON the script prints on stdout into result.
func runPython(t *testing.T, script string, params, result any) {
	t.Helper()
	encoded, err := json.Marshal(params)
	if err != nil {
		t.Fatalf("encode params: %v", err)
	}
	ran := runCommand(nil, pythonPath, filepath.Join("py", script), string(encoded))
	if ran.err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", script, ran.err, ran.stdout, ran.stderr)
	}
	if err := json.Unmarshal(ran.stdout, result); err != nil {
		t.Fatalf("%s printed no JSON: %v\nstdout:\n%s\nstderr:\n%s", script, err, ran.stdout, ran.stderr)
	}
}

// testContext is a context bounded by timeout and cancelled with the test.
func testContext(t *testing.T, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// newClient is a franz-go client for b, closed with the test.
func newClient(t *testing.T, b *testBroker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(client.Close)
	return client
}

// newAdmin is a kadm client for b, closed with the test.
func newAdmin(t *testing.T, b *testBroker) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, b))
}

// createTopic creates a topic with replication factor 1.
func createTopic(t *testing.T, b *testBroker, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	responses, err := newAdmin(t, b).CreateTopics(ctx, partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if response, _ := responses.On(topic, nil); response.Err != nil {
		t.Fatalf("create topic %s: %v", topic, response.Err)
	}
}

// produceSync produces records with franz-go and fails on any error.
func produceSync(t *testing.T, client *kgo.Client, records ...*kgo.Record) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	if err := client.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeAll reads exactly want records from the start of topic's partitions
// with a fresh franz-go client; fails on timeout or excess records.
func consumeAll(t *testing.T, b *testBroker, topic string, want int) []*kgo.Record {
	t.Helper()
	client := newClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := testContext(t, 30*time.Second)
	var records []*kgo.Record
	for len(records) < want {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: got %d records of %d: %v", topic, len(records), want, ctx.Err())
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			t.Fatalf("consume %s[%d]: %v", topic, partition, err)
		})
		records = append(records, fetches.Records()...)
	}
	if len(records) != want {
		t.Fatalf("consume %s: got %d records, want %d", topic, len(records), want)
	}
	return records
}

// kafkaPartition is the partition Kafka's default partitioner (Java,
// kafka-python, franz-go's default) picks for a non-null key: murmur2.
func kafkaPartition(key []byte, partitions int) int32 {
	return int32((murmur2(key) & 0x7fffffff) % uint32(partitions))
}

// murmur2 is Kafka's Utils.murmur2 (seed 0x9747b28c).
func murmur2(data []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	length := len(data)
	h := uint32(seed) ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[length&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// sortRecords orders python records by partition, then offset.
func sortRecords(records []pyRecord) {
	sort.Slice(records, func(i, j int) bool {
		if records[i].Partition != records[j].Partition {
			return records[i].Partition < records[j].Partition
		}
		return records[i].Offset < records[j].Offset
	})
}

// nodeID is the id the broker reports for itself in Metadata.
func (b *testBroker) nodeID(t *testing.T) int32 {
	t.Helper()
	metadata, err := newAdmin(t, b).BrokerMetadata(testContext(t, 30*time.Second))
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(metadata.Brokers) != 1 {
		t.Fatalf("metadata lists %d brokers, want 1: %v", len(metadata.Brokers), metadata.Brokers)
	}
	return metadata.Brokers[0].NodeID
}
