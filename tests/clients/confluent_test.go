package clients

import (
	"fmt"
	"strings"
	"testing"
)

func TestConfluentCompressionCodecs(t *testing.T) {
	requirePython(t, "confluent_kafka")
	b := startBroker(t)
	const count = 100
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "cf-codec-" + codec
			createTopic(t, b, topic, 1, nil)
			type report struct {
				Error     *string `json:"error"`
				Partition int32   `json:"partition"`
				Offset    int64   `json:"offset"`
				Key       string  `json:"key"`
			}
			type record struct {
				Partition int32      `json:"partition"`
				Offset    int64      `json:"offset"`
				Key       string     `json:"key"`
				Value     string     `json:"value"`
				Headers   [][]string `json:"headers"`
			}
			var result struct {
				Reports   []report `json:"reports"`
				Unflushed int      `json:"unflushed"`
				Records   []record `json:"records"`
				Errors    []string `json:"errors"`
			}
			runPython(t, "cf_codecs.py", map[string]any{"bootstrap": b.addr, "topic": topic, "codec": codec, "count": count}, &result)
			var wantReports []report
			var wantRecords []record
			for i := range count {
				key := fmt.Sprintf("key-%d", i)
				wantReports = append(wantReports, report{Partition: 0, Offset: int64(i), Key: key})
				wantRecords = append(wantRecords, record{Partition: 0, Offset: int64(i), Key: key,
					Value:   strings.Repeat(fmt.Sprintf("%s-value-%d-", codec, i), 8),
					Headers: [][]string{{"index", fmt.Sprint(i)}}})
			}
			assertEqual(t, "unflushed messages", result.Unflushed, 0)
			assertEqual(t, "delivery reports", result.Reports, wantReports)
			assertEqual(t, "consumer errors", result.Errors, []string{})
			assertEqual(t, "consumed records", result.Records, wantRecords)
		})
	}
}

func TestConfluentAdmin(t *testing.T) {
	requirePython(t, "confluent_kafka")
	b := startBroker(t)
	const topic = "cf-admin"
	type entry struct {
		Value     string `json:"value"`
		Source    string `json:"source"`
		IsDefault bool   `json:"is_default"`
	}
	var result struct {
		ConfigsCreated    map[string]entry `json:"configs_created"`
		ConfigsAltered    map[string]entry `json:"configs_altered"`
		PartitionsCreated []int32          `json:"partitions_created"`
		PartitionsGrown   []int32          `json:"partitions_grown"`
		Brokers           [][]any          `json:"brokers"`
		Listed            bool             `json:"listed"`
		ListedAfterDelete bool             `json:"listed_after_delete"`
	}
	runPython(t, "cf_admin.py", map[string]any{"bootstrap": b.addr, "topic": topic}, &result)

	segmentDefault := entry{"1073741824", "DEFAULT_CONFIG", true}
	assertEqual(t, "configs after create_topics", result.ConfigsCreated, map[string]entry{
		"cleanup.policy": {"delete", "DYNAMIC_TOPIC_CONFIG", false},
		"retention.ms":   {"1000000", "DYNAMIC_TOPIC_CONFIG", false},
		"segment.bytes":  segmentDefault,
	})
	// AlterConfigs (not incremental) replaces the topic's whole dynamic
	// config: cleanup.policy falls back to its default.
	assertEqual(t, "configs after alter_configs", result.ConfigsAltered, map[string]entry{
		"cleanup.policy": {"delete", "DEFAULT_CONFIG", true},
		"retention.ms":   {"2000000", "DYNAMIC_TOPIC_CONFIG", false},
		"segment.bytes":  segmentDefault,
	})
	assertEqual(t, "partitions after create_topics", result.PartitionsCreated, []int32{0, 1})
	assertEqual(t, "partitions after create_partitions", result.PartitionsGrown, []int32{0, 1, 2, 3, 4})
	assertEqual(t, "list_topics brokers", result.Brokers, [][]any{{float64(b.nodeID(t)), "127.0.0.1", float64(b.port)}})
	assertEqual(t, "listed after create", result.Listed, true)
	assertEqual(t, "listed after delete", result.ListedAfterDelete, false)
}
