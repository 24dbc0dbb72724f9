package clients

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// pyMetadata is kafka-python's RecordMetadata.
type pyMetadata struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// pyRecord is a consumed record as the python scripts print it.
type pyRecord struct {
	Partition     int32  `json:"partition"`
	Offset        int64  `json:"offset"`
	Timestamp     *int64 `json:"timestamp,omitempty"`
	TimestampType *int   `json:"timestamp_type,omitempty"`
	Key           string `json:"key"`
	Value         string `json:"value"`
}

// baseTimestamp is a whole second a minute ago: recent enough that no
// retention deletes it, fixed for the test so lookups are exact.
func baseTimestamp() int64 {
	return time.Now().Add(-time.Minute).Truncate(time.Second).UnixMilli()
}

func int64Pointer(value int64) *int64 { return &value }
func intPointer(value int) *int       { return &value }

func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Errorf("%s:\n got  %s\n want %s", what, gotJSON, wantJSON)
	}
}

func TestKafkaPythonProducer(t *testing.T) {
	requirePython(t, "kafka")
	b := startBroker(t)
	const topic = "kp-producer"
	createTopic(t, b, topic, 3, nil)
	hashKeys := []string{"alpha", "beta", "gamma", "delta", "alpha", "beta", "epsilon", "alpha"}
	var result struct {
		Explicit   []pyMetadata `json:"explicit"`
		Partitions []int32      `json:"partitions"`
		Hashed     []pyMetadata `json:"hashed"`
		Consumed   []pyRecord   `json:"consumed"`
	}
	runPython(t, "kp_producer.py", map[string]any{"bootstrap": b.addr, "topic": topic, "hash_keys": hashKeys}, &result)

	assertEqual(t, "explicit-partition metadata", result.Explicit, []pyMetadata{
		{topic, 1, 0}, {topic, 1, 1}, {topic, 1, 2},
	})
	assertEqual(t, "partitions_for", result.Partitions, []int32{0, 1, 2})

	// Expected placement: murmur2 of the JSON-serialized key, offsets
	// counting on from what each partition already holds.
	next := map[int32]int64{1: 3}
	var wantHashed []pyMetadata
	want := []pyRecord{}
	for i := range 3 {
		want = append(want, pyRecord{Partition: 1, Offset: int64(i),
			Key: fmt.Sprintf(`{"id": %d}`, i), Value: fmt.Sprintf(`{"n": %d, "text": "explicit-%d"}`, i, i)})
	}
	for _, key := range hashKeys {
		serialized := `"` + key + `"`
		partition := kafkaPartition([]byte(serialized), 3)
		wantHashed = append(wantHashed, pyMetadata{topic, partition, next[partition]})
		want = append(want, pyRecord{Partition: partition, Offset: next[partition],
			Key: serialized, Value: `{"key": "` + key + `"}`})
		next[partition]++
	}
	assertEqual(t, "key-hash metadata", result.Hashed, wantHashed)
	sortRecords(want)
	assertEqual(t, "consumed records", result.Consumed, want)
}

func TestKafkaPythonConsumer(t *testing.T) {
	requirePython(t, "kafka")
	b := startBroker(t)
	const topic = "kp-consumer"
	createTopic(t, b, topic, 1, nil)
	base := baseTimestamp()
	const count = 5
	var result struct {
		Produced      []struct{ Offset, Timestamp int64 } `json:"produced"`
		Beginning     int64                               `json:"beginning"`
		End           int64                               `json:"end"`
		Times         map[string]*struct{ Offset, Timestamp int64 }
		All           []pyRecord `json:"all"`
		From3         []pyRecord `json:"from_3"`
		PositionAfter int64      `json:"position_after"`
		AfterEnd      []pyRecord `json:"after_end"`
	}
	runPython(t, "kp_consumer.py", map[string]any{"bootstrap": b.addr, "topic": topic, "base_ts": base, "count": count}, &result)

	var wantRecords []pyRecord
	var wantProduced []struct{ Offset, Timestamp int64 }
	for i := range count {
		wantProduced = append(wantProduced, struct{ Offset, Timestamp int64 }{int64(i), base + 1000*int64(i)})
		wantRecords = append(wantRecords, pyRecord{Partition: 0, Offset: int64(i),
			Timestamp: int64Pointer(base + 1000*int64(i)), TimestampType: intPointer(0),
			Key: fmt.Sprintf("key-%d", i), Value: fmt.Sprintf("value-%d", i)})
	}
	assertEqual(t, "produce metadata", result.Produced, wantProduced)
	assertEqual(t, "beginning_offsets", result.Beginning, int64(0))
	assertEqual(t, "end_offsets", result.End, int64(count))
	type found = struct{ Offset, Timestamp int64 }
	assertEqual(t, "offsets_for_times(first)", result.Times["first"], &found{0, base})
	assertEqual(t, "offsets_for_times(between 1 and 2)", result.Times["between_1_2"], &found{2, base + 2000})
	assertEqual(t, "offsets_for_times(last)", result.Times["last"], &found{count - 1, base + 1000*(count-1)})
	assertEqual(t, "offsets_for_times(after last)", result.Times["after_last"], (*found)(nil))
	assertEqual(t, "all records", result.All, wantRecords)
	assertEqual(t, "records from seek(3)", result.From3, wantRecords[3:])
	assertEqual(t, "position after draining", result.PositionAfter, int64(count))
	assertEqual(t, "records after the end", result.AfterEnd, []pyRecord{})
}

func TestKafkaPythonAdmin(t *testing.T) {
	requirePython(t, "kafka")
	b := startBroker(t)
	const topic = "kp-admin"
	var result struct {
		CreateErrors             [][]any `json:"create_errors"`
		Listed                   bool    `json:"listed"`
		Described                []any   `json:"described"`
		RetentionMs              *string `json:"retention_ms"`
		CreateAgain              string  `json:"create_again"`
		CreatePartitionsErrors   [][]any `json:"create_partitions_errors"`
		DescribedAfterPartitions []any   `json:"described_after_partitions"`
		DeleteErrors             [][]any `json:"delete_errors"`
		ListedAfterDelete        bool    `json:"listed_after_delete"`
	}
	runPython(t, "kp_admin.py", map[string]any{"bootstrap": b.addr, "topic": topic}, &result)

	leader := float64(b.nodeID(t))
	described := func(partitions ...float64) []any {
		list := make([]any, len(partitions))
		for i, p := range partitions {
			list[i] = p
		}
		return []any{map[string]any{"topic": topic, "error_code": 0.0, "partitions": list, "leaders": []any{leader}}}
	}
	noError := [][]any{{topic, 0.0}}
	assertEqual(t, "create_topics errors", result.CreateErrors, noError)
	assertEqual(t, "listed after create", result.Listed, true)
	assertEqual(t, "describe_topics", result.Described, described(0, 1))
	retention := "3600000"
	assertEqual(t, "retention.ms", result.RetentionMs, &retention)
	assertEqual(t, "second create_topics", result.CreateAgain, "TopicAlreadyExistsError")
	assertEqual(t, "create_partitions errors", result.CreatePartitionsErrors, noError)
	assertEqual(t, "describe_topics after create_partitions", result.DescribedAfterPartitions, described(0, 1, 2, 3))
	assertEqual(t, "delete_topics errors", result.DeleteErrors, noError)
	assertEqual(t, "listed after delete", result.ListedAfterDelete, false)
}

func TestKafkaPythonOriginSnippet(t *testing.T) {
	requirePython(t, "kafka")
	b := startBroker(t, withPartitions(3))
	var result struct {
		Metadata pyMetadata `json:"metadata"`
		Printed  string     `json:"printed"`
		Consumed []pyRecord `json:"consumed"`
	}
	runPython(t, "kp_origin.py", map[string]any{"bootstrap": b.addr}, &result)
	// No key: kafka-python picks a random available partition.
	partition := result.Metadata.Partition
	if partition < 0 || partition > 2 {
		t.Errorf("auto-created topic: produced to partition %d, want 0..2", partition)
	}
	assertEqual(t, "metadata", result.Metadata, pyMetadata{"test-topic1", partition, 0})
	assertEqual(t, "print(producer.partitions_for('test-topic1'))", result.Printed, "{0, 1, 2}")
	assertEqual(t, "consumed", result.Consumed, []pyRecord{{Partition: partition, Offset: 0, Value: "some_message_bytes"}})
}

func TestKafkaPythonLegacyMessageFormat(t *testing.T) {
	requirePython(t, "kafka")
	b := startBroker(t)
	for _, test := range []struct {
		name       string
		apiVersion []int
		timestamps bool
	}{
		{"api_version_0_10_magic_1", []int{0, 10}, true},
		{"api_version_0_9_magic_0", []int{0, 9}, false},
	} {
		t.Run(test.name, func(t *testing.T) {
			topic := "kp-legacy-" + test.name
			createTopic(t, b, topic, 1, nil)
			base := baseTimestamp()
			var result struct {
				Produced []pyMetadata `json:"produced"`
				Consumed []pyRecord   `json:"consumed"`
			}
			runPython(t, "kp_legacy.py", map[string]any{"bootstrap": b.addr, "topic": topic,
				"api_version": test.apiVersion, "base_ts": base}, &result)
			var wantProduced []pyMetadata
			var wantConsumed []pyRecord
			for i := range 3 {
				wantProduced = append(wantProduced, pyMetadata{Partition: 0, Offset: int64(i)})
				record := pyRecord{Partition: 0, Offset: int64(i),
					Key: fmt.Sprintf("legacy-key-%d", i), Value: fmt.Sprintf("legacy-value-%d", i)}
				if test.timestamps {
					record.Timestamp = int64Pointer(base + 1000*int64(i))
				}
				wantConsumed = append(wantConsumed, record)
			}
			assertEqual(t, "produce metadata", result.Produced, wantProduced)
			assertEqual(t, "consumed", result.Consumed, wantConsumed)
		})
	}
}
