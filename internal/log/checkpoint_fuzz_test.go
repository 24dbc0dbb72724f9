package log

import (
	"math"
	"testing"
)

// FuzzCheckpoints feeds arbitrary bytes to the decoders of the files that
// sit beside segments (leader-epoch and log-start checkpoints, offset and
// time indexes): they must refuse or decode, never panic, and never return
// more index entries than the input holds.
func FuzzCheckpoints(f *testing.F) {
	f.Add([]byte("0\n2\n0 0\n1 42\n"))
	f.Add([]byte("0\n1\n17\n"))
	f.Add(make([]byte, offsetEntrySize*3))
	f.Add(make([]byte, timeEntrySize*2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeEpochs(data)
		decodeStartOffset(data)
		if x, err := decodeOffsetIndex(data, 1<<30, math.MaxUint32+1, 1<<20); err == nil && len(x.entries)*offsetEntrySize > len(data) {
			t.Fatalf("%d offset entries from %d bytes", len(x.entries), len(data))
		}
		if x, err := decodeTimeIndex(data, math.MaxUint32+1, 1<<20); err == nil && len(x.entries)*timeEntrySize > len(data) {
			t.Fatalf("%d time entries from %d bytes", len(x.entries), len(data))
		}
	})
}
