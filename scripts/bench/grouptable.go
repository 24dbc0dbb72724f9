package main

import (
	"fmt"
	"strings"
	"time"
)

// groupHeartbeat is the members' default heartbeat interval in --groups mode:
// members learn of a rebalance from a heartbeat answer, so with the client's
// default of 3 s every join or leave figure would be mostly that timer.
const groupHeartbeat = 100 * time.Millisecond

// renderGroupTable prints each figure as "median (min-max)"; the ratio is
// samsa's median over kfake's.
func renderGroupTable(rows []string, results map[string]map[string]figure) string {
	var b strings.Builder
	b.WriteString("| workload | samsa | kfake | ratio | samsa CPU s | kfake CPU s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		s, k := results[row]["samsa"], results[row]["kfake"]
		ratio := "n/a"
		if s.failure == "" && k.failure == "" && k.value > 0 {
			ratio = fmt.Sprintf("%.2f", s.value/k.value)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row,
			spreadCell(s), spreadCell(k), ratio, cell(s, s.cpu, "%.2f"), cell(k, k.cpu, "%.2f"))
	}
	return b.String()
}

func spreadCell(f figure) string {
	if f.failure != "" {
		return f.failure
	}
	if !f.spread.present {
		return fmt.Sprintf("%.1f", f.value)
	}
	return fmt.Sprintf("%.1f (%.1f-%.1f)", f.value, f.spread.low, f.spread.high)
}

func groupNotes(heartbeat time.Duration) []string {
	return []string{
		"figures are the median (min-max) of 3 runs on one fresh broker per workload; CPU s is the broker's CPU for all runs of the workload, shared by its rows",
		"ratio is samsa/kfake: below 1 is better for times (ms), above 1 for rates (/s)",
		fmt.Sprintf("members: franz-go kgo, each its own client, heartbeat %s, auto-commit off; samsa runs with group.initial.rebalance.delay.ms=0", heartbeat),
		"join: from starting all members at once until their assignments cover every partition once, balanced; one leaves: from closing one member (LeaveGroup) until the rest are in that state again",
		"offset commit: standalone commits (generation -1, no member id) of every partition per request, each committer its own client and group",
	}
}
