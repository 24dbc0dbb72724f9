package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func counts(anomalies []*anomaly) map[string]int {
	result := map[string]int{}
	for _, a := range anomalies {
		result[a.name] = a.count
	}
	return result
}

func TestChecksPassOnACleanHistory(t *testing.T) {
	acks := []ack{
		{producer: 0, sequence: 0, value: "p0-0", partition: 0, offset: 0},
		{producer: 0, sequence: 1, value: "p0-1", partition: 0, offset: 1},
		{producer: 1, sequence: 0, value: "p1-0", partition: 1, offset: 0},
	}
	final := finalRead{
		0: {{0, 0, "p0-0"}, {0, 1, "p0-1"}, {0, 2, "p0-2"}}, // p0-2 written, never acknowledged: fine
		1: {{1, 0, "p1-0"}},
	}
	start := time.Unix(100, 0)
	commits := []commit{
		{partition: 0, offset: 1, sent: start, acked: start.Add(time.Second)},
		{partition: 0, offset: 3, sent: start.Add(2 * time.Second), acked: start.Add(3 * time.Second)},
	}
	reads := []observation{{0, 0, "p0-0"}, {0, 1, "p0-1"}, {0, 2, "p0-2"}}
	history := historySnapshot{acks: acks, reads: reads, commits: commits}
	for name, count := range counts(checkHistory(history, final, map[int32]int64{0: 3})) {
		if count != 0 {
			t.Errorf("%s = %d, want 0", name, count)
		}
	}
}

func TestChecksCountEachAnomaly(t *testing.T) {
	acks := []ack{
		{producer: 0, sequence: 0, value: "p0-0", partition: 0, offset: 0},
		{producer: 0, sequence: 1, value: "p0-1", partition: 0, offset: 1},
		{producer: 0, sequence: 2, value: "p0-2", partition: 0, offset: 5}, // lost
		{producer: 1, sequence: 0, value: "p1-0", partition: 1, offset: 1},
		{producer: 1, sequence: 1, value: "p1-1", partition: 1, offset: 0}, // acked out of order
	}
	final := finalRead{
		0: {{0, 0, "p0-0"}, {0, 1, "p0-1"}, {0, 2, "p0-1"}}, // duplicate of p0-1
		1: {{1, 0, "p1-1"}, {1, 1, "p1-0"}},                 // out of order again
	}
	start := time.Unix(100, 0)
	commits := []commit{
		{partition: 0, offset: 4, sent: start, acked: start.Add(time.Second)},
		{partition: 0, offset: 2, sent: start.Add(2 * time.Second), acked: start.Add(3 * time.Second)}, // backwards
	}
	reads := []observation{{0, 0, "p9-9"}} // offset 0 held another value
	history := historySnapshot{acks: acks, reads: reads, commits: commits}
	got := counts(checkHistory(history, final, map[int32]int64{0: 2})) // final below acknowledged 4
	want := map[string]int{
		"lost acknowledged writes":           1,
		"lost reads":                         1,
		"duplicates":                         1,
		"order violations":                   2,
		"inconsistent offsets":               1,
		"committed offsets moving backwards": 2,
		"records skipped by the group":       1, // offset 1 below the final committed 2, never read
	}
	for name, count := range want {
		if got[name] != count {
			t.Errorf("%s = %d, want %d", name, got[name], count)
		}
	}
}

func TestCommitsOverlappingInTimeAreNotOrdered(t *testing.T) {
	start := time.Unix(100, 0)
	commits := []commit{
		{partition: 0, offset: 4, sent: start, acked: start.Add(2 * time.Second)},
		{partition: 0, offset: 2, sent: start.Add(time.Second), acked: start.Add(3 * time.Second)},
	}
	// The second was sent before the first was acknowledged: either order
	// is possible, but the final committed offset must not be below 4.
	if got := checkCommits(commits, map[int32]int64{0: 4}).count; got != 0 {
		t.Fatalf("count = %d, want 0", got)
	}
}

// batch builds a stored batch header of the given offsets and body.
func batch(base int64, records int32, body string) []byte {
	length := 49 + len(body) // a 61-byte header, 12 of them before the length field
	data := make([]byte, 12+length)
	putUint64(data[0:], uint64(base))
	putUint32(data[8:], uint32(length))
	data[16] = 2
	putUint32(data[23:], uint32(records-1))
	copy(data[61:], body)
	return data
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

func putUint32(b []byte, v uint32) {
	for i := range 4 {
		b[i] = byte(v >> (24 - 8*i))
	}
}

func TestReplicaDigestsCompareBelowTheHighWatermark(t *testing.T) {
	root := t.TempDir()
	write := func(node, content string) string {
		dir := filepath.Join(root, node, topicName+"-0")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000000.log"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(root, node)
	}
	common := string(batch(0, 2, "aa")) + string(batch(2, 1, "bb"))
	dirs := map[int32]string{
		1: write("n1", common+string(batch(3, 1, "cc"))), // more than the high watermark
		2: write("n2", common+"torn"),
		3: write("n3", common),
	}
	divergence, lines := checkReplicas(dirs, map[int32]int64{0: 3})
	if divergence.count != 0 {
		t.Fatalf("divergence %d: %v", divergence.count, lines)
	}
	dirs[3] = write("n3b", string(batch(0, 2, "aa"))+string(batch(2, 1, "zz")))
	if divergence, lines = checkReplicas(dirs, map[int32]int64{0: 3}); divergence.count != 1 {
		t.Fatalf("divergence %d, want 1: %v", divergence.count, lines)
	}
	dirs[3] = write("n3c", string(batch(0, 2, "aa"))) // short of the high watermark
	if divergence, lines = checkReplicas(dirs, map[int32]int64{0: 3}); divergence.count != 1 {
		t.Fatalf("divergence %d, want 1: %v", divergence.count, lines)
	}
}
