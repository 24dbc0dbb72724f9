package log

import (
	"math"
	"testing"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

func FuzzRecovery(f *testing.F) {
	valid := concat(
		buildBatch(batchSpec{base: 0, records: 3, timestamp: 10, epoch: 1, valueSize: 5}),
		buildBatch(batchSpec{base: 3, records: 1, timestamp: 5, epoch: 2}),
		buildBatch(batchSpec{base: 9, records: 2, timestamp: 50, epoch: 2, valueSize: 100}),
	)
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(valid[:61])
	f.Add([]byte{})
	f.Add(make([]byte, 100))
	corrupt := concat(valid)
	corrupt[70] ^= 0xff
	f.Add(corrupt)
	backwards := concat(buildBatch(batchSpec{base: 5, records: 1}), buildBatch(batchSpec{base: 2, records: 1}))
	f.Add(backwards)
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := vfs.NewMem()
		if err := fsys.MkdirAll(testDir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeRaw(t, fsys, segment0+".log", data)
		l, err := Open(fsys, testDir, testConfig(), nil, newClock().Now)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		if l.Size() > int64(len(data)) {
			t.Fatalf("size %d above input %d", l.Size(), len(data))
		}
		r, err := l.Read(l.StartOffset(), math.MaxInt32, math.MaxInt64, true)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		b, err := r.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		next := int64(0)
		for _, h := range splitBatches(t, b) {
			if h.BaseOffset < next {
				t.Fatalf("offsets go backwards: %d after %d", h.BaseOffset, next)
			}
			next = h.NextOffset()
		}
		if next > 0 && next != l.EndOffset() {
			t.Fatalf("end %d, last batch ends at %d", l.EndOffset(), next)
		}
		res, err := l.Append(buildBatch(batchSpec{records: 1}), true)
		if err != nil || res.FirstOffset != max(next, 0) {
			t.Fatalf("append after recovery: %+v %v", res, err)
		}
		if _, err := record.Validate(buildBatch(batchSpec{records: 1}), 0); err != nil {
			t.Fatal(err)
		}
	})
}
