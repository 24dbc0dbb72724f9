package clients

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// runSamsaCLI runs a client subcommand of the built samsa binary.
func runSamsaCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, samsaBinary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func mustSamsaCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runSamsaCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("samsa %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestSamsaCLI drives Samsa's own command-line client against a real
// Samsa broker: topics, configs, produce with keys and headers, consume by
// offset and timestamp, cluster description.
func TestSamsaCLI(t *testing.T) {
	if brokerKind() != kindSamsa {
		t.Skip("the samsa CLI binary is built only for the samsa broker kind")
	}
	b := startBroker(t)
	bs := "--bootstrap-server=" + b.addr

	if out := mustSamsaCLI(t, "", "topic", "create", bs, "--topic", "cli", "--partitions", "3", "--config", "retention.ms=3600000"); out != "Created topic cli.\n" {
		t.Fatalf("create: %q", out)
	}
	if _, _, err := runSamsaCLI(t, "", "topic", "create", bs, "--topic", "cli", "--partitions", "3"); err == nil {
		t.Fatal("creating an existing topic succeeded")
	}
	if out := mustSamsaCLI(t, "", "topic", "list", bs); out != "cli\n" {
		t.Fatalf("list: %q", out)
	}
	describe := mustSamsaCLI(t, "", "topic", "describe", bs, "--topic", "cli")
	lines := strings.Split(strings.TrimSpace(describe), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Topic: cli\tTopicId: ") ||
		!strings.HasSuffix(lines[0], "\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000") {
		t.Fatalf("describe:\n%s", describe)
	}
	node := b.nodeID(t)
	for p := 0; p < 3; p++ {
		want := fmt.Sprintf("\tTopic: cli\tPartition: %d\tLeader: %d\tReplicas: %d\tIsr: %d", p, node, node, node)
		if lines[1+p] != want {
			t.Fatalf("describe partition %d: %q, want %q", p, lines[1+p], want)
		}
	}
	mustSamsaCLI(t, "", "topic", "alter", bs, "--topic", "cli", "--partitions", "4", "--config", "retention.ms=7200000")
	describe = mustSamsaCLI(t, "", "topic", "describe", bs, "--topic", "cli")
	if !strings.Contains(describe, "PartitionCount: 4\t") || !strings.Contains(describe, "Configs: retention.ms=7200000") {
		t.Fatalf("describe after alter:\n%s", describe)
	}

	out := mustSamsaCLI(t, "a\t1\nb\t2\nc\t3\n", "produce", bs, "--topic", "cli", "--partition", "2",
		"--key-separator", `\t`, "--header", "h=v", "--verbose")
	if out != "2@0\n2@1\n2@2\n" {
		t.Fatalf("produce --verbose: %q", out)
	}
	out = mustSamsaCLI(t, "", "consume", bs, "--topic", "cli", "--partition", "2", "--from-beginning",
		"--max-messages", "3", "--format", `%p %o %k=%v %h\n`)
	if out != "2 0 a=1 h=v\n2 1 b=2 h=v\n2 2 c=3 h=v\n" {
		t.Fatalf("consume from beginning: %q", out)
	}
	out = mustSamsaCLI(t, "", "consume", bs, "--topic", "cli", "--partition", "2", "--offset", "-1",
		"--max-messages", "1", "--format", `%o %k\n`)
	if out != "2 c\n" {
		t.Fatalf("consume --offset -1: %q", out)
	}
	out = mustSamsaCLI(t, "", "consume", bs, "--topic", "cli", "--partition", "2", "--offset", "1",
		"--max-messages", "2", "--format", `%o %v\n`)
	if out != "1 2\n2 3\n" {
		t.Fatalf("consume --offset 1: %q", out)
	}

	cluster := mustSamsaCLI(t, "", "cluster", bs, "--versions")
	for _, want := range []string{fmt.Sprintf("Controller: %d", node), b.addr[strings.LastIndexByte(b.addr, ':')+1:], "Produce(0): 0 to 11", "Fetch(1): 0 to 16", "ApiVersions(18): 0 to 4"} {
		if !strings.Contains(cluster, want) {
			t.Fatalf("cluster --versions lacks %q:\n%s", want, cluster)
		}
	}

	mustSamsaCLI(t, "", "topic", "delete", bs, "--topic", "cli")
	if out := mustSamsaCLI(t, "", "topic", "list", bs); out != "" {
		t.Fatalf("list after delete: %q", out)
	}
}

// TestServeRefusesBadConfig: an unknown key or a bad value stops startup
// with exit status 2 and a message naming the key.
func TestServeRefusesBadConfig(t *testing.T) {
	if brokerKind() != kindSamsa {
		t.Skip("starts the samsa binary")
	}
	for _, c := range []struct{ override, mention string }{
		{"bogus.key=1", "bogus.key"},
		{"num.partitions=zero", "num.partitions"},
		{"log.retention.ms=-5", "log.retention.ms"},
		{"listeners=PLAINTEXT:9092", "listeners"},
	} {
		_, stderr, err := runSamsaCLI(t, "", "serve", "--override", c.override, "--override", "log.dirs="+t.TempDir())
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Fatalf("serve --override %s: %v (stderr %q), want exit status 2", c.override, err, stderr)
		}
		if !strings.Contains(stderr, c.mention) {
			t.Fatalf("serve --override %s: stderr %q does not name %s", c.override, stderr, c.mention)
		}
	}
}

// TestSamsaCLIGroups drives `samsa group` against a real Samsa broker: a
// group consumer commits, describe shows offsets and lag, reset-offsets is
// a dry run unless --execute, delete-offsets and delete work.
func TestSamsaCLIGroups(t *testing.T) {
	if brokerKind() != kindSamsa {
		t.Skip("the samsa CLI binary is built only for the samsa broker kind")
	}
	b := startBroker(t, withOverrides("group.initial.rebalance.delay.ms=0"))
	bs := "--bootstrap-server=" + b.addr
	mustSamsaCLI(t, "", "topic", "create", bs, "--topic", "gcli", "--partitions", "1")
	mustSamsaCLI(t, "a\nb\nc\nd\n", "produce", bs, "--topic", "gcli")
	out := mustSamsaCLI(t, "", "consume", bs, "--topic", "gcli", "--group", "cg", "--from-beginning", "--max-messages", "3", "--format", `%o %v\n`)
	if out != "0 a\n1 b\n2 c\n" {
		t.Fatalf("group consume: %q", out)
	}
	if out := mustSamsaCLI(t, "", "group", "list", bs); out != "cg\n" {
		t.Fatalf("group list: %q", out)
	}
	describe := mustSamsaCLI(t, "", "group", "describe", bs, "--group", "cg")
	want := "GROUP  TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID\n" +
		"cg     gcli   0          3               4               1    -            -     -\n"
	if describe != want {
		t.Fatalf("group describe:\n%s\nwant:\n%s", describe, want)
	}
	dry := mustSamsaCLI(t, "", "group", "reset-offsets", bs, "--group", "cg", "--topic", "gcli", "--to-earliest")
	if dry != "GROUP  TOPIC  PARTITION  NEW-OFFSET\ncg     gcli   0          0\n" {
		t.Fatalf("reset dry run: %q", dry)
	}
	if got := mustSamsaCLI(t, "", "group", "describe", bs, "--group", "cg"); got != describe {
		t.Fatalf("dry run changed the commit:\n%s", got)
	}
	mustSamsaCLI(t, "", "group", "reset-offsets", bs, "--group", "cg", "--topic", "gcli", "--to-offset", "1", "--execute")
	out = mustSamsaCLI(t, "", "consume", bs, "--topic", "gcli", "--group", "cg", "--max-messages", "3", "--format", `%o %v\n`)
	if out != "1 b\n2 c\n3 d\n" {
		t.Fatalf("consume after reset to 1: %q", out)
	}
	if out := mustSamsaCLI(t, "", "group", "delete-offsets", bs, "--group", "cg", "--topic", "gcli"); out != "TOPIC  PARTITION  STATUS\ngcli   0          Successful\n" {
		t.Fatalf("delete-offsets: %q", out)
	}
	if out := mustSamsaCLI(t, "", "group", "delete", bs, "--group", "cg"); out != "Deletion of requested consumer groups ('cg') was successful.\n" {
		t.Fatalf("delete: %q", out)
	}
	if _, stderr, err := runSamsaCLI(t, "", "group", "describe", bs, "--group", "cg"); err == nil || !strings.Contains(stderr, "Consumer group 'cg' does not exist.") {
		t.Fatalf("describe after delete: %v %q", err, stderr)
	}
}
