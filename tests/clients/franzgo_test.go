package clients

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// recordView is the part of a record the tests compare.
type recordView struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
}

func viewOf(record *kgo.Record) recordView {
	return recordView{record.Partition, record.Offset, string(record.Key), string(record.Value)}
}

// byPartition groups record views by partition, keeping their order.
func byPartition(records []*kgo.Record) map[int32][]recordView {
	grouped := make(map[int32][]recordView)
	for _, record := range records {
		grouped[record.Partition] = append(grouped[record.Partition], viewOf(record))
	}
	return grouped
}

func TestFranzGoProduceConsume(t *testing.T) {
	b := startBroker(t)
	const (
		topic      = "fg-records"
		partitions = 6
		count      = 1000
	)
	createTopic(t, b, topic, partitions, nil)
	var records []*kgo.Record
	want := make(map[int32][]recordView)
	for i := range count {
		key, value := fmt.Sprintf("key-%04d", i), fmt.Sprintf("value-%04d", i)
		records = append(records, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)})
		partition := kafkaPartition([]byte(key), partitions)
		want[partition] = append(want[partition], recordView{partition, int64(len(want[partition])), key, value})
	}
	if len(want) != partitions {
		t.Fatalf("keys cover %d partitions, want %d", len(want), partitions)
	}
	// Default options: idempotent producer, acks=all, sticky key partitioner.
	produceSync(t, newClient(t, b), records...)
	assertEqual(t, "produce results", byPartition(records), want)
	assertEqual(t, "consumed records", byPartition(consumeAll(t, b, topic, count)), want)
}

func TestFranzGoAdmin(t *testing.T) {
	b := startBroker(t)
	admin := newAdmin(t, b)
	ctx := testContext(t, 60*time.Second)
	const topic = "fg-admin"
	created, err := admin.CreateTopics(ctx, 3, 1, nil, topic)
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if response, _ := created.On(topic, nil); response.Err != nil || response.NumPartitions != 3 || response.ReplicationFactor != 1 {
		t.Fatalf("CreateTopics response: %+v", response)
	}
	id := b.nodeID(t)

	listed, err := admin.ListTopics(ctx, topic)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	detail := listed[topic]
	epochs := make(map[int32]int32)
	var gotPartitions []kadm.PartitionDetail
	for _, partition := range detail.Partitions.Sorted() {
		epochs[partition.Partition] = partition.LeaderEpoch
		partition.LeaderEpoch = 0
		gotPartitions = append(gotPartitions, partition)
	}
	var wantPartitions []kadm.PartitionDetail
	for p := range int32(3) {
		wantPartitions = append(wantPartitions, kadm.PartitionDetail{Topic: topic, Partition: p, Leader: id,
			Replicas: []int32{id}, ISR: []int32{id}})
	}
	assertEqual(t, "ListTopics error", detail.Err, nil)
	assertEqual(t, "ListTopics partitions", gotPartitions, wantPartitions)

	assertTopicConfig(t, admin, topic, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	assertTopicConfig(t, admin, topic, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	retention := "123456"
	altered, err := admin.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &retention}}, topic)
	if err != nil {
		t.Fatalf("AlterTopicConfigs: %v", err)
	}
	if response, _ := altered.On(topic, nil); response.Err != nil {
		t.Fatalf("AlterTopicConfigs %s: %v", topic, response.Err)
	}
	assertTopicConfig(t, admin, topic, "retention.ms", retention, kmsg.ConfigSourceDynamicTopicConfig)

	var records []*kgo.Record
	for i := range 30 {
		records = append(records, &kgo.Record{Topic: topic, Partition: int32(i % 3), Value: fmt.Appendf(nil, "v%d", i)})
	}
	produceSync(t, newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner())), records...)

	deleted, err := admin.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1}}})
	if err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	assertEqual(t, "DeleteRecords", deleted, kadm.DeleteRecordsResponses{topic: {0: {Topic: topic, Partition: 0, LowWatermark: 4}}})
	assertListedOffsets(t, "ListStartOffsets", listOffsets(t, admin.ListStartOffsets, topic), map[int32]int64{0: 4, 1: 0, 2: 0})
	assertListedOffsets(t, "ListEndOffsets", listOffsets(t, admin.ListEndOffsets, topic), map[int32]int64{0: 10, 1: 10, 2: 10})

	var request kadm.OffsetForLeaderEpochRequest
	for p := range int32(3) {
		request.Add(topic, p, epochs[p])
	}
	leaderEpochs, err := admin.OffsetForLeaderEpoch(ctx, request)
	if err != nil {
		t.Fatalf("OffsetForLeaderEpoch: %v", err)
	}
	wantEpochs := map[string]map[int32]kadm.OffsetForLeaderEpoch{topic: {}}
	for p := range int32(3) {
		wantEpochs[topic][p] = kadm.OffsetForLeaderEpoch{NodeID: id, Topic: topic, Partition: p, LeaderEpoch: epochs[p], EndOffset: 10}
	}
	assertEqual(t, "OffsetForLeaderEpoch", map[string]map[int32]kadm.OffsetForLeaderEpoch(leaderEpochs), wantEpochs)

	var wantZero []recordView
	for offset := int64(4); offset < 10; offset++ {
		wantZero = append(wantZero, recordView{0, offset, "", fmt.Sprintf("v%d", offset*3)})
	}
	consumed := byPartition(consumeAll(t, b, topic, 26))
	assertEqual(t, "partition 0 after DeleteRecords", consumed[0], wantZero)
}

func assertTopicConfig(t *testing.T, admin *kadm.Client, topic, name, value string, source kmsg.ConfigSource) {
	t.Helper()
	configs, err := admin.DescribeTopicConfigs(testContext(t, 30*time.Second), topic)
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	resource, err := configs.On(topic, nil)
	if err != nil || resource.Err != nil {
		t.Fatalf("DescribeTopicConfigs %s: %v %v", topic, err, resource.Err)
	}
	for _, config := range resource.Configs {
		if config.Key == name {
			got := "<nil>"
			if config.Value != nil {
				got = *config.Value
			}
			assertEqual(t, name+" value", got, value)
			assertEqual(t, name+" source", config.Source.String(), source.String())
			return
		}
	}
	t.Errorf("DescribeTopicConfigs %s: no %s", topic, name)
}

func listOffsets(t *testing.T, list func(ctx context.Context, topics ...string) (kadm.ListedOffsets, error), topic string) kadm.ListedOffsets {
	t.Helper()
	listed, err := list(testContext(t, 30*time.Second), topic)
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	return listed
}

func assertListedOffsets(t *testing.T, what string, listed kadm.ListedOffsets, want map[int32]int64) {
	t.Helper()
	got := make(map[int32]int64)
	listed.Each(func(offset kadm.ListedOffset) {
		if offset.Err != nil {
			t.Errorf("%s %s[%d]: %v", what, offset.Topic, offset.Partition, offset.Err)
		}
		got[offset.Partition] = offset.Offset
	})
	assertEqual(t, what, got, want)
}
