package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	verdict := "PASS: every anomaly count is 0"
	if r.failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "# Samsa chaos run: %s\n\n", verdict)
	fmt.Fprintf(&b, "- profile `%s`, seed `%d` (replay: `go run ./scripts/chaos --profile %s --seed %d`)\n",
		r.options.profile.name, r.options.seed, r.options.profile.name, r.options.seed)
	fmt.Fprintf(&b, "- started %s, fault phase %v, total %v\n", r.started.UTC().Format(time.RFC3339),
		r.options.profile.duration, time.Since(r.started).Round(time.Second))
	network := "private network namespaces (one per node, veth pairs to a bridge); partitions are blackhole routes"
	if r.networkNote != "" {
		network = "loopback: " + r.networkNote
	}
	fmt.Fprintf(&b, "- network: %s\n", network)
	fmt.Fprintf(&b, "- workload: %d idempotent acks=all producers, %d group consumers, topic `%s` with %d partitions, rf=3, min.insync.replicas=2\n",
		r.options.profile.producers, r.options.profile.consumers, topicName, r.options.profile.partitions)
	if r.options.keepData {
		fmt.Fprintf(&b, "- data dirs and node logs kept in `%s`\n", r.dataDir)
	}
	h := r.history
	fmt.Fprintf(&b, "\n## Operations\n\n| operation | count |\n|---|---|\n")
	fmt.Fprintf(&b, "| produce attempted | %d |\n| produce acknowledged | %d |\n| produce failed or indeterminate | %d |\n",
		h.attempts, len(h.acks), h.failures)
	fmt.Fprintf(&b, "| records read by group consumers | %d |\n| offset commits acknowledged (partition-level) | %d |\n| offset commits failed | %d |\n",
		len(h.reads), len(h.commits), h.commitErrors)
	fmt.Fprintf(&b, "| records in the final read | %d |\n| serving again after healing | %v |\n", r.finalRecords, r.recovery.Round(time.Millisecond))
	fmt.Fprintf(&b, "\n## Faults (%d)\n\n", len(r.faults))
	counts := map[faultKind]int{}
	for _, f := range r.faults {
		counts[f.kind]++
	}
	for _, kind := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "- %s: %d\n", kind, counts[kind])
	}
	b.WriteString("\n```\n")
	for _, f := range r.faults {
		b.WriteString(f.String() + "\n")
	}
	b.WriteString("```\n\n## Anomalies (all must be 0)\n\n| check | count | meaning |\n|---|---|---|\n")
	for _, a := range r.anomalies {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", a.name, a.count, a.meaning)
	}
	for _, a := range r.anomalies {
		for _, example := range a.examples {
			fmt.Fprintf(&b, "- %s: %s\n", a.name, example)
		}
	}
	if len(r.replicaLines) > 0 {
		b.WriteString("\n## Replicas (SHA-256 prefix of the stored batches below the high watermark)\n\n```\n")
		for _, line := range r.replicaLines {
			b.WriteString(line + "\n")
		}
		b.WriteString("```\n")
	}
	for _, message := range r.errors {
		fmt.Fprintf(&b, "\nERROR: %s\n", message)
	}
	return b.String()
}
