package cli

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startCluster starts a one-broker kfake cluster with the given topics of
// partitions partitions and returns its address.
func startCluster(t *testing.T, partitions int32, topics ...string) string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	return cluster.ListenAddrs()[0]
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes the CLI with a 60 s bound and returns its outputs.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := MainContext(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := run(t, stdin, args...)
	if r.code != ExitOK {
		t.Fatalf("samsa %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func topicID(t *testing.T, addr, topic string) string {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	details, err := kadm.NewClient(client).ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return formatTopicID(details[topic].ID)
}

func TestTopicLifecycle(t *testing.T) {
	addr := startCluster(t, 1)
	b := "--bootstrap-server=" + addr
	if out := mustRun(t, "", "topic", "create", b, "--topic", "orders", "--partitions", "2", "--replication-factor", "1",
		"--config", "retention.ms=1000", "--config", "cleanup.policy=compact"); out != "Created topic orders.\n" {
		t.Fatalf("create stdout %q", out)
	}
	r := run(t, "", "topic", "create", b, "--topic", "orders")
	if r.code != ExitError || !strings.Contains(r.stderr, "TOPIC_ALREADY_EXISTS") {
		t.Fatalf("duplicate create: %+v", r)
	}
	if out := mustRun(t, "", "topic", "create", b, "--topic", "orders", "--if-not-exists"); out != "" {
		t.Fatalf("if-not-exists stdout %q", out)
	}
	mustRun(t, "", "topic", "create", "-b", addr, "--topic", "audit", "--partitions", "1")
	if out := mustRun(t, "", "topic", "list", b); out != "audit\norders\n" {
		t.Fatalf("list stdout %q", out)
	}
	want := "Topic: orders\tTopicId: " + topicID(t, addr, "orders") +
		"\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: cleanup.policy=compact,retention.ms=1000\n" +
		"\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\n" +
		"\tTopic: orders\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\n"
	if out := mustRun(t, "", "topic", "describe", b, "--topic", "orders"); out != want {
		t.Fatalf("describe stdout\n%q\nwant\n%q", out, want)
	}
	mustRun(t, "", "topic", "alter", b, "--topic", "orders", "--partitions", "3",
		"--config", "retention.ms=2000", "--delete-config", "cleanup.policy")
	out := mustRun(t, "", "topic", "describe", b, "--topic", "orders")
	if !strings.Contains(out, "PartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=2000\n") ||
		!strings.Contains(out, "\tPartition: 2\t") {
		t.Fatalf("describe after alter %q", out)
	}
	mustRun(t, "", "topic", "delete", b, "--topic", "audit")
	if out := mustRun(t, "", "topic", "list", b); out != "orders\n" {
		t.Fatalf("list after delete %q", out)
	}
}

func TestTopicErrors(t *testing.T) {
	addr := startCluster(t, 1)
	b := "-b=" + addr
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"topic", "describe", b, "--topic", "missing"}, ExitError, "Error: topic does not exist: missing\n"},
		{[]string{"topic", "delete", b, "--topic", "missing"}, ExitError, "topic does not exist: missing"},
		{[]string{"topic", "alter", b, "--topic", "missing", "--partitions", "4"}, ExitError, "topic does not exist: missing"},
		{[]string{"topic", "create", b}, ExitUsage, "Error: usage error: --topic is required\n"},
		{[]string{"topic", "create", b, "--topic", "x", "--config", "novalue"}, ExitUsage, "not of the form key=value"},
		{[]string{"topic", "create", b, "--topic", "x", "--partitions", "0"}, ExitUsage, "must be positive"},
		{[]string{"topic", "create", "--no-such-flag"}, ExitUsage, "flag provided but not defined: -no-such-flag"},
		{[]string{"topic", "frobnicate"}, ExitUsage, `unknown subcommand "frobnicate"`},
		{[]string{"topic"}, ExitUsage, "needs a subcommand"},
		{[]string{"bogus"}, ExitUsage, `unknown command "bogus"`},
		{[]string{"topic", "list", b, "extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"consume", b, "--topic", "missing"}, ExitError, "topic does not exist: missing"},
		{[]string{"consume", b, "--topic", "t", "--from-beginning", "--offset", "3"}, ExitUsage, "only one of"},
		{[]string{"consume", b, "--topic", "t", "--format", "%x"}, ExitUsage, "unknown verb %x"},
		{[]string{"produce", b, "--topic", "t", "--acks", "2"}, ExitUsage, "--acks must be"},
		{[]string{"produce", b, "--topic", "t", "--compression", "brotli"}, ExitUsage, "unknown --compression"},
		{[]string{"perf", "produce", b, "--topic", "t"}, ExitUsage, "--num-records must be positive"},
		{[]string{"perf", "e2e", b, "--topic", "t", "--num-records", "1", "--record-size", "4"}, ExitUsage, "--record-size in [8"},
	}
	for _, c := range cases {
		r := run(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("samsa %s: exit %d stderr %q; want exit %d containing %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"topic", "--help"}, {"topic", "create", "--help"}, {"perf", "e2e", "-h"}, {"consume", "--help"}} {
		r := run(t, "", args...)
		if r.code != ExitOK || !strings.Contains(r.stderr, "Usage: samsa") {
			t.Errorf("samsa %s: exit %d stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

func TestProduceConsumeRoundTrip(t *testing.T) {
	addr := startCluster(t, 2, "events")
	b := "-b=" + addr
	input := "k1:v1\nk2:v2\nNULL:v3\nk4:NULL\n"
	out := mustRun(t, input, "produce", b, "--topic", "events", "--key-separator", ":", "--partition", "1",
		"--header", "h1=a", "--header", "h2=b", "--null-marker", "NULL", "--verbose", "--compression", "zstd")
	if out != "1@0\n1@1\n1@2\n1@3\n" {
		t.Fatalf("produce verbose %q", out)
	}
	mustRun(t, "plain\n", "produce", b, "--topic", "events", "--partition", "0", "--acks", "1")
	got := mustRun(t, "", "consume", b, "--topic", "events", "--partition", "1", "--from-beginning", "--max-messages", "4",
		"--null-marker", "<null>", "--format", `%t|%p|%o|%k|%v|%h|%K|%S\n`)
	want := "events|1|0|k1|v1|h1=a,h2=b|2|2\n" +
		"events|1|1|k2|v2|h1=a,h2=b|2|2\n" +
		"events|1|2|<null>|v3|h1=a,h2=b|-1|2\n" +
		"events|1|3|k4|<null>|h1=a,h2=b|2|-1\n"
	if got != want {
		t.Fatalf("consume\n%q\nwant\n%q", got, want)
	}
	if got := mustRun(t, "", "consume", b, "--topic", "events", "--partition", "0", "--from-beginning", "--max-messages", "1",
		"--format", `%p:%o:%v\n`); got != "0:0:plain\n" {
		t.Fatalf("partition 0 %q", got)
	}
	if got := mustRun(t, "", "consume", b, "--topic", "events", "--partition", "1", "--offset", "-2", "--max-messages", "2",
		"--format", `%o `, "--null-marker", "N"); got != "2 3 " {
		t.Fatalf("offset -2 %q", got)
	}
	if got := mustRun(t, "", "consume", b, "--topic", "events", "--partition", "1", "--offset", "1", "--max-messages", "1",
		"--format", `%o %k\n`); got != "1 k2\n" {
		t.Fatalf("offset 1 %q", got)
	}
}

func TestConsumeIdleTimeoutAndTimestamp(t *testing.T) {
	addr := startCluster(t, 1, "ts")
	b := "-b=" + addr
	mustRun(t, "a\nb\n", "produce", b, "--topic", "ts")
	got := mustRun(t, "", "consume", b, "--topic", "ts", "--from-beginning", "--timeout-ms", "500", "--format", `%v,`)
	if got != "a,b," {
		t.Fatalf("idle timeout consume %q", got)
	}
	future := time.Now().Add(time.Hour).UnixMilli()
	got = mustRun(t, "", "consume", b, "--topic", "ts", "--timestamp", strconv.FormatInt(future, 10), "--timeout-ms", "300")
	if got != "" {
		t.Fatalf("future timestamp consume %q", got)
	}
	got = mustRun(t, "", "consume", b, "--topic", "ts", "--timestamp", "0", "--max-messages", "2", "--format", `%v`)
	if got != "ab" {
		t.Fatalf("timestamp 0 consume %q", got)
	}
}

func TestConsumeGroupCommits(t *testing.T) {
	addr := startCluster(t, 1, "grouped")
	b := "-b=" + addr
	mustRun(t, "1\n2\n3\n", "produce", b, "--topic", "grouped")
	args := []string{"consume", b, "--topic", "grouped", "--group", "g1", "--from-beginning", "--max-messages", "2", "--format", `%v\n`}
	if got := mustRun(t, "", args...); got != "1\n2\n" {
		t.Fatalf("first group consume %q", got)
	}
	args[len(args)-3] = "1"
	if got := mustRun(t, "", args...); got != "3\n" {
		t.Fatalf("second group consume resumes at %q", got)
	}
}

func TestCluster(t *testing.T) {
	addr := startCluster(t, 1)
	host, port, _ := strings.Cut(addr, ":")
	want := "Cluster ID: kfake\nController: 0\nBrokers: 1\n\tId: 0\tHost: " + host + ":" + port + "\tRack: krack\nUnder-replicated partitions: 0\n"
	if got := mustRun(t, "", "cluster", "-b", addr); got != want {
		t.Fatalf("cluster %q want %q", got, want)
	}
	got := mustRun(t, "", "cluster", "-b", addr, "--versions")
	if !strings.HasPrefix(got, want+"Broker 0 API versions:\n\tProduce(0): ") || !strings.Contains(got, "\tApiVersions(18): 0 to ") {
		t.Fatalf("cluster --versions %q", got)
	}
}

func TestClusterUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := MainContext(ctx, []string{"cluster", "-b", "127.0.0.1:1"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitError || !strings.HasPrefix(stderr.String(), "Error: fetching cluster metadata:") {
		t.Fatalf("exit %d stderr %q", code, stderr.String())
	}
}

func TestPerfCommands(t *testing.T) {
	addr := startCluster(t, 1)
	b := "-b=" + addr
	out := mustRun(t, "", "perf", "produce", b, "--topic", "bench", "--partitions", "3", "--num-records", "500",
		"--record-size", "64", "--producers", "2", "--keys", "--acks", "1", "--progress-interval", "0")
	if !strings.HasPrefix(out, "500 records sent, ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("perf produce %q", out)
	}
	out = mustRun(t, "", "perf", "consume", b, "--topic", "bench", "--num-records", "500", "--json")
	if !strings.HasPrefix(out, `{"records":500,"bytes":33390,`) {
		t.Fatalf("perf consume %q", out)
	}
	out = mustRun(t, "", "perf", "e2e", b, "--topic", "lat", "--rate", "2000", "--num-records", "200", "--record-size", "16", "--json")
	if !strings.HasPrefix(out, `{"records":200,`) || !strings.Contains(out, `"latency_p99_ms":`) {
		t.Fatalf("perf e2e %q", out)
	}
	r := run(t, "", "perf", "consume", b, "--topic", "bench", "--num-records", "501", "--timeout", "300ms")
	if r.code != ExitError || !strings.Contains(r.stderr, "timed out waiting for records: 500 of 501") {
		t.Fatalf("short consume %+v", r)
	}
}

func TestRunPerfProduceSummary(t *testing.T) {
	addr := startCluster(t, 2, "direct")
	summary, err := RunPerfProduce(context.Background(), PerfProduceConfig{
		Bootstrap: []string{addr}, Topic: "direct", NumRecords: 300, RecordSize: 10, Acks: "all", Producers: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if summary.Records != 300 || summary.Bytes != 3000 || summary.Failed != 0 || summary.P50Ms > summary.MaxMs {
		t.Fatalf("summary %+v", summary)
	}
	_, err = RunPerfProduce(context.Background(), PerfProduceConfig{Bootstrap: []string{addr}, Topic: "direct", NumRecords: 1, Producers: 0})
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("zero producers: %v", err)
	}
}

func TestUnescapeSeparator(t *testing.T) {
	for in, want := range map[string]string{`\t`: "\t", ":": ":", `a\\b`: `a\b`, `\n`: "\n", "": ""} {
		if got := unescapeSeparator(in); got != want {
			t.Errorf("unescapeSeparator(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPerfProgressLines(t *testing.T) {
	addr := startCluster(t, 1)
	b := "-b=" + addr
	mustRun(t, "", "perf", "produce", b, "--topic", "progress", "--partitions", "1", "--num-records", "300", "--progress-interval", "0")
	progress := regexp.MustCompile(`^\d+ records consumed, [\d.]+ records/sec \([\d.]+ MB/sec\)\.$`)
	out := mustRun(t, "", "perf", "consume", b, "--topic", "progress", "--num-records", "300", "--progress-interval", "1ms")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "300 records consumed, ") {
		t.Fatalf("summary line %q", lines[len(lines)-1])
	}
	for _, line := range lines[:len(lines)-1] {
		if !progress.MatchString(line) {
			t.Fatalf("progress line %q", line)
		}
	}
	r := run(t, "", "perf", "e2e", b, "--topic", "progress-e2e", "--rate", "1000", "--num-records", "100", "--progress-interval", "1ms", "--json")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, `{"records":100,`) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("e2e %+v", r)
	}
	e2eProgress := regexp.MustCompile(`^\d+ of 100 records received, [\d.]+ records/sec\.$`)
	for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		if line != "" && !e2eProgress.MatchString(line) {
			t.Fatalf("e2e progress line %q", line)
		}
	}
}

func TestWindowCounter(t *testing.T) {
	start := time.Unix(100, 0)
	counter := newWindowCounter(start)
	counter.records.Add(50)
	counter.bytes.Add(5000)
	records, bytes, seconds := counter.window(start.Add(2 * time.Second))
	if records != 50 || bytes != 5000 || seconds != 2 {
		t.Fatalf("first window %v %v %v", records, bytes, seconds)
	}
	counter.records.Add(10)
	records, bytes, seconds = counter.window(start.Add(3 * time.Second))
	if records != 10 || bytes != 0 || seconds != 1 {
		t.Fatalf("second window %v %v %v", records, bytes, seconds)
	}
}
