package server_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// TestGroupBadInput checks the Kafka error codes of malformed group
// requests against an in-process broker, and that it keeps serving.
func TestGroupBadInput(t *testing.T) {
	b := testutil.StartBroker(t, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "gt"); err != nil {
		t.Fatal(err)
	}
	// The coordinator of every group is this broker; find it once so the
	// offsets topic exists.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	if resp, err := fc.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v %+v", err, resp)
	}

	join := func(group string, metadata []byte, session int32) *kmsg.JoinGroupResponse {
		t.Helper()
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = 5
		req.Group = group
		req.SessionTimeoutMillis = session
		req.RebalanceTimeoutMillis = 10000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: metadata}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := join("", []byte{0}, 10000); r.ErrorCode != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: code %d, want INVALID_GROUP_ID", r.ErrorCode)
	}
	if r := join("g", []byte{0}, 10); r.ErrorCode != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("session timeout 10 ms: code %d, want INVALID_SESSION_TIMEOUT", r.ErrorCode)
	}
	if r := join("g", bytes.Repeat([]byte{1}, 2<<20), 10000); r.ErrorCode == 0 {
		t.Fatal("2 MiB of member metadata accepted")
	}

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "nobody", "ghost", 1
	if resp, err := hb.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of an unknown member: %v %+v", err, resp)
	}

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 8
	commit.Group, commit.Generation = "g2", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{
		{Topic: "gt", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 5, LeaderEpoch: -1}, {Partition: 7, Offset: 5, LeaderEpoch: -1}}},
		{Topic: "missing", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5, LeaderEpoch: -1}}},
	}
	resp, err := commit.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	codes := []int16{resp.Topics[0].Partitions[0].ErrorCode, resp.Topics[0].Partitions[1].ErrorCode, resp.Topics[1].Partitions[0].ErrorCode}
	if codes[0] != 0 || codes[1] != kerr.UnknownTopicOrPartition.Code || codes[2] != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("commit codes %v, want [0 3 3]", codes)
	}
	offsets, err := kadm.NewClient(cl).FetchOffsets(ctx, "g2")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup("gt", 1); !ok || o.At != 5 {
		t.Fatalf("committed offset of gt/1: %+v %v, want 5", o, ok)
	}
	if _, ok := offsets.Lookup("gt", 7); ok {
		t.Fatal("an offset was stored for a partition that does not exist")
	}
}

// TestCompactedTopicRefusesKeylessRecords: a record without a key on a
// cleanup.policy=compact topic gets INVALID_RECORD; keyed records pass.
func TestCompactedTopicRefusesKeylessRecords(t *testing.T) {
	b := testutil.StartBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RecordRetries(1), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	policy := "compact"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &policy}, "compacted"); err != nil {
		t.Fatal(err)
	}
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "compacted", Value: []byte("no key")}).FirstErr()
	if err != kerr.InvalidRecord {
		t.Fatalf("keyless record on a compacted topic: %v, want INVALID_RECORD", err)
	}
	r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: "compacted", Key: []byte("k"), Value: []byte("v")}).First()
	if err != nil || r.Offset != 0 {
		t.Fatalf("keyed record: offset %d, %v; want offset 0", r.Offset, err)
	}
}
