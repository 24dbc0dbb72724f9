package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchAgainstKfakeOnly runs every workload at a tiny scale with the
// samsa broker unavailable and checks the table's shape.
func TestBenchAgainstKfakeOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	out := filepath.Join(t.TempDir(), "bench.md")
	err := run(options{samsaBin: filepath.Join(t.TempDir(), "missing-samsa"), scale: 0.001, out: out, ready: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	table := string(raw)
	lines := strings.Split(table, "\n")
	if lines[0] != "| workload | samsa | kfake | ratio | samsa CPU s | kfake CPU s | samsa peak RSS MiB | kfake peak RSS MiB |" {
		t.Fatalf("header %q", lines[0])
	}
	wantRows := []string{
		"| produce 100 B p1 acks=1 (records/s) | unavailable | ",
		"| consume 1 KiB p6 acks=all (records/s) | unavailable | ",
		"| e2e 100B @10000/s acks=all p99.9 (ms) | unavailable | ",
	}
	for _, row := range wantRows {
		if !strings.Contains(table, row) {
			t.Errorf("table lacks %q:\n%s", row, table)
		}
	}
	if got := strings.Count(table, "| n/a |"); got != 19 {
		t.Errorf("%d rows, want 19:\n%s", got, table)
	}
	if strings.Contains(table, "| failed |") || !strings.Contains(table, "- samsa unavailable for e2e") {
		t.Errorf("unexpected failures or missing notes:\n%s", table)
	}
}

func TestBrokerThatExitsIsUnavailable(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake-samsa")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho no serve here >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := startSamsa(script, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "broker process exited") || !strings.Contains(err.Error(), "no serve here") {
		t.Fatalf("err %v", err)
	}
}
