package log

import (
	"fmt"
	"math"
	"testing"

	"samsa/internal/vfs"
)

func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.SegmentBytes = 64 << 20
			l, err := Open(vfs.Default(), b.TempDir(), cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			batch := buildBatch(batchSpec{records: 10, valueSize: (size - 61 - 10*10) / 10})
			b.SetBytes(int64(len(batch)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := l.Append(batch, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 8 << 20
	l, err := Open(vfs.Default(), b.TempDir(), cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := buildBatch(batchSpec{records: 10, valueSize: 90}) // ~1 KiB
	for range 20000 {
		if _, err := l.Append(batch, true); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()
	buf := make([]byte, 0, 1<<20)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	i := int64(0)
	for b.Loop() {
		offset := (i * 7919) % end
		i++
		r, err := l.Read(offset, 1<<20, math.MaxInt64, true)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = r.AppendTo(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenRecovery(b *testing.B) {
	dir := b.TempDir()
	cfg := DefaultConfig()
	l, err := Open(vfs.Default(), dir, cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := buildBatch(batchSpec{records: 10, valueSize: 90})
	for range 20000 { // ~20 MiB in the last segment
		if _, err := l.Append(batch, true); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	// Leave it open: no clean-shutdown marker, so every Open scans.
	b.SetBytes(l.Size())
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(vfs.Default(), dir, cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		r.closeSegments() // close without a marker so the next Open scans again
		b.StartTimer()
	}
	b.StopTimer()
	l.closeSegments()
}
