package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// fetchResult is one partition of a raw Fetch response.
type fetchResult struct {
	err           error  // the partition's error code (nil: none)
	highWatermark int64  // -1 when the partition carried an error
	records       []byte // the raw record batches
}

// rawFetch sends one consumer Fetch (replica id -1) for topic/partition
// from offset 0 to node id, with the Fetch version capped at maxVersion.
func (c *testCluster) rawFetch(id int32, topic string, partition int32, maxVersion int16) (fetchResult, error) {
	request := kmsg.NewPtrFetchRequest()
	request.ReplicaID = -1
	request.MaxWaitMillis = 0
	request.MinBytes = 1
	request.MaxBytes = 1 << 20
	requestTopic := kmsg.NewFetchRequestTopic()
	requestTopic.Topic = topic
	requestPartition := kmsg.NewFetchRequestTopicPartition()
	requestPartition.Partition = partition
	requestPartition.PartitionMaxBytes = 1 << 20
	requestTopic.Partitions = append(requestTopic.Partitions, requestPartition)
	request.Topics = append(request.Topics, requestTopic)
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(request.Key(), maxVersion)
	response, err := c.node(id).request(request, kgo.MaxVersions(versions))
	if err != nil {
		return fetchResult{}, fmt.Errorf("fetch from node %d: %w", id, err)
	}
	fetched := response.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(fetched.ErrorCode); err != nil {
		return fetchResult{}, fmt.Errorf("fetch from node %d: top-level %w", id, err)
	}
	if len(fetched.Topics) != 1 || len(fetched.Topics[0].Partitions) != 1 {
		return fetchResult{}, fmt.Errorf("fetch from node %d: malformed response %+v", id, fetched)
	}
	result := fetched.Topics[0].Partitions[0]
	return fetchResult{kerr.ErrorForCode(result.ErrorCode), result.HighWatermark, result.RecordBatches}, nil
}

// TestFollowerRefusesProduceAndFetch: only the leader accepts Produce, and
// a consumer Fetch before v11 (no client metadata, KIP-392) is answered by
// the leader only; followers answer NOT_LEADER_OR_FOLLOWER. A franz-go
// producer is unaffected: it sends to leaders.
func TestFollowerRefusesProduceAndFetch(t *testing.T) {
	c := startCluster(t)
	const topic = "refuse"
	c.createTopic(topic, 1, 3, nil)
	states := c.waitISR(topic, 1, c.ids())
	leader := states[0].leader
	followers := without(c.ids(), leader)

	client := c.client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	produced := produceSync(t, client, &kgo.Record{Value: []byte("via-franz-go")})
	assertEqual(t, "franz-go produce offset", produced[0].Offset, int64(0))

	for _, follower := range followers {
		for _, acks := range []int16{1, -1} {
			err := c.rawProduce(follower, topic, 0, acks, "to-a-follower")
			if !errors.Is(err, kerr.NotLeaderForPartition) {
				t.Errorf("produce acks=%d to follower %d (leader %d): %v, want NOT_LEADER_OR_FOLLOWER", acks, follower, leader, err)
			}
		}
		result, err := c.rawFetch(follower, topic, 0, 10)
		if err != nil {
			t.Fatalf("fetch v10 from follower %d: %v", follower, err)
		}
		if !errors.Is(result.err, kerr.NotLeaderForPartition) {
			t.Errorf("fetch v10 from follower %d (leader %d): %v, want NOT_LEADER_OR_FOLLOWER", follower, leader, result.err)
		}
	}

	result, err := c.rawFetch(leader, topic, 0, 10)
	if err != nil || result.err != nil {
		t.Fatalf("fetch v10 from leader %d: %v / %v", leader, err, result.err)
	}
	assertEqual(t, "leader high watermark", result.highWatermark, int64(1))
	if !bytes.Contains(result.records, []byte("via-franz-go")) {
		t.Errorf("fetch from leader %d: record missing from %q", leader, result.records)
	}
	if err := c.rawProduce(leader, topic, 0, -1, "to-the-leader"); err != nil {
		t.Errorf("produce acks=-1 to leader %d: %v", leader, err)
	}
	for _, record := range c.consumeAll(topic, 2) {
		if want := map[int64]string{0: "via-franz-go", 1: "to-the-leader"}[record.Offset]; string(record.Value) != want {
			t.Errorf("offset %d: %q, want %q", record.Offset, record.Value, want)
		}
	}
}

// TestAcksAllAndMinISR: with replication factor 3, an acks=all write is on
// every replica (it survives the death of its leader); with one follower
// dead the ISR shrinks to two, acks=all still succeeds with
// min.insync.replicas=2 but gets NOT_ENOUGH_REPLICAS with 3 (acks=1 does
// not care), until the follower is back in the ISR.
//
// One follower is killed, not two: every node is also a Raft voter, and
// with two of three dead the quorum cannot shrink the ISR, so Kafka too
// would leave acks=all requests waiting rather than answering
// NOT_ENOUGH_REPLICAS.
func TestAcksAllAndMinISR(t *testing.T) {
	c := startCluster(t)
	const relaxed, strict = "min-isr-2", "min-isr-3"
	three := "3"
	c.createTopic(relaxed, 1, 3, nil) // the broker default min.insync.replicas=2
	c.createTopic(strict, 1, 3, map[string]*string{"min.insync.replicas": &three})
	c.waitISR(relaxed, 1, c.ids())
	c.waitISR(strict, 1, c.ids())
	client := c.client(kgo.ProducerBatchCompression(kgo.NoCompression()))

	// An acknowledged acks=all write survives the kill -9 of its leader.
	produceSync(t, client, &kgo.Record{Topic: relaxed, Value: []byte("before-leader-death")})
	leader := c.waitLeaders(relaxed, 1)[0].leader
	c.kill(leader)
	c.waitLeaders(relaxed, 1)
	consumed := c.consumeAll(relaxed, 1)
	assertEqual(t, "after the leader's death", string(consumed[0].Value), "before-leader-death")
	c.start(leader)
	c.waitISR(relaxed, 1, c.ids())
	c.waitISR(strict, 1, c.ids())

	// Kill a follower of both partitions.
	leaders := []int32{c.waitLeaders(relaxed, 1)[0].leader, c.waitLeaders(strict, 1)[0].leader}
	follower := without(c.ids(), leaders...)[0]
	c.kill(follower)
	survivors := without(c.ids(), follower)
	c.waitISR(relaxed, 1, survivors)
	c.waitISR(strict, 1, survivors)

	produceSync(t, client, &kgo.Record{Topic: relaxed, Value: []byte("isr-of-two")})
	strictLeader := c.waitLeaders(strict, 1)[0].leader
	if err := c.rawProduce(strictLeader, strict, 0, -1, "refused"); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Errorf("acks=all with ISR 2 < min.insync.replicas 3: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	if err := c.rawProduce(strictLeader, strict, 0, 1, "acks-one"); err != nil {
		t.Errorf("acks=1 with ISR 2 < min.insync.replicas 3: %v, want success", err)
	}

	c.start(follower)
	c.waitISR(strict, 1, c.ids())
	strictLeader = c.waitLeaders(strict, 1)[0].leader
	if err := c.rawProduce(strictLeader, strict, 0, -1, "isr-back"); err != nil {
		t.Errorf("acks=all after the follower rejoined: %v", err)
	}
	values := make(map[string]int64)
	for _, record := range c.consumeAll(strict, 2) {
		values[string(record.Value)] = record.Offset
	}
	assertEqual(t, strict+" records", values, map[string]int64{"acks-one": 0, "isr-back": 1})
	values = make(map[string]int64)
	for _, record := range c.consumeAll(relaxed, 2) {
		values[string(record.Value)] = record.Offset
	}
	assertEqual(t, relaxed+" records", values, map[string]int64{"before-leader-death": 0, "isr-of-two": 1})
}
