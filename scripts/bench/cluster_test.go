package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClusterModeEndToEnd builds samsa, runs every --cluster workload at a
// tiny scale once, and checks the table: every row present, every figure
// measured (no "unavailable" or "failed" cell), failover only on the
// cluster.
func TestClusterModeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds samsa and starts clusters")
	}
	bin := buildSamsa(t)
	out := filepath.Join(t.TempDir(), "cluster.md")
	err := run(options{cluster: true, samsaBin: bin, scale: 0.001, repeats: 1, out: out,
		ready: 30 * time.Second, workloadLimit: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	table := string(raw)
	lines := strings.Split(table, "\n")
	const header = "| workload | 3 nodes rf=3 | 1 node rf=1 | ratio | 3 nodes rf=3 CPU s | 1 node rf=1 CPU s | 3 nodes rf=3 peak RSS MiB | 1 node rf=1 peak RSS MiB |"
	if lines[0] != header {
		t.Fatalf("header %q", lines[0])
	}
	both := []string{
		"produce 100 B p6 acks=all (records/s)", "consume 100 B p6 acks=all (records/s)",
		"produce 1 KiB p6 acks=all (records/s)", "consume 1 KiB p6 acks=all (records/s)",
		"e2e 100B @10000/s acks=all p1 p50 (ms)", "e2e 100B @10000/s acks=all p1 p99 (ms)",
		"e2e 100B @10000/s acks=all p1 p99.9 (ms)",
	}
	clusterOnly := []string{
		"failover (default session 9 s): kill -9 leader to new leader in Metadata (ms)",
		"failover (default session 9 s): kill -9 leader to first acks=all ack (ms)",
		"failover (session 3 s, heartbeat 0.5 s): kill -9 leader to new leader in Metadata (ms)",
		"failover (session 3 s, heartbeat 0.5 s): kill -9 leader to first acks=all ack (ms)",
	}
	cells := tableCells(lines)
	if len(cells) != len(both)+len(clusterOnly) {
		t.Errorf("%d rows, want %d:\n%s", len(cells), len(both)+len(clusterOnly), table)
	}
	for _, row := range append(both, clusterOnly...) {
		row, ok := cells[row]
		if !ok {
			t.Errorf("no row %q", row)
			continue
		}
		if _, err := strconv.ParseFloat(row[0], 64); err != nil {
			t.Errorf("cluster cell of %q is %q", row, row[0])
		}
	}
	for _, row := range both {
		if _, err := strconv.ParseFloat(cells[row][1], 64); err != nil {
			t.Errorf("one-node cell of %q is %q", row, cells[row][1])
		}
	}
	for _, row := range clusterOnly {
		if got := cells[row][1]; got != "—" {
			t.Errorf("one-node cell of %q is %q, want —", row, got)
		}
	}
	if strings.Contains(table, "unavailable") || strings.Contains(table, "failed") {
		t.Errorf("unmeasured cells:\n%s", table)
	}
	if got := strings.Count(table, "- failover ("); got != 2 {
		t.Errorf("%d per-run failover notes, want 2:\n%s", got, table)
	}
}

// tableCells maps each row name to its cells after the name.
func tableCells(lines []string) map[string][]string {
	cells := map[string][]string{}
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		fields := strings.Split(strings.Trim(line, "| "), " | ")
		cells[fields[0]] = fields[1:]
	}
	return cells
}

// buildSamsa compiles ./cmd/samsa into the test's temp dir.
func buildSamsa(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "samsa")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	output, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "samsa/cmd/samsa").CombinedOutput()
	if err != nil {
		t.Fatalf("go build samsa: %v\n%s", err, output)
	}
	return bin
}

func TestClusterNodeThatExitsIsUnavailable(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake-samsa")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho no serve here >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := startLocalCluster(script, 3, 5*time.Second)
	if !errors.Is(err, errBrokerExited) || !strings.Contains(err.Error(), "no serve here") {
		t.Fatalf("err %v", err)
	}
}

func TestRenderClusterTable(t *testing.T) {
	results := map[string]map[string]*cellSamples{
		"produce": {
			threeNodes.column: {values: []float64{300, 100, 200}, cpu: []float64{1, 3, 2}, rss: 40},
			oneNode.column:    {values: []float64{400}, cpu: []float64{0.5}, rss: 20},
		},
		"failover": {threeNodes.column: {values: []float64{9000.4, 8800, 9100}, rss: 30}},
		"e2e":      {threeNodes.column: {state: "failed"}, oneNode.column: {state: "unavailable"}},
	}
	got := renderClusterTable([]string{"produce", "failover", "e2e"}, results)
	want := []string{
		"| produce | 200 (100-300) | 400 | 0.50 | 2.00 | 0.50 | 40 | 20 |",
		"| failover | 9000 (8800-9100) | — | n/a | — | — | 30 | — |",
		"| e2e | failed | unavailable | n/a | failed | unavailable | failed | unavailable |",
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2+len(want) {
		t.Fatalf("table:\n%s", got)
	}
	for i, line := range want {
		if lines[2+i] != line {
			t.Errorf("line %d: got %q, want %q", i, lines[2+i], line)
		}
	}
}
