package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// groupRows are the rows of --groups at a scale of 0.001 (2 members, 12
// partitions, 2 parallel committers).
var groupRows = []string{
	"| join 2 members p12 cooperative-sticky (ms) | ",
	"| one leaves 2 members p12 cooperative-sticky (ms) | ",
	"| join 2 members p12 range (eager) (ms) | ",
	"| one leaves 2 members p12 range (eager) (ms) | ",
	"| offset commit p12 1 committer (commits/s) | ",
	"| offset commit p12 1 committer (partition-offsets/s) | ",
	"| offset commit p12 2 committers (commits/s) | ",
	"| offset commit p12 2 committers (partition-offsets/s) | ",
}

const groupHeader = "| workload | samsa | kfake | ratio | samsa CPU s | kfake CPU s |"

func runGroupBench(t *testing.T, samsaBin string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "groups.md")
	err := run(options{samsaBin: samsaBin, scale: 0.001, out: out, ready: 30 * time.Second, groups: true, heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	table := string(raw)
	if first, _, _ := strings.Cut(table, "\n"); first != groupHeader {
		t.Fatalf("header %q", first)
	}
	if got := strings.Count(table, "\n| "); got != len(groupRows) { // header first, the separator starts "|-"
		t.Errorf("%d data rows, want %d:\n%s", got, len(groupRows), table)
	}
	return table
}

// TestGroupBenchAgainstKfakeOnly runs the consumer-group workloads at a tiny
// scale with the samsa broker unavailable.
func TestGroupBenchAgainstKfakeOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	table := runGroupBench(t, filepath.Join(t.TempDir(), "missing-samsa"))
	for _, row := range groupRows {
		if !strings.Contains(table, row+"unavailable | ") {
			t.Errorf("table lacks %q:\n%s", row, table)
		}
	}
	if strings.Contains(table, "failed") || !strings.Contains(table, "- samsa unavailable for offset commit p12 2 committers") {
		t.Errorf("kfake failed or notes missing:\n%s", table)
	}
	if got := strings.Count(table, " | n/a | unavailable | "); got != len(groupRows) {
		t.Errorf("%d rows with a kfake figure, want %d:\n%s", got, len(groupRows), table)
	}
}

// TestGroupBenchAgainstSamsa runs the same against the binary in SAMSA_BIN.
func TestGroupBenchAgainstSamsa(t *testing.T) {
	bin := os.Getenv("SAMSA_BIN")
	if bin == "" || testing.Short() {
		t.Skip("SAMSA_BIN not set")
	}
	table := runGroupBench(t, bin)
	if strings.Contains(table, "failed") || strings.Contains(table, "unavailable") || strings.Count(table, "| n/a |") != 0 {
		t.Errorf("a workload failed:\n%s", table)
	}
	for _, row := range groupRows {
		if !strings.Contains(table, row) {
			t.Errorf("table lacks %q:\n%s", row, table)
		}
	}
}

func TestAssignmentTrackerSettled(t *testing.T) {
	tracker := newAssignmentTracker(3)
	give := func(member int, partitions ...int32) {
		tracker.update(member, map[string][]int32{"t": partitions}, true)
	}
	give(0, 0, 1)
	give(1, 2, 3)
	if tracker.settled(6) {
		t.Fatal("settled with partitions 4 and 5 unowned")
	}
	give(2, 4, 3)
	if tracker.settled(6) {
		t.Fatal("settled with partition 3 owned twice")
	}
	tracker.update(2, map[string][]int32{"t": {3}}, false)
	give(2, 5)
	if !tracker.settled(6) {
		t.Fatal("not settled with every partition owned once, two each")
	}
	tracker.deactivate(0)
	if tracker.settled(6) {
		t.Fatal("settled without the departed member's partitions")
	}
	give(1, 0)
	give(2, 1)
	if !tracker.settled(6) {
		t.Fatal("not settled after the rest took over")
	}
}

func TestAssignmentTrackerNeedsBalance(t *testing.T) {
	tracker := newAssignmentTracker(2)
	tracker.update(0, map[string][]int32{"t": {0, 1, 2}}, true)
	tracker.update(1, map[string][]int32{"t": {3}}, true)
	if tracker.settled(4) {
		t.Fatal("settled with a 3/1 split of 4 partitions")
	}
}

func TestSummarize(t *testing.T) {
	median, spread := summarize([]float64{30, 10, 20})
	if median != 20 || spread != (valueRange{low: 10, high: 30, present: true}) {
		t.Fatalf("median %v spread %+v", median, spread)
	}
	median, spread = summarize([]float64{4, 2})
	if median != 3 || spread.low != 2 || spread.high != 4 {
		t.Fatalf("median %v spread %+v", median, spread)
	}
	if median, spread = summarize(nil); median != 0 || spread.present {
		t.Fatalf("empty: median %v spread %+v", median, spread)
	}
}
