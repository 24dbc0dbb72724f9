package cli

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// perfStats accumulates produce results from promise callbacks: a total
// histogram plus a window that progress reports print and reset.
type perfStats struct {
	mu struct {
		sync.Mutex
		total       *Histogram
		bytes       int64
		failed      int64
		firstErr    error
		windowStart time.Time
		windowCount int64
		windowBytes int64
		windowSumMs float64
		windowMaxMs float64
	}
}

func newPerfStats(start time.Time) *perfStats {
	s := &perfStats{}
	s.mu.total = NewHistogram()
	s.mu.windowStart = start
	return s
}

// record adds one acknowledged (or failed) record.
func (s *perfStats) record(latency time.Duration, size int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.mu.failed++
		if s.mu.firstErr == nil {
			s.mu.firstErr = err
		}
		return
	}
	s.mu.total.Record(latency)
	s.mu.bytes += int64(size)
	ms := float64(latency.Microseconds()) / 1000
	s.mu.windowCount++
	s.mu.windowBytes += int64(size)
	s.mu.windowSumMs += ms
	s.mu.windowMaxMs = max(s.mu.windowMaxMs, ms)
}

// printWindow writes a kafka-producer-perf-test style progress line and
// starts a new window.
func (s *perfStats) printWindow(w io.Writer, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seconds := now.Sub(s.mu.windowStart).Seconds()
	if seconds <= 0 {
		return
	}
	avg := 0.0
	if s.mu.windowCount > 0 {
		avg = s.mu.windowSumMs / float64(s.mu.windowCount)
	}
	fmt.Fprintf(w, "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
		s.mu.windowCount, float64(s.mu.windowCount)/seconds, float64(s.mu.windowBytes)/seconds/(1<<20), avg, s.mu.windowMaxMs)
	s.mu.windowStart = now
	s.mu.windowCount, s.mu.windowBytes, s.mu.windowSumMs, s.mu.windowMaxMs = 0, 0, 0, 0
}

// reportProgress prints a window line every interval until stop is closed.
func reportProgress(w io.Writer, interval time.Duration, stats *perfStats, stop <-chan struct{}, done chan<- struct{}) {
	reportEvery(w, interval, stop, done, stats.printWindow)
}

// reportEvery calls tick every interval until stop is closed, then closes
// done. Without a writer or interval it only waits for stop.
func reportEvery(w io.Writer, interval time.Duration, stop <-chan struct{}, done chan<- struct{}, tick func(io.Writer, time.Time)) {
	defer close(done)
	if w == nil || interval <= 0 {
		<-stop
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			tick(w, now)
		}
	}
}

// windowCounter counts records (and bytes) for progress lines: the
// measuring goroutine adds, the progress goroutine reads and resets the
// window.
type windowCounter struct {
	records, bytes atomic.Int64
	mu             struct {
		sync.Mutex
		start          time.Time
		records, bytes int64 // totals at the window's start
	}
}

func newWindowCounter(start time.Time) *windowCounter {
	c := &windowCounter{}
	c.mu.start = start
	return c
}

// window returns the records and bytes since the last call, per second,
// and starts a new window.
func (c *windowCounter) window(now time.Time) (records, bytes, seconds float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, totalBytes := c.records.Load(), c.bytes.Load()
	records, bytes = float64(total-c.mu.records), float64(totalBytes-c.mu.bytes)
	seconds = now.Sub(c.mu.start).Seconds()
	c.mu.start, c.mu.records, c.mu.bytes = now, total, totalBytes
	return records, bytes, seconds
}

// LatencySummary is a latency distribution in milliseconds.
type LatencySummary struct {
	AvgMs  float64 `json:"latency_avg_ms"`
	P50Ms  float64 `json:"latency_p50_ms"`
	P99Ms  float64 `json:"latency_p99_ms"`
	P999Ms float64 `json:"latency_p999_ms"`
	MaxMs  float64 `json:"latency_max_ms"`
}

func summarizeLatency(h *Histogram) LatencySummary {
	return LatencySummary{AvgMs: h.Mean(), P50Ms: h.Quantile(0.5), P99Ms: h.Quantile(0.99), P999Ms: h.Quantile(0.999), MaxMs: h.Max()}
}

// rate returns count per second, or 0 for an empty interval.
func rate(count float64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return count / elapsed.Seconds()
}

// pacer spaces sends to a fixed rate; a zero or negative rate never waits.
type pacer struct {
	start    time.Time
	interval time.Duration
}

func newPacer(recordsPerSecond float64) *pacer {
	p := &pacer{start: time.Now()}
	if recordsPerSecond > 0 {
		p.interval = time.Duration(float64(time.Second) / recordsPerSecond)
	}
	return p
}

// wait blocks until record n (0-based) is due or done is closed; it reports
// false if done was closed.
func (p *pacer) wait(n int64, done <-chan struct{}) bool {
	if p.interval == 0 {
		return true
	}
	delay := time.Until(p.start.Add(time.Duration(n) * p.interval))
	if delay <= 0 {
		return true
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}
