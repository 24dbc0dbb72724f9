package main

import (
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSuiteQuickKfakeOnly runs every suite workload at the smallest scale
// with Samsa and NATS unavailable, into a document with hand-written text
// around the markers, and checks the section, the chart and the text.
func TestSuiteQuickKfakeOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "benchmarks.md")
	before, after := "# Benchmarks\n\nHand-written analysis.\n\n", "\n## Later section\n\nMore text.\n"
	if err := os.WriteFile(doc, []byte(before+suiteBeginMarker+"\nold figures\n"+suiteEndMarker+"\n"+after), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options{quick: true, scale: 0.001, repeats: 1, ready: 5 * time.Second, workloadLimit: 2 * time.Minute,
		samsaBin: filepath.Join(dir, "missing-samsa"), peersDir: filepath.Join(dir, "no-peers"), doc: doc, keepCache: true}
	if err := runSuite(o); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if !strings.HasPrefix(text, before+suiteBeginMarker+"\n") || !strings.HasSuffix(text, suiteEndMarker+"\n"+after) || strings.Contains(text, "old figures") {
		t.Fatalf("document around the markers changed:\n%s", text)
	}
	for _, want := range []string{
		"| workload | samsa | kfake mem | kfake disk | nats js file | samsa vs kfake mem | samsa vs kfake disk | samsa vs nats | samsa of limit |",
		"| produce 100 B p6 acks=all (records/s) | unavailable | ",
		"| consume 1 KiB p6 acks=all cold (records/s) | unavailable | ",
		"| produce 100 B p6 acks=all keys (records/s) | unavailable | ",
		"| e2e 100 B p1 acks=all @100,000/s 3 nodes rf=3 p99.9 (ms) | unavailable | n/a | n/a | n/a |",
		"| RSS per idle connection, 10 connections (KiB) | unavailable | ",
		"- NATS unavailable: peers module: ",
		"- samsa unavailable for 100 B p6 acks=all: ",
		"- kfake mem: long run: log start offset ",
		"Machine limits, measured at the start of this run",
		"![Samsa and its peers, throughput and latency per workload](benchmarks-suite.png)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	if strings.Contains(text, "| failed |") || strings.Contains(text, ": failed ") {
		t.Errorf("a workload failed:\n%s", text)
	}
	// Every kfake figure of the main table is a number: no cell of the
	// kfake columns says unavailable, failed or is empty.
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| produce 100 B p6 acks=all (records/s) |") {
			continue
		}
		cells := strings.Split(line, "|")
		if cells[3] == " unavailable " || cells[4] == " unavailable " || strings.TrimSpace(cells[5]) != "unavailable" {
			t.Errorf("row %q", line)
		}
	}
	chart, err := os.Open(filepath.Join(dir, "benchmarks-suite.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer chart.Close()
	img, err := png.Decode(chart)
	if err != nil {
		t.Fatal(err)
	}
	// 18 produce and consume rows and 2 latency rows have two kfake
	// figures; the cluster rows have none and stay out of the chart.
	if groups := len(suiteTargetNames)*chartBar + chartGap; img.Bounds().Dx() != 2*chartMargin+20*groups {
		t.Errorf("chart width %d, want 20 groups", img.Bounds().Dx())
	}
	if !strings.Contains(text, "\n20. e2e 100 B p1 acks=all @100,000/s p99 (ms)\n") || strings.Contains(text, "\n21. ") {
		t.Errorf("chart legend does not list the 20 groups")
	}
}

func TestReplaceSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.md")
	if err := os.WriteFile(path, []byte("intro"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if want := "intro\n\n" + suiteBeginMarker + "\nsecond\n" + suiteEndMarker + "\n"; string(raw) != want {
		t.Fatalf("got %q want %q", raw, want)
	}
	if err := os.WriteFile(path, []byte(suiteEndMarker+"\n"+suiteBeginMarker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, "x\n"); !errors.Is(err, errMarkers) {
		t.Fatalf("reversed markers: %v", err)
	}
}
