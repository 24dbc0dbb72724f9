package log

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"samsa/internal/record"
	"samsa/internal/vfs"
)

// TestCleanConcurrentAppendsAndReads runs passes while one goroutine
// appends and another reads the whole log; every read must return valid
// batches in offset order, and the final log must hold the latest value of
// every key.
func TestCleanConcurrentAppendsAndReads(t *testing.T) {
	clock := newClock()
	cfg := smallSegments(t, 4)
	cfg.FileDeleteDelayMs = 60_000 // old files stay open for in-flight reads
	l := openLog(t, vfs.NewMem(), cfg, clock)
	defer l.Close()
	ts := clock.Now().UnixMilli()
	const total = 400
	var written []got
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range total {
			key, value := fmt.Sprintf("k%02d", i%13), fmt.Sprintf("v%02d", i%100)
			if _, err := l.Append(keyedBatch(t, ts, record.CompressionNone, -1, put(key, value)), true); err != nil {
				t.Errorf("append %d: %v", i, err)
				return
			}
			written = append(written, got{offset: int64(i), key: key, value: value})
		}
	}()
	readErrs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for reads := 0; reads < 10_000; reads++ {
			select {
			case <-done:
				return
			default:
			}
			if err := checkReadable(l); err != nil {
				readErrs <- err
				return
			}
		}
	}()
	for pass := 0; pass < 1000; pass++ {
		if _, err := l.Clean(clock.Now(), cleanerTestConfig()); err != nil && err != ErrCleanAborted {
			t.Fatalf("pass %d: %v", pass, err)
		}
		select {
		case <-done:
			pass = 1000
		default:
		}
	}
	wg.Wait()
	select {
	case err := <-readErrs:
		t.Fatal(err)
	default:
	}
	mustClean(t, l, clock.Now(), cleanerTestConfig())
	if latest := latestValues(logRecords(t, l, 0)); !equalMaps(latest, latestValues(written)) {
		t.Fatalf("latest %v, want %v", latest, latestValues(written))
	}
	if err := l.Tick(clock.Advance(time.Minute)); err != nil { // old files go
		t.Fatal(err)
	}
	if len(l.pending) != 0 {
		t.Fatalf("%d segments still pending deletion", len(l.pending))
	}
}

// checkReadable reads the whole log and checks its batches.
func checkReadable(l *Log) error {
	r, err := l.Read(0, math.MaxInt32, math.MaxInt64, true)
	if err != nil {
		return err
	}
	data, err := r.AppendTo(nil)
	if err != nil {
		return err
	}
	next := int64(0)
	return record.Walk(data, func(batch []byte) error {
		h, _, err := record.Records(batch, 0)
		if err != nil {
			return err
		}
		if h.BaseOffset < next {
			return fmt.Errorf("batch %d after offset %d", h.BaseOffset, next)
		}
		next = h.NextOffset()
		return nil
	})
}

func BenchmarkClean(b *testing.B) {
	const records, keys, perBatch = 100_000, 1_000, 10
	cfg := DefaultConfig()
	cfg.SegmentBytes = 1 << 20
	cfg.FileDeleteDelayMs = 0
	for b.Loop() {
		b.StopTimer()
		l, err := Open(vfs.Default(), b.TempDir()+"/p-0", cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		var size int64
		for i := 0; i < records; i += perBatch {
			kvs := make([]kv, perBatch)
			for j := range kvs {
				kvs[j] = put(fmt.Sprintf("key-%04d", (i+j)%keys), fmt.Sprintf("value-%08d", i+j))
			}
			batch := keyedBatch(b, 0, record.CompressionNone, -1, kvs...)
			size += int64(len(batch))
			if _, err := l.Append(batch, true); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(size)
		b.StartTimer()
		stats, err := l.Clean(time.Now(), cleanerTestConfig())
		if err != nil || stats.RecordsRemoved == 0 {
			b.Fatalf("%+v %v", stats, err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}
