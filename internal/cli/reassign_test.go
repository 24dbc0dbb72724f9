package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// createWithAssignment creates a topic with one partition per replica list.
func createWithAssignment(t *testing.T, seeds []string, topic string, assignments ...[]int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for index, replicas := range assignments {
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: int32(index), Replicas: replicas})
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	// Every node's metadata must have the topic with its leaders before
	// the CLI, which may ask any node, looks at it.
	for _, seed := range seeds {
		pollUntil(t, "topic "+topic+" on "+seed, func() bool {
			r := run(t, "", "topic", "describe", "-b", seed, "--topic", topic)
			return r.code == ExitOK && !strings.Contains(r.stdout, "Leader: none")
		})
	}
}

// pollOutput runs the CLI until its stdout is want; every other output
// must be one of allowed.
func pollOutput(t *testing.T, want string, allowed []string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := mustRun(t, "", args...)
		if got == want {
			return
		}
		if !contains(allowed, got) {
			t.Fatalf("samsa %s: unexpected output %q", strings.Join(args, " "), got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("samsa %s: still %q", strings.Join(args, " "), got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pollUntil calls check until it is true, for at most 30 s.
func pollUntil(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(list []string, value string) bool {
	for _, item := range list {
		if item == value {
			return true
		}
	}
	return false
}

func TestReassignAndElectLeadersCommands(t *testing.T) {
	c := testutil.StartCluster(t, 3, "replica.lag.time.max.ms=2000", "broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500")
	seeds := c.Bootstrap()
	b := "-b=" + strings.Join(seeds, ",")
	createWithAssignment(t, seeds, "moving", []int32{1})
	mustRun(t, "a\nb\nc\n", "produce", b, "--topic", "moving")

	want := "Current partition replica assignment\n\n" +
		`{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[1]}]}` +
		"\n\nSave this to use as the --reassignment-json-file option during rollback\n" +
		"Successfully started partition reassignments for moving-0\n"
	if got := mustRun(t, "", "topic", "reassign", b, "--topic", "moving", "--partition", "0", "--replicas", "2"); got != want {
		t.Fatalf("reassign: %q", got)
	}
	plan := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(plan, []byte(`{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	status := "Status of partition reassignment:\n"
	pollOutput(t, status+"Reassignment of partition moving-0 is complete.\n",
		[]string{
			status + "Reassignment of partition moving-0 is still in progress.\n",
			// A node whose metadata lags the controller's by a moment.
			status + "There is no active reassignment of partition moving-0, but replica set is 2,1 rather than 2.\n",
		},
		"topic", "reassign", b, "--reassignment-json-file", plan, "--verify")
	pollUntil(t, "describe after the move", func() bool {
		got := mustRun(t, "", "topic", "describe", b, "--topic", "moving")
		return strings.Contains(got, "\tTopic: moving\tPartition: 0\tLeader: 2\tReplicas: 2\tIsr: 2\n")
	})
	if got := mustRun(t, "", "consume", b, "--topic", "moving", "--from-beginning", "--max-messages", "3"); got != "a\nb\nc\n" {
		t.Fatalf("consume after the move: %q", got)
	}
	if got := mustRun(t, "", "topic", "reassign", b, "--topic", "moving", "--partition", "0", "--replicas", "1", "--verify"); got != status+"There is no active reassignment of partition moving-0, but replica set is 2 rather than 1.\n" {
		t.Fatalf("verify against another target: %q", got)
	}
	r := run(t, "", "topic", "reassign", b, "--reassignment-json-file", plan, "--cancel")
	if r.code != ExitError || r.stdout != "" || !strings.HasPrefix(r.stderr, "Error: partition reassignment failed: cancelling moving-0: NO_REASSIGNMENT_IN_PROGRESS") {
		t.Fatalf("cancel without a reassignment: %+v", r)
	}
	r = run(t, "", "topic", "reassign", b, "--topic", "moving", "--partition", "0", "--replicas", "2,2")
	if r.code != ExitError || !strings.Contains(r.stderr, "Error: partition reassignment failed: reassigning moving-0: INVALID_REPLICA_ASSIGNMENT") {
		t.Fatalf("duplicate replicas: %+v", r)
	}
	if r := run(t, "", "topic", "reassign", b, "--topic", "moving", "--partition", "0", "--replicas", "1,x"); r.code != ExitUsage {
		t.Fatalf("bad replica list: %+v", r)
	}

	if got := mustRun(t, "", "topic", "elect-leaders", b, "--topic", "moving"); got != "Valid replica already elected for partitions moving-0\n" {
		t.Fatalf("elect-leaders: %q", got)
	}
	if got := mustRun(t, "", "topic", "elect-leaders", b, "--topic", "moving", "--partition", "0", "--type", "unclean"); got != "Valid replica already elected for partitions moving-0\n" {
		t.Fatalf("elect-leaders unclean: %q", got)
	}
	if got := mustRun(t, "", "topic", "elect-leaders", b); got != "" {
		t.Fatalf("elect-leaders on every partition: %q", got)
	}
	r = run(t, "", "topic", "elect-leaders", b, "--topic", "moving", "--partition", "7")
	if r.code != ExitError || r.stdout != "Error completing leader election (PREFERRED) for partition: moving-7: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.\n" {
		t.Fatalf("elect-leaders on a missing partition: %+v", r)
	}

	// Under-replicated partitions: stop node 3, which replicates "halved".
	createWithAssignment(t, seeds, "halved", []int32{1, 3})
	pollOutput(t, "", []string{"\tTopic: halved\tPartition: 0\tLeader: 1\tReplicas: 1,3\tIsr: 1\n"}, "topic", "describe", b, "--under-replicated-partitions")
	c.Nodes[2].Close()
	live := "-b=" + strings.Join(seeds[:2], ",")
	pollOutput(t, "\tTopic: halved\tPartition: 0\tLeader: 1\tReplicas: 1,3\tIsr: 1\n", []string{""}, "topic", "describe", live, "--under-replicated-partitions")
	// Nodes apply the fencing of node 3 at slightly different times: poll.
	want = expectedCluster(t, seeds[:2], 1)
	deadline := time.Now().Add(30 * time.Second)
	got := mustRun(t, "", "cluster", live)
	for ; withoutControllers(t, got) != want; got = mustRun(t, "", "cluster", live) {
		if time.Now().After(deadline) {
			t.Fatalf("cluster: %q, want %q", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The controllers are the three voters; one of the live ones is active.
	section := got[strings.Index(got, "Controllers"):strings.Index(got, "Under-replicated")]
	lines := strings.Split(strings.TrimSuffix(section, "\n"), "\n")
	active := 0
	for index, line := range lines[1:] {
		if !strings.HasPrefix(line, fmt.Sprintf("\tId: %d\tHost: 127.0.0.1:", index+1)) {
			t.Fatalf("controllers section %q", section)
		}
		if strings.HasSuffix(line, "\tactive") {
			active = index + 1
		}
	}
	if len(lines) != 4 || lines[0] != "Controllers (metadata quorum voters): 3" || active < 1 || active > 2 {
		t.Fatalf("controllers section %q", section)
	}
}

// withoutControllers removes the controllers section of `samsa cluster`.
func withoutControllers(t *testing.T, output string) string {
	t.Helper()
	start, end := strings.Index(output, "Controllers"), strings.Index(output, "Under-replicated")
	if start < 0 || end < start {
		t.Fatalf("no controllers section in %q", output)
	}
	return output[:start] + output[end:]
}

// expectedCluster builds the `samsa cluster` output for the live nodes
// seeds (nodes 1..len(seeds)), asking them for the cluster id and controller.
func expectedCluster(t *testing.T, seeds []string, underReplicated int) string {
	t.Helper()
	// Wait until the live nodes report a live controller and only
	// themselves; a fresh client each time, as kgo caches metadata.
	var meta kadm.Metadata
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
		if err != nil {
			t.Fatal(err)
		}
		meta, err = kadm.NewClient(cl).BrokerMetadata(context.Background())
		cl.Close()
		if err == nil && len(meta.Brokers) == len(seeds) && meta.Controller >= 1 && int(meta.Controller) <= len(seeds) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata of the live nodes: %+v %v", meta, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	text := fmt.Sprintf("Cluster ID: %s\nController: %d\nBrokers: %d\n", meta.Cluster, meta.Controller, len(seeds))
	for index, seed := range seeds {
		text += fmt.Sprintf("\tId: %d\tHost: %s\tRack: null\n", index+1, seed)
	}
	return text + fmt.Sprintf("Under-replicated partitions: %d\n", underReplicated)
}
