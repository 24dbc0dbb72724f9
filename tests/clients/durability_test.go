package clients

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// durableBatch builds count records for partitions 0 and 1 alternately,
// numbered from first, and the views they must have once appended after
// next[partition] earlier records.
func durableBatch(topic string, first, count int, next map[int32]int64, want map[int32][]recordView) []*kgo.Record {
	var records []*kgo.Record
	for i := first; i < first+count; i++ {
		partition := int32(i % 2)
		key, value := fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i)
		records = append(records, &kgo.Record{Topic: topic, Partition: partition, Key: []byte(key), Value: []byte(value)})
		want[partition] = append(want[partition], recordView{partition, next[partition], key, value})
		next[partition]++
	}
	return records
}

// TestDurabilityKill9 checks that records acknowledged with acks=all survive
// kill -9, and that an idempotent producer carries on after the restart with
// the same producer id and epoch: offsets continue, nothing is duplicated.
func TestDurabilityKill9(t *testing.T) {
	b := startBroker(t)
	const topic = "durable"
	createTopic(t, b, topic, 2, nil)
	producer := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	next := make(map[int32]int64)
	want := make(map[int32][]recordView)

	first := durableBatch(topic, 0, 200, next, want)
	produceSync(t, producer, first...)
	assertEqual(t, "acknowledged before the crash", byPartition(first), want)
	producerID, epoch, err := producer.ProducerID(testContext(t, 30*time.Second))
	if err != nil {
		t.Fatalf("ProducerID: %v", err)
	}

	b.kill9AndRestart()
	assertEqual(t, "records after kill -9", byPartition(consumeAll(t, b, topic, 200)), want)

	second := durableBatch(topic, 200, 100, next, want)
	produceSync(t, producer, second...)
	assertEqual(t, "acknowledged after the restart", byPartition(second), map[int32][]recordView{
		0: want[0][100:], 1: want[1][100:],
	})
	producerIDAfter, epochAfter, err := producer.ProducerID(testContext(t, 30*time.Second))
	if err != nil {
		t.Fatalf("ProducerID after restart: %v", err)
	}
	assertEqual(t, "producer id and epoch after restart", []int64{producerIDAfter, int64(epochAfter)}, []int64{producerID, int64(epoch)})
	assertEqual(t, "all records", byPartition(consumeAll(t, b, topic, 300)), want)
}

// TestDurabilityRestartTwice checks a clean restart followed by a crash, so
// that recovery from a cleanly closed log and from a crashed one both keep
// every acknowledged record exactly once.
func TestDurabilityRestartTwice(t *testing.T) {
	b := startBroker(t)
	const topic = "durable-twice"
	createTopic(t, b, topic, 2, nil)
	next := make(map[int32]int64)
	want := make(map[int32][]recordView)
	for round := range 3 {
		producer := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		produceSync(t, producer, durableBatch(topic, round*50, 50, next, want)...)
		producer.Close()
		switch round {
		case 0:
			b.restart()
		case 1:
			b.kill9AndRestart()
		}
		assertEqual(t, fmt.Sprintf("records after round %d", round), byPartition(consumeAll(t, b, topic, (round+1)*50)), want)
	}
}
