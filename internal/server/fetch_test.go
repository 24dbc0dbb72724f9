package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// TestFetchLongPoll: a fetch waiting for data returns as soon as another
// connection produces, with that record.
func TestFetchLongPoll(t *testing.T) {
	b := testutil.StartBroker(t)
	consumer := dial(t, b.Addr)
	producer := dial(t, b.Addr)
	createTopic(t, consumer, "poll", 1, nil)

	req := fetchRequest(11, "poll", [16]byte{}, 0, 0, 10*time.Second)
	corr := consumer.send(req)
	type result struct {
		p   kmsg.FetchResponseTopicPartition
		err string
	}
	done := make(chan result, 1)
	go func() {
		got, body, err := consumer.readFrame()
		if err != nil || got != corr {
			done <- result{err: "bad response frame"}
			return
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = req.Version
		if err := resp.ReadFrom(body); err != nil {
			done <- result{err: err.Error()}
			return
		}
		done <- result{p: resp.Topics[0].Partitions[0]}
	}()
	if p := produce(t, producer, "poll", 0, batch(t, "wake up")); p.ErrorCode != 0 {
		t.Fatalf("produce: error %d", p.ErrorCode)
	}
	ctx := withTimeout(t, 30*time.Second)
	select {
	case r := <-done:
		if r.err != "" {
			t.Fatal(r.err)
		}
		if _, vals := values(t, r.p.RecordBatches); r.p.ErrorCode != 0 || strings.Join(vals, ",") != "wake up" || r.p.HighWatermark != 1 {
			t.Fatalf("fetch: error %d records %q high watermark %d", r.p.ErrorCode, vals, r.p.HighWatermark)
		}
	case <-ctx.Done():
		t.Fatal("long-poll fetch did not return")
	}
}

func TestFetchOffsets(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "f", 1, nil)
	first := batch(t, "r0", "r1", "r2")
	if p := produce(t, c, "f", 0, first); p.ErrorCode != 0 {
		t.Fatalf("produce: error %d", p.ErrorCode)
	}
	if p := produce(t, c, "f", 0, batch(t, "r3")); p.ErrorCode != 0 || p.BaseOffset != 3 {
		t.Fatalf("produce: error %d offset %d", p.ErrorCode, p.BaseOffset)
	}

	t.Run("beyond log end", func(t *testing.T) {
		p := fetch(t, c, fetchRequest(11, "f", [16]byte{}, 0, 5, 0))
		if p.ErrorCode != kerr.OffsetOutOfRange.Code || len(p.RecordBatches) != 0 {
			t.Fatalf("error %d, %d bytes; want %d", p.ErrorCode, len(p.RecordBatches), kerr.OffsetOutOfRange.Code)
		}
	})
	t.Run("at log end", func(t *testing.T) {
		p := fetch(t, c, fetchRequest(11, "f", [16]byte{}, 0, 4, 0))
		if p.ErrorCode != 0 || len(p.RecordBatches) != 0 || p.HighWatermark != 4 {
			t.Fatalf("error %d, %d bytes, high watermark %d", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
		}
	})
	t.Run("inside a batch", func(t *testing.T) {
		p := fetch(t, c, fetchRequest(11, "f", [16]byte{}, 0, 1, 0))
		bases, vals := values(t, p.RecordBatches)
		if p.ErrorCode != 0 || len(bases) != 2 || bases[0] != 0 || bases[1] != 3 || strings.Join(vals, ",") != "r0,r1,r2,r3" {
			t.Fatalf("error %d, batches at %v holding %v; want [0 3] holding r0..r3", p.ErrorCode, bases, vals)
		}
		// The first batch comes back byte for byte, except the leader epoch.
		got := p.RecordBatches[:len(first)]
		if string(got[12:]) != string(first[12:]) {
			t.Fatalf("stored batch differs from the produced one after the leader epoch")
		}
	})
	t.Run("max bytes below the first batch", func(t *testing.T) {
		req := fetchRequest(4, "f", [16]byte{}, 0, 0, 0)
		req.MaxBytes = 10
		req.Topics[0].Partitions[0].PartitionMaxBytes = 10
		p := fetch(t, c, req)
		bases, vals := values(t, p.RecordBatches)
		if p.ErrorCode != 0 || len(bases) != 1 || strings.Join(vals, ",") != "r0,r1,r2" {
			t.Fatalf("error %d, batches at %v holding %v; want the first batch whole", p.ErrorCode, bases, vals)
		}
	})
}

func TestFetchTopicID(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "byid", 1, nil)
	produce(t, c, "byid", 0, batch(t, "x"))
	id := topicID(t, c, "byid")

	resp := c.roundTrip(fetchRequest(13, "", id, 0, 0, 0)).(*kmsg.FetchResponse)
	rt := resp.Topics[0]
	p := rt.Partitions[0]
	if _, vals := values(t, p.RecordBatches); rt.TopicID != id || p.ErrorCode != 0 || strings.Join(vals, ",") != "x" {
		t.Fatalf("by id: topic id %x error %d records %v", rt.TopicID, p.ErrorCode, vals)
	}

	unknown := [16]byte{1, 2, 3}
	resp = c.roundTrip(fetchRequest(13, "", unknown, 0, 0, time.Second)).(*kmsg.FetchResponse)
	rt = resp.Topics[0]
	if rt.TopicID != unknown || rt.Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown id: topic id %x error %d, want %d", rt.TopicID, rt.Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
	}
}

// TestFetchAfterDeleteRecords: offsets below the log start offset are out
// of range, even inside a batch that is still stored.
func TestFetchAfterDeleteRecords(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "del", 1, nil)
	produce(t, c, "del", 0, batch(t, "a", "b", "c"))

	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version = 2
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "del"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = 2
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	del := c.roundTrip(req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
	if del.ErrorCode != 0 || del.LowWatermark != 2 {
		t.Fatalf("DeleteRecords: error %d low watermark %d, want 2", del.ErrorCode, del.LowWatermark)
	}

	p := fetch(t, c, fetchRequest(4, "del", [16]byte{}, 0, 0, 0))
	if p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch at 0: error %d, want %d", p.ErrorCode, kerr.OffsetOutOfRange.Code)
	}
	if earliest := listOffset(t, c, "del", 0, -2); earliest != 2 {
		t.Fatalf("earliest offset %d, want 2", earliest)
	}
	p = fetch(t, c, fetchRequest(11, "del", [16]byte{}, 0, 2, 0))
	if _, vals := values(t, p.RecordBatches); p.ErrorCode != 0 || p.LogStartOffset != 2 || strings.Join(vals, ",") != "a,b,c" {
		t.Fatalf("fetch at 2: error %d log start %d records %v", p.ErrorCode, p.LogStartOffset, vals)
	}
}
