package main

import (
	"fmt"
	"slices"
)

// maxExamples bounds the examples kept per anomaly for the report.
const maxExamples = 5

// anomaly is one check's outcome: a count (0 is a pass) and a few examples.
type anomaly struct {
	name     string
	meaning  string
	count    int
	examples []string
}

func (a *anomaly) add(format string, args ...any) {
	a.count++
	if len(a.examples) < maxExamples {
		a.examples = append(a.examples, fmt.Sprintf(format, args...))
	}
}

// finalRead is the full read of every partition after healing: the records
// of each partition in offset order, up to its high watermark.
type finalRead map[int32][]observation

// checkHistory runs every history check: lost, duplicate, order,
// inconsistent offsets, committed offsets moving backwards.
// finalCommitted is the group's committed offset per partition fetched
// after healing (absent: none).
func checkHistory(h historySnapshot, final finalRead, finalCommitted map[int32]int64) []*anomaly {
	return []*anomaly{
		checkLost(h.acks, final),
		checkLostReads(h.reads, final),
		checkDuplicates(final),
		checkOrder(h.acks, final),
		checkInconsistentOffsets(h, final),
		checkCommits(h.commits, finalCommitted),
		checkSkipped(h.reads, final, finalCommitted),
	}
}

// checkLost counts acknowledged values missing from the final read.
func checkLost(acks []ack, final finalRead) *anomaly {
	result := &anomaly{name: "lost acknowledged writes", meaning: "an acknowledged value is not in the final read"}
	present := map[string]bool{}
	for _, records := range final {
		for _, record := range records {
			present[record.value] = true
		}
	}
	for _, a := range acks {
		if !present[a.value] {
			result.add("%s acknowledged at partition %d offset %d", a.value, a.partition, a.offset)
		}
	}
	return result
}

// checkLostReads counts values a group consumer read that are not in the
// final read: records served to a consumer (above the high watermark, or
// later truncated) and then lost.
func checkLostReads(reads []observation, final finalRead) *anomaly {
	result := &anomaly{name: "lost reads", meaning: "a value a consumer read is not in the final read"}
	present := map[string]bool{}
	for _, records := range final {
		for _, record := range records {
			present[record.value] = true
		}
	}
	reported := map[string]bool{}
	for _, read := range reads {
		if !present[read.value] && !reported[read.value] {
			reported[read.value] = true
			result.add("%s read at partition %d offset %d", read.value, read.partition, read.offset)
		}
	}
	return result
}

// checkDuplicates counts values stored more than once.
func checkDuplicates(final finalRead) *anomaly {
	result := &anomaly{name: "duplicates", meaning: "a value appears at more than one offset in the final read"}
	seen := map[string]observation{}
	for _, partition := range sortedPartitions(final) {
		for _, record := range final[partition] {
			if first, ok := seen[record.value]; ok {
				result.add("%s at %d/%d and %d/%d", record.value, first.partition, first.offset, record.partition, record.offset)
				continue
			}
			seen[record.value] = record
		}
	}
	return result
}

// checkOrder counts order violations: one producer's acknowledged records
// to one partition must get increasing offsets in send order, and the
// final read must hold each producer's records of a partition in send
// order (the idempotent producer's promise).
func checkOrder(acks []ack, final finalRead) *anomaly {
	result := &anomaly{name: "order violations", meaning: "one producer's records of a partition out of send order (acks or final read)"}
	type stream struct {
		producer  int
		partition int32
	}
	byStream := map[stream][]ack{}
	for _, a := range acks {
		byStream[stream{a.producer, a.partition}] = append(byStream[stream{a.producer, a.partition}], a)
	}
	for key, list := range byStream {
		slices.SortFunc(list, func(x, y ack) int { return x.sequence - y.sequence })
		for i := 1; i < len(list); i++ {
			if list[i].offset <= list[i-1].offset {
				result.add("producer %d partition %d: %s acked at %d after %s at %d", key.producer, key.partition,
					list[i].value, list[i].offset, list[i-1].value, list[i-1].offset)
			}
		}
	}
	for _, partition := range sortedPartitions(final) {
		last := map[int]int{}
		for _, record := range final[partition] {
			producer, sequence, ok := parseValue(record.value)
			if !ok {
				continue
			}
			if previous, seen := last[producer]; seen && sequence < previous {
				result.add("partition %d offset %d: %s after sequence %d", partition, record.offset, record.value, previous)
			}
			last[producer] = max(last[producer], sequence)
		}
	}
	return result
}

// checkInconsistentOffsets counts offsets that ever held two different
// values across acknowledgements, consumer reads and the final read.
func checkInconsistentOffsets(h historySnapshot, final finalRead) *anomaly {
	result := &anomaly{name: "inconsistent offsets", meaning: "an offset that held two different values (acks, consumer reads, final read)"}
	type position struct {
		partition int32
		offset    int64
	}
	values := map[position]string{}
	reported := map[position]bool{}
	note := func(partition int32, offset int64, value, source string) {
		key := position{partition, offset}
		previous, ok := values[key]
		if !ok {
			values[key] = value
			return
		}
		if previous != value && !reported[key] {
			reported[key] = true
			result.add("partition %d offset %d: %s, then %s (%s)", partition, offset, previous, value, source)
		}
	}
	for _, partition := range sortedPartitions(final) {
		for _, record := range final[partition] {
			note(record.partition, record.offset, record.value, "final read")
		}
	}
	for _, a := range h.acks {
		note(a.partition, a.offset, a.value, "ack")
	}
	for _, read := range h.reads {
		note(read.partition, read.offset, read.value, "consumer read")
	}
	return result
}

// checkCommits counts committed offsets moving backwards: a commit lower
// than one acknowledged before it was sent, and a final committed offset
// lower than an acknowledged commit.
func checkCommits(commits []commit, finalCommitted map[int32]int64) *anomaly {
	result := &anomaly{name: "committed offsets moving backwards", meaning: "a commit below one acknowledged before it was sent, or a final committed offset below an acknowledged commit"}
	byPartition := map[int32][]commit{}
	for _, c := range commits {
		byPartition[c.partition] = append(byPartition[c.partition], c)
	}
	for partition, list := range byPartition {
		slices.SortFunc(list, func(x, y commit) int { return x.acked.Compare(y.acked) })
		highest := commit{offset: -1}
		next := 0 // list[:next] were acknowledged before the commit at hand was sent
		bySent := slices.Clone(list)
		slices.SortFunc(bySent, func(x, y commit) int { return x.sent.Compare(y.sent) })
		for _, c := range bySent {
			for next < len(list) && list[next].acked.Before(c.sent) {
				if list[next].offset > highest.offset {
					highest = list[next]
				}
				next++
			}
			if c.offset < highest.offset {
				result.add("partition %d: commit %v after commit %v", partition, c, highest)
			}
		}
		for _, c := range list {
			highest.offset = max(highest.offset, c.offset)
		}
		if final, ok := finalCommitted[partition]; highest.offset >= 0 && (!ok || final < highest.offset) {
			result.add("partition %d: final committed offset %d (present %v) below acknowledged %d", partition, final, ok, highest.offset)
		}
	}
	return result
}

// checkSkipped counts records below the group's final committed offset
// that no group consumer ever read: the group claims to have processed
// them, yet they were never delivered.
func checkSkipped(reads []observation, final finalRead, finalCommitted map[int32]int64) *anomaly {
	result := &anomaly{name: "records skipped by the group", meaning: "a record below the final committed offset that no consumer of the group read"}
	type position struct {
		partition int32
		offset    int64
	}
	read := map[position]bool{}
	for _, observation := range reads {
		read[position{observation.partition, observation.offset}] = true
	}
	for _, partition := range sortedPartitions(final) {
		committed := finalCommitted[partition]
		for _, record := range final[partition] {
			if record.offset < committed && !read[position{partition, record.offset}] {
				result.add("partition %d offset %d (%s), committed %d", partition, record.offset, record.value, committed)
			}
		}
	}
	return result
}

func sortedPartitions(final finalRead) []int32 {
	var partitions []int32
	for partition := range final {
		partitions = append(partitions, partition)
	}
	slices.Sort(partitions)
	return partitions
}
