package log

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// kv is one record of a keyed test batch; value "" with tombstone set is
// a null value.
type kv struct {
	key, value string
	tombstone  bool
}

func put(key, value string) kv { return kv{key: key, value: value} }
func del(key string) kv        { return kv{key: key, tombstone: true} }

// keyedBatch builds a batch of keyed records with timestamps ts, ts+1, ...
func keyedBatch(t testing.TB, ts int64, codec record.Compression, producerID int64, kvs ...kv) []byte {
	t.Helper()
	records := make([]record.Record, len(kvs))
	for i, r := range kvs {
		records[i] = record.Record{TimestampDelta: int64(i), OffsetDelta: int32(i), Key: []byte(r.key)}
		if !r.tombstone {
			records[i].Value = []byte(r.value)
		}
	}
	h := record.Header{BaseTimestamp: ts, ProducerID: producerID, ProducerEpoch: -1, BaseSequence: -1}
	if producerID >= 0 {
		h.ProducerEpoch, h.BaseSequence = 0, 0
	}
	b, err := record.BuildBatch(h, records, codec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendKeyed appends one batch per kv (or one batch holding all when
// together is set) and returns the offset of the first record.
func appendKeyed(t testing.TB, l *Log, ts int64, kvs ...kv) int64 {
	t.Helper()
	first := int64(-1)
	for _, r := range kvs {
		res, err := l.Append(keyedBatch(t, ts, record.CompressionNone, -1, r), true)
		if err != nil {
			t.Fatal(err)
		}
		if first < 0 {
			first = res.FirstOffset
		}
	}
	return first
}

// got is a record as read back.
type got struct {
	offset    int64
	key       string
	value     string
	timestamp int64
}

func (g got) String() string { return fmt.Sprintf("%d:%s=%s", g.offset, g.key, g.value) }

// logRecords reads every record at or above from, with null values shown
// as "<nil>".
func logRecords(t testing.TB, l *Log, from int64) []got {
	t.Helper()
	data := readAll(t, l, from, math.MaxInt32, math.MaxInt64, true)
	var out []got
	err := record.Walk(data, func(batch []byte) error {
		h, records, err := record.Records(batch, 0)
		if err != nil {
			return err
		}
		for _, r := range records {
			offset := h.BaseOffset + int64(r.OffsetDelta)
			if offset < from {
				continue
			}
			value := string(r.Value)
			if r.Value == nil {
				value = "<nil>"
			}
			out = append(out, got{offset: offset, key: string(r.Key), value: value, timestamp: h.BaseTimestamp + r.TimestampDelta})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gotStrings(records []got) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.String()
	}
	return out
}

func wantRecords(t testing.TB, l *Log, from int64, want ...string) {
	t.Helper()
	if have := gotStrings(logRecords(t, l, from)); !slices.Equal(have, want) {
		t.Fatalf("records from %d:\n have %v\n want %v", from, have, want)
	}
}

// latestValues folds records into the latest value per key (tombstones
// delete).
func latestValues(records []got) map[string]string {
	out := map[string]string{}
	for _, r := range records {
		if r.value == "<nil>" {
			delete(out, r.key)
		} else {
			out[r.key] = r.value
		}
	}
	return out
}

// cleanerTestConfig cleans whenever asked and keeps tombstones for an hour.
func cleanerTestConfig() CleanerConfig {
	cfg := DefaultCleanerConfig()
	cfg.MinCleanableDirtyRatio = 0
	cfg.DeleteRetentionMs = time.Hour.Milliseconds()
	return cfg
}

// smallSegments returns a config whose segments hold about perSegment
// one-record keyed batches.
func smallSegments(t testing.TB, perSegment int) Config {
	cfg := testConfig()
	cfg.SegmentBytes = int64(perSegment * len(keyedBatch(t, 0, record.CompressionNone, -1, put("k00", "v00"))))
	cfg.FileDeleteDelayMs = 0
	return cfg
}

func openCleanerLog(t testing.TB, fsys vfs.FS, perSegment int, clock *fakeClock) *Log {
	t.Helper()
	return openLog(t, fsys, smallSegments(t, perSegment), clock)
}

func mustClean(t testing.TB, l *Log, now time.Time, cfg CleanerConfig) CleanStats {
	t.Helper()
	stats, err := l.Clean(now, cfg)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	return stats
}
