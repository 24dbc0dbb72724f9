package partition

import (
	"testing"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// BenchmarkAppendRecords appends one small batch per operation as a leader
// alone in its in-sync set (acks=1), from two goroutines, as two producer
// connections to one partition do.
func BenchmarkAppendRecords(b *testing.B) {
	fsys := vfs.Default()
	p, err := Open(fsys, b.TempDir(), ID{"t", 0}, [16]byte{1}, testSettings(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	p.BecomeLeader(1)
	one, err := record.BuildBatch(record.Header{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]record.Record{{Value: []byte("0123456789012345678901234567890123456789")}}, record.CompressionNone)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		records := make([]byte, len(one))
		for pb.Next() {
			copy(records, one)
			if _, err := p.AppendRecords(records); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
