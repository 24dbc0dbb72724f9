package server_test

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

func TestProduceErrors(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "small", 2, map[string]string{"max.message.bytes": "1024"})

	corrupt := batch(t, "hello")
	corrupt[len(corrupt)-1] ^= 0xff // the CRC covers the records
	big := batch(t, strings.Repeat("x", 2000))

	cases := []struct {
		name      string
		topic     string
		partition int32
		acks      int16
		records   []byte
		want      int16
	}{
		{"unknown topic", "nope", 0, 1, batch(t, "a"), kerr.UnknownTopicOrPartition.Code},
		{"partition out of range", "small", 2, 1, batch(t, "a"), kerr.UnknownTopicOrPartition.Code},
		{"negative partition", "small", -1, 1, batch(t, "a"), kerr.UnknownTopicOrPartition.Code},
		{"bad crc", "small", 0, 1, corrupt, kerr.CorruptMessage.Code},
		{"above max.message.bytes", "small", 0, 1, big, kerr.MessageTooLarge.Code},
		{"acks=2", "small", 0, 2, batch(t, "a"), kerr.InvalidRequiredAcks.Code},
		{"acks=-2", "small", 0, -2, batch(t, "a"), kerr.InvalidRequiredAcks.Code},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.roundTrip(produceRequest(tc.topic, tc.partition, tc.acks, tc.records)).(*kmsg.ProduceResponse)
			p := resp.Topics[0].Partitions[0]
			if resp.Topics[0].Topic != tc.topic || p.Partition != tc.partition || p.ErrorCode != tc.want || p.BaseOffset != -1 {
				t.Fatalf("got %s[%d] error %d offset %d, want error %d offset -1", resp.Topics[0].Topic, p.Partition, p.ErrorCode, p.BaseOffset, tc.want)
			}
		})
	}
	// None of it was written.
	if off := listOffset(t, c, "small", 0, -1); off != 0 {
		t.Fatalf("log end offset %d after rejected produces, want 0", off)
	}
}

// TestProduceAcksZero: acks=0 gets no response at all; the next request's
// response carries its own correlation id, and the records were written.
func TestProduceAcksZero(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "fire", 1, nil)
	c.send(produceRequest("fire", 0, 0, batch(t, "a", "b")))
	c.send(produceRequest("nope", 0, 0, batch(t, "a"))) // errors are silent too
	// ListOffsets after the produce on the same connection sees it:
	// requests of one connection are handled in order.
	if off := listOffset(t, c, "fire", 0, -1); off != 2 {
		t.Fatalf("log end offset %d, want 2", off)
	}
}

func TestProduceIdempotent(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "idem", 1, nil)
	init := c.roundTrip(&kmsg.InitProducerIDRequest{Version: 4, TransactionTimeoutMillis: -1, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if init.ErrorCode != 0 || init.ProducerID < 0 {
		t.Fatalf("InitProducerID: error %d id %d", init.ErrorCode, init.ProducerID)
	}
	id, epoch := init.ProducerID, init.ProducerEpoch

	first := produce(t, c, "idem", 0, idempotentBatch(t, id, epoch, 0, "a", "b"))
	second := produce(t, c, "idem", 0, idempotentBatch(t, id, epoch, 2, "c"))
	retry := produce(t, c, "idem", 0, idempotentBatch(t, id, epoch, 2, "c"))
	if first.ErrorCode != 0 || first.BaseOffset != 0 || second.ErrorCode != 0 || second.BaseOffset != 2 {
		t.Fatalf("first: error %d offset %d; second: error %d offset %d", first.ErrorCode, first.BaseOffset, second.ErrorCode, second.BaseOffset)
	}
	if retry.ErrorCode != 0 || retry.BaseOffset != 2 {
		t.Fatalf("duplicate: error %d offset %d, want 0 and offset 2", retry.ErrorCode, retry.BaseOffset)
	}
	gap := produce(t, c, "idem", 0, idempotentBatch(t, id, epoch, 5, "d"))
	if gap.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: error %d, want %d", gap.ErrorCode, kerr.OutOfOrderSequenceNumber.Code)
	}
	if off := listOffset(t, c, "idem", 0, -1); off != 3 {
		t.Fatalf("log end offset %d, want 3 (duplicate and gap not appended)", off)
	}
	p := fetch(t, c, fetchRequest(11, "idem", [16]byte{}, 0, 0, 0))
	if bases, vals := values(t, p.RecordBatches); strings.Join(vals, ",") != "a,b,c" || len(bases) != 2 {
		t.Fatalf("log holds batches at %v with %v, want [0 2] with a,b,c", bases, vals)
	}
}

// listOffset returns the offset ListOffsets v4 gives for timestamp (-1
// latest, -2 earliest).
func listOffset(t testing.TB, c *rawClient, topic string, partition int32, timestamp int64) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = timestamp
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.roundTrip(req).(*kmsg.ListOffsetsResponse)
	got := resp.Topics[0].Partitions[0]
	if got.ErrorCode != 0 {
		t.Fatalf("ListOffsets %s[%d] %d: error %d", topic, partition, timestamp, got.ErrorCode)
	}
	return got.Offset
}
