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

// FuzzRecoveryDamage damages a crashed three-segment log as the fuzzer
// says (cut one segment file, flip bytes of the active segment that its
// CRC or framing covers, replace an index or a checkpoint with arbitrary
// bytes) and checks the recovery properties of checkServed: the log opens,
// serves only whole appended batches at their offsets and appends after
// the last one. A clean-shutdown marker says the segment files were closed
// properly and are trusted without a scan (as by Kafka), so with one only
// the indexes and checkpoints are damaged.
func FuzzRecoveryDamage(f *testing.F) {
	f.Add(uint8(0), uint16(0xffff), []byte{}, uint8(0), []byte(nil))
	f.Add(uint8(2), uint16(100), []byte{10, 0, 1}, uint8(1), []byte{0, 0, 0, 1, 0, 0, 0, 9})
	f.Add(uint8(1), uint16(37), []byte{200, 1, 0x80}, uint8(4), []byte("0\n1\n0 0\n"))
	f.Add(uint8(0), uint16(0xffff), []byte{}, uint8(5), []byte("0\n99999\n"))
	var base *propertyLog
	f.Fuzz(func(t *testing.T, cutSegment uint8, cut uint16, flips []byte, target uint8, content []byte) {
		if base == nil {
			p := buildPropertyLog(t, 14)
			base = &p
		}
		p := *base
		fsys := p.clone(t)
		last := len(p.bases) - 1
		targets := []string{
			p.segmentName(0, indexSuffix), p.segmentName(1, timeIndexSuffix), p.segmentName(last, indexSuffix),
			testDir + "/" + epochCheckpointName, testDir + "/" + startCheckpointName, testDir + "/" + cleanShutdownName,
		}
		if content != nil && targets[int(target)%len(targets)] == testDir+"/"+cleanShutdownName {
			writeRaw(t, fsys, testDir+"/"+cleanShutdownName, nil)
			writeRaw(t, fsys, p.segmentName(int(cutSegment)%2, indexSuffix), content)
			checkServed(t, fsys, p.cfg, p.batches)
			return
		}
		if seg := int(cutSegment) % len(p.bases); cut != 0xffff {
			data := readRaw(t, fsys, p.segmentName(seg, logSuffix))
			writeRaw(t, fsys, p.segmentName(seg, logSuffix), data[:min(int(cut), len(data))])
		}
		active := readRaw(t, fsys, p.segmentName(last, logSuffix))
		own := p.segmentBatches(last)
		for i := 0; i+2 < len(flips) && len(active) > 0; i += 3 {
			pos := (int(flips[i])<<8 | int(flips[i+1])) % len(active)
			if covered(own, pos) && flips[i+2] != 0 {
				active[pos] ^= flips[i+2]
			}
		}
		writeRaw(t, fsys, p.segmentName(last, logSuffix), active)
		if content != nil {
			writeRaw(t, fsys, targets[int(target)%len(targets)], content)
		}
		checkServed(t, fsys, p.cfg, p.batches)
	})
}

// covered reports whether byte pos of the concatenated batches lies where
// a change is detected (anything but the base offset and leader epoch).
func covered(batches [][]byte, pos int) bool {
	for _, b := range batches {
		if pos < len(b) {
			return pos >= record.LengthPos && (pos < record.PartitionLeaderEpochPos || pos >= record.MagicPos)
		}
		pos -= len(b)
	}
	return false
}
