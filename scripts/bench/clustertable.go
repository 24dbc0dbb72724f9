package main

import (
	"fmt"
	"os"
	"strings"
)

// clusterTable runs every cluster workload (--cluster) and returns the
// markdown table with its notes.
func clusterTable(o options) (string, error) {
	if o.samsaBin == "" {
		return "", fmt.Errorf("--cluster needs --samsa-bin")
	}
	workloads := clusterWorkloads(o.scale)
	results := map[string]map[string]*cellSamples{}
	var rows, notes []string
	for _, w := range workloads {
		rows = append(rows, w.rows...)
		for _, target := range w.targets {
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, target.column)
			cells, workloadNotes := runClusterWorkload(o, target, w)
			notes = append(notes, workloadNotes...)
			for row, cell := range cells {
				if results[row] == nil {
					results[row] = map[string]*cellSamples{}
				}
				results[row][target.column] = cell
			}
		}
	}
	table := renderClusterTable(rows, results)
	table += "\n" + strings.Join(clusterNotes(o), "\n") + "\n"
	for _, note := range notes {
		table += "- " + note + "\n"
	}
	return table, nil
}

func clusterNotes(o options) []string {
	return []string{
		fmt.Sprintf("- %s: three samsa processes (node.id 1-3, process.roles=broker,controller, one Raft voter each) on loopback; %s: one process; a fresh deployment per workload, data in a temp dir", threeNodes.column, oneNode.column),
		"- topics: replication factor 3 and min.insync.replicas=2 on the cluster, 1 and 1 on one node; every producer uses acks=all (franz-go, idempotent); client and brokers share the machine",
		fmt.Sprintf("- throughput rows: median (min-max) of %d runs, each a fresh 6-partition topic, one producer (client default linger), then one consumer from the earliest offset; ratio is cluster/one node", max(o.repeats, 1)),
		"- CPU s: user+system seconds of all broker processes of the deployment during one run of the step (median over runs), from /proc/PID/stat; peak RSS: the largest VmHWM of any broker process over the workload",
		"- e2e: one run, linger 0, 1 partition, latency from send to receipt by a consumer (records are visible once every in-sync replica has them)",
		fmt.Sprintf("- failover: a one-partition topic; a franz-go producer sends one 100 B record at a time (ProduceSync, acks=all, linger 0, metadata refresh and retry backoff %s); the partition leader gets kill -9; \"new leader in Metadata\" is when a survivor's Metadata first names another leader, \"first ack\" when the producer has the ack of the first record it sent after the killed process was reaped (the old leader cannot have acknowledged it), both from the SIGKILL; the killed node is restarted and back in the ISR before the next run; median (min-max) of %d runs", failoverRetryWait, max(o.repeats, 1)),
		"- a crashed broker loses its leaderships when the active controller fences it, broker.session.timeout.ms (default 9000) after its last heartbeat, so that timeout dominates; the second failover workload runs with --override broker.session.timeout.ms=3000 --override broker.heartbeat.interval.ms=500; when the killed node was also the active controller, the Raft election comes first and the new controller restarts every session clock",
	}
}

// renderClusterTable prints a row per figure with the cluster and one-node
// columns; "—" marks a workload a target does not run.
func renderClusterTable(rows []string, results map[string]map[string]*cellSamples) string {
	var b strings.Builder
	cluster, single := threeNodes.column, oneNode.column
	fmt.Fprintf(&b, "| workload | %s | %s | ratio | %s CPU s | %s CPU s | %s peak RSS MiB | %s peak RSS MiB |\n",
		cluster, single, cluster, single, cluster, single)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		c, s := results[row][cluster], results[row][single]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", row,
			valueCell(c), valueCell(s), ratioCell(c, s), cpuCell(c), cpuCell(s), rssCell(c), rssCell(s))
	}
	return b.String()
}

const notRun = "—"

func valueCell(cell *cellSamples) string {
	if cell == nil {
		return notRun
	}
	if cell.state != "" {
		return cell.state
	}
	if len(cell.values) == 0 {
		return "failed"
	}
	median, spread := summarize(cell.values)
	if len(cell.values) == 1 {
		return formatFigure(median)
	}
	return fmt.Sprintf("%s (%s-%s)", formatFigure(median), formatFigure(spread.low), formatFigure(spread.high))
}

// formatFigure keeps three or so significant digits.
func formatFigure(value float64) string {
	switch {
	case value >= 100:
		return fmt.Sprintf("%.0f", value)
	case value >= 10:
		return fmt.Sprintf("%.1f", value)
	default:
		return fmt.Sprintf("%.2f", value)
	}
}

func ratioCell(cluster, single *cellSamples) string {
	if !measured(cluster) || !measured(single) {
		return "n/a"
	}
	c, _ := summarize(cluster.values)
	s, _ := summarize(single.values)
	if s <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", c/s)
}

func measured(cell *cellSamples) bool {
	return cell != nil && cell.state == "" && len(cell.values) > 0
}

func cpuCell(cell *cellSamples) string {
	if !measured(cell) || len(cell.cpu) == 0 {
		return rowState(cell)
	}
	median, _ := summarize(cell.cpu)
	return fmt.Sprintf("%.2f", median)
}

func rssCell(cell *cellSamples) string {
	if !measured(cell) {
		return rowState(cell)
	}
	return fmt.Sprintf("%.0f", cell.rss)
}

// rowState is what a cell without a figure shows.
func rowState(cell *cellSamples) string {
	if cell == nil || cell.state == "" {
		return notRun
	}
	return cell.state
}
