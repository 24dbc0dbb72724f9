package partition

import (
	"fmt"
	"testing"
	"time"

	"samsa/internal/log"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

// TestCompactedReplicaCleans: a compact topic's replica keeps only the
// latest value per key, at its original offset, after a maintenance pass.
func TestCompactedReplicaCleans(t *testing.T) {
	p := openTest(t, vfs.NewMem())
	s := testSettings()
	s.Compact = true
	s.Log.SegmentBytes = 300 // a few batches per segment
	s.Log.RetentionMs, s.Log.RetentionBytes = -1, -1
	s.Cleaner = log.DefaultCleanerConfig()
	p.SetSettings(s)
	p.BecomeLeader(0)
	h := record.Header{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1000, MaxTimestamp: 1000}
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("k%d", i%3)
		b, err := record.BuildBatch(h, []record.Record{{Key: []byte(key), Value: []byte(fmt.Sprint(i))}}, record.CompressionNone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.AppendRecords(b); err != nil {
			t.Fatal(err)
		}
	}
	before := p.Log().Size()
	p.maybeClean(time.UnixMilli(5000))
	if after := p.Log().Size(); after >= before {
		t.Fatalf("log size %d -> %d: nothing cleaned", before, after)
	}
	info, err := p.Read(0, 1<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := info.Records.AppendTo(nil)
	latest := map[string]string{}
	var offsets []int64
	record.Walk(data, func(b []byte) error {
		h, recs, err := record.Records(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			latest[string(r.Key)] = string(r.Value)
			offsets = append(offsets, h.BaseOffset+int64(r.OffsetDelta))
		}
		return nil
	})
	// Every key's latest value survives; offsets only grow.
	for k, want := range map[string]string{"k0": "27", "k1": "28", "k2": "29"} {
		if latest[k] != want {
			t.Fatalf("latest %s = %q, want %q (all: %v)", k, latest[k], want, latest)
		}
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] <= offsets[i-1] {
			t.Fatalf("offsets not increasing: %v", offsets)
		}
	}
	if offsets[len(offsets)-1] != 29 || len(offsets) >= 30 {
		t.Fatalf("offsets after cleaning %v: want fewer than 30 ending at 29", offsets)
	}
}
