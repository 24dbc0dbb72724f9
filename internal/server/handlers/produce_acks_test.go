package handlers

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

// leaderOfTwo opens a partition led by broker 1 with broker 2 in sync
// (min.insync.replicas=2) and appends one record; its high watermark moves
// only when broker 2 fetches.
func leaderOfTwo(t *testing.T, topic string) (*partition.Partition, int64) {
	t.Helper()
	settings := partition.Settings{Log: log.DefaultConfig(), MaxMessageBytes: 1 << 20, Compression: "producer", MinInsyncReplicas: 2}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := partition.Open(vfs.NewMem(), "/data/"+topic+"-0", partition.ID{Topic: topic}, [16]byte{1}, settings, logger, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.MakeLeader(1, 0, []int32{1, 2}, []int32{1, 2}, 1)
	b, err := record.BuildBatch(record.Header{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, []record.Record{{Value: []byte("v")}}, record.CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.AppendRecordsAcks(b, -1)
	if err != nil {
		t.Fatal(err)
	}
	return p, res.LastOffset
}

// awaitAll runs awaitReplication over parts and returns the error code of
// each partition once it answers (at most 10 s).
func awaitAll(t *testing.T, ctx context.Context, timeout time.Duration, parts []*partition.Partition, offsets []int64, during func()) []int16 {
	t.Helper()
	rps := make([]kmsg.ProduceResponseTopicPartition, len(parts))
	waits := make([]replicationWait, len(parts))
	for i := range parts {
		rps[i] = kmsg.NewProduceResponseTopicPartition()
		waits[i] = replicationWait{part: parts[i], lastOffset: offsets[i], rp: &rps[i]}
	}
	answered := make(chan struct{})
	awaitReplication(&Request{Ctx: ctx}, waits, timeout, func() { close(answered) })
	during()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10 s")
	}
	codes := make([]int16, len(rps))
	for i := range rps {
		codes[i] = rps[i].ErrorCode
	}
	return codes
}

func TestAwaitReplicationAnswers(t *testing.T) {
	a, offA := leaderOfTwo(t, "a")
	b, offB := leaderOfTwo(t, "b")
	parts, offsets := []*partition.Partition{a, b}, []int64{offA, offB}

	// Both replicated: no error.
	codes := awaitAll(t, context.Background(), time.Minute, parts, offsets, func() {
		for _, p := range parts {
			if err := p.FollowerFetched(2, 1, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	})
	if codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("replicated: codes %v", codes)
	}

	// One replicated, the other never: REQUEST_TIMED_OUT for it alone.
	c, offC := leaderOfTwo(t, "c")
	d, offD := leaderOfTwo(t, "d")
	parts, offsets = []*partition.Partition{c, d}, []int64{offC, offD}
	codes = awaitAll(t, context.Background(), 20*time.Millisecond, parts, offsets, func() {
		if err := c.FollowerFetched(2, 1, time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	if codes[0] != 0 || codes[1] != kerr.RequestTimedOut.Code {
		t.Fatalf("timeout: codes %v, want [0 %d]", codes, kerr.RequestTimedOut.Code)
	}

	// The connection closes: answered at once (the writer discards it).
	e, offE := leaderOfTwo(t, "e")
	ctx, cancel := context.WithCancel(context.Background())
	codes = awaitAll(t, ctx, time.Hour, []*partition.Partition{e}, []int64{offE}, cancel)
	if codes[0] != kerr.RequestTimedOut.Code {
		t.Fatalf("connection closed: code %d", codes[0])
	}

	// Leadership lost: NOT_LEADER_OR_FOLLOWER.
	f, offF := leaderOfTwo(t, "f")
	codes = awaitAll(t, context.Background(), time.Hour, []*partition.Partition{f}, []int64{offF}, func() {
		f.MakeFollower(2, 1, 2, []int32{1, 2})
	})
	if codes[0] != kerr.NotLeaderForPartition.Code {
		t.Fatalf("leadership lost: code %d", codes[0])
	}
}
