package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	pythonPath    = "/usr/bin/python3"
	pythonTimeout = 120 * time.Second // bound on one python client process
)

// requireKafkaPython skips the test when kafka-python cannot be imported,
// or fails it when SAMSA_REQUIRE_CLIENTS=1.
func requireKafkaPython(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	output, err := exec.CommandContext(ctx, pythonPath, "-c", "import kafka").CombinedOutput()
	if err == nil {
		return
	}
	why := pythonPath + " cannot import kafka: " + strings.TrimSpace(string(output)) + " (apt-get install python3-kafka)"
	if os.Getenv("SAMSA_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("required client missing (SAMSA_REQUIRE_CLIENTS=1): %s", why)
	}
	t.Skipf("client missing: %s", why)
}

// runPython runs py/<script> with params as JSON in argv[1] and decodes its
// stdout as JSON into result.
func runPython(t *testing.T, script string, params, result any) {
	t.Helper()
	encoded, err := json.Marshal(params)
	if err != nil {
		t.Fatalf("params: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	command := exec.CommandContext(ctx, pythonPath, filepath.Join("py", script), string(encoded))
	command.WaitDelay = 5 * time.Second
	command.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	command.Stdout, command.Stderr = &stdout, &stderr
	if err := command.Run(); err != nil {
		t.Fatalf("%s: %v (context: %v)\nstdout:\n%s\nstderr:\n%s", script, err, ctx.Err(), stdout.Bytes(), stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), result); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s\nstderr:\n%s", script, err, stdout.Bytes(), stderr.Bytes())
	}
}

// TestKafkaPythonOrigin: the origin notes' producer.py and customer.py with
// bootstrap_servers listing the three brokers: partitions_for on the
// auto-created topic ({0, 1, 2}: num.partitions=3), keyed JSON records on
// one partition, and a group consumer receiving them in order and
// committing them.
func TestKafkaPythonOrigin(t *testing.T) {
	requireKafkaPython(t)
	c := startCluster(t)
	const topic, group, count = "kafka_demo", "test", 5
	var result struct {
		Partitions []int32 `json:"partitions"`
		Sent       []struct {
			Partition int32 `json:"partition"`
			Offset    int64 `json:"offset"`
		} `json:"sent"`
		Received []struct {
			Partition int32  `json:"partition"`
			Offset    int64  `json:"offset"`
			Key       string `json:"key"`
			Value     string `json:"value"`
		} `json:"received"`
	}
	runPython(t, "origin_cluster.py", map[string]any{
		"bootstrap": c.addrs(), "topic": topic, "group": group, "count": count,
	}, &result)
	assertEqual(t, "partitions_for", result.Partitions, []int32{0, 1, 2})
	if len(result.Sent) != count || len(result.Received) != count {
		t.Fatalf("sent %d, received %d, want %d each: %+v", len(result.Sent), len(result.Received), count, result)
	}
	partition := result.Sent[0].Partition // one key: one partition
	for i := range count {
		sent, received := result.Sent[i], result.Received[i]
		assertEqual(t, "sent "+strconv.Itoa(i), [2]int64{int64(sent.Partition), sent.Offset}, [2]int64{int64(partition), int64(i)})
		assertEqual(t, "received "+strconv.Itoa(i), []any{received.Partition, received.Offset, received.Key, received.Value},
			[]any{partition, int64(i), "count_num", strconv.Itoa(i)})
	}
	states := c.waitLeaders(topic, 3)
	for index, state := range states {
		assertEqual(t, "replicas of partition "+strconv.Itoa(index), len(state.replicas), 3)
	}
	committed, err := c.committedOffsets(c.admin(), group, topic)
	if err != nil {
		t.Fatalf("committed offsets: %v", err)
	}
	assertEqual(t, "committed offset of partition "+strconv.Itoa(int(partition)), committed[partition], int64(count))
}
