package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Disk trouble on real processes and a real kernel: a full tmpfs (ENOSPC)
// and a file-size limit set on a running broker (EFBIG, an I/O error that
// is not a full disk). Both need root; they skip with a message otherwise.

// requireRoot skips the test unless it runs as root (mount, prlimit).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a tmpfs / sets a resource limit on a broker process")
	}
}

// mountTmpfs mounts a tmpfs of size (mount's syntax, e.g. "3m") on dir.
// The unmount runs at the test's end, after stop (which must stop every
// process using the mount).
func mountTmpfs(t *testing.T, dir, size string, stop func()) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if output, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v: %s", dir, err, output)
	}
	t.Cleanup(func() {
		stop()
		if output, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, output)
		}
	})
}

// fillFile writes to name until the file system is full and returns how
// many bytes it wrote.
func fillFile(t *testing.T, name string, limit int64) int64 {
	t.Helper()
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{'f'}, 64<<10)
	var written int64
	for written < limit {
		n, err := f.Write(chunk)
		written += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			return written
		}
		if err != nil {
			t.Fatalf("fill %s: %v", name, err)
		}
	}
	t.Fatalf("fill %s: no ENOSPC after %d bytes", name, written)
	return 0
}

// value is record i's value: 8 KiB that no codec shrinks, the same on
// every call.
func value(i int) []byte {
	var seed [32]byte
	seed[0], seed[1], seed[2] = byte(i), byte(i>>8), byte(i>>16)
	random := make([]byte, 8<<10)
	rand.NewChaCha8(seed).Read(random)
	return append([]byte(fmt.Sprintf("record-%06d-", i)), random...)
}

// checkRecords reads topic from the start and checks it holds exactly
// want, in order, at offsets 0, 1, ...
func (c *testCluster) checkRecords(topic string, want [][]byte) {
	c.t.Helper()
	got := c.consumeAll(topic, len(want))
	for i, record := range got {
		if record.Offset != int64(i) || !bytes.Equal(record.Value, want[i]) {
			c.t.Fatalf("record %d: offset %d, value %.20q, want offset %d value %.20q", i, record.Offset, record.Value, i, want[i])
		}
	}
}

// TestDiskFullFailsProduceAndRecovers: with the partition on a small tmpfs,
// franz-go produces until the disk is full. The produce fails with
// KAFKA_STORAGE_ERROR (56), every acknowledged record stays readable, the
// log end offset does not move, and once a filler file is deleted the
// same broker, without a restart, accepts the next record at the next
// offset.
func TestDiskFullFailsProduceAndRecovers(t *testing.T) {
	requireRoot(t)
	c := startCluster(t, withNodes(1))
	const topic = "disk-full"
	dir := filepath.Join(c.node(1).dataDir, topic+"-0")
	mountTmpfs(t, dir, "3m", func() { c.terminate(1) })
	c.createTopic(topic, 1, 1, nil)
	filler := filepath.Join(dir, "filler")
	written := fillFile(t, filler, 8<<20) // the disk is full
	if err := os.Truncate(filler, written-512<<10); err != nil {
		t.Fatal(err) // leave about 512 KiB for records
	}

	producer := c.client(kgo.DefaultProduceTopic(topic), kgo.RecordRetries(2))
	var acked [][]byte
	var produceErr error
	for i := 0; i < 200 && produceErr == nil; i++ {
		result := producer.ProduceSync(testContext(t, clientTimeout), &kgo.Record{Value: value(i)})
		if produceErr = result.FirstErr(); produceErr == nil {
			if offset := result[0].Record.Offset; offset != int64(len(acked)) {
				t.Fatalf("record %d acknowledged at offset %d", i, offset)
			}
			acked = append(acked, value(i))
		}
	}
	if !errors.Is(produceErr, kerr.KafkaStorageError) {
		t.Fatalf("producing onto a full disk ended with %v after %d records, want KAFKA_STORAGE_ERROR", produceErr, len(acked))
	}
	if len(acked) < 10 {
		t.Fatalf("only %d records fit before the disk was full", len(acked))
	}
	// The exact code on the wire, and nothing moved.
	err := c.rawProduce(1, topic, 0, -1, strings.Repeat("x", 64<<10))
	var kafkaErr *kerr.Error
	if !errors.As(err, &kafkaErr) || kafkaErr.Code != 56 {
		t.Fatalf("raw produce on a full disk: %v, want error code 56", err)
	}
	assertEndOffset(t, c, topic, int64(len(acked)))
	c.checkRecords(topic, acked)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	next := c.client(kgo.DefaultProduceTopic(topic))
	produced := produceSync(t, next, &kgo.Record{Value: value(len(acked))})
	if produced[0].Offset != int64(len(acked)) {
		t.Fatalf("first record after space came back at offset %d, want %d", produced[0].Offset, len(acked))
	}
	acked = append(acked, value(len(acked)))
	c.checkRecords(topic, acked)
	if err := c.node(1).exitedError(); err != nil {
		t.Fatalf("a full disk stopped the broker: %v", err)
	}
}

func assertEndOffset(t *testing.T, c *testCluster, topic string, want int64) {
	t.Helper()
	ends, err := c.admin().ListEndOffsets(testContext(t, clientTimeout), topic)
	if err != nil {
		t.Fatal(err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil || end.Offset != want {
		t.Fatalf("log end offset of %s: %+v (found %v), want %d", topic, end, ok, want)
	}
}

// TestLogDirFailureMovesLeadership: a broker whose log directory fails I/O
// (here EFBIG: a file-size limit set on the running process, which no
// write may cross) takes it offline, leaves the cluster with a log line
// saying why and exit status 1, leadership moves to the other in-sync
// replicas, and every record acknowledged with acks=all survives.
func TestLogDirFailureMovesLeadership(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("needs prlimit (util-linux) to set a file-size limit on a running broker")
	}
	c := startCluster(t)
	const topic = "dir-failure"
	c.createTopic(topic, 1, 3, nil)
	c.waitISR(topic, 1, []int32{1, 2, 3})
	victim := c.waitLeaders(topic, 1)[0].leader
	producer := c.client(kgo.DefaultProduceTopic(topic)) // idempotent, acks=all
	var acked [][]byte
	for i := range 5 {
		produceSync(t, producer, &kgo.Record{Value: value(i)})
		acked = append(acked, value(i))
	}

	// Every file the victim writes stays below the limit but its segment,
	// which crosses it after about a megabyte of records.
	info, err := os.Stat(c.node(victim).logPath)
	if err != nil {
		t.Fatal(err)
	}
	limit := max(1<<20, 4*info.Size())
	pid := c.node(victim).current().command.Process.Pid
	if output, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--fsize="+strconv.FormatInt(limit, 10)).CombinedOutput(); err != nil {
		t.Skipf("prlimit: %v: %s", err, output)
	}
	for i := len(acked); c.node(victim).exitedError() == nil; i++ {
		if i > 2*int(limit/(8<<10))+200 {
			t.Fatalf("node %d still runs after %d records past its file-size limit", victim, i)
		}
		produceSync(t, producer, &kgo.Record{Value: value(i)})
		acked = append(acked, value(i))
	}
	for range 20 { // a few more, on the new leader
		produceSync(t, producer, &kgo.Record{Value: value(len(acked))})
		acked = append(acked, value(len(acked)))
	}

	exitErr := c.node(victim).exitedError()
	if !strings.Contains(exitErr.Error(), "exit status 1") {
		t.Fatalf("node %d: %v, want exit status 1", victim, exitErr)
	}
	logData, err := os.ReadFile(c.node(victim).logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logData, []byte("shutting down because the log directory failed")) {
		t.Fatalf("node %d's log does not say why it stopped", victim)
	}
	for _, line := range bytes.Split(logData, []byte("\n")) {
		if bytes.Contains(line, []byte("level=ERROR")) || bytes.Contains(line, []byte("controlled shutdown")) {
			t.Logf("node %d: %s", victim, line)
		}
	}
	states := c.waitLeaders(topic, 1)
	if states[0].leader == victim {
		t.Fatalf("node %d still leads", victim)
	}
	c.checkRecords(topic, acked)
	t.Logf("node %d left after %d records; %d acknowledged records intact on node %d", victim, len(acked)-20, len(acked), states[0].leader)
}
