package cli

import (
	"math"
	"math/bits"
	"time"
)

// histogramSubBits sets the precision of Histogram: each power-of-two range
// is split into 2^histogramSubBits buckets, a relative error under 1%.
const histogramSubBits = 7

// histogramMaxExponent bounds recorded values at 2^40 µs (about 12 days);
// larger values are clamped.
const histogramMaxExponent = 40

// Histogram is a fixed-size log-linear latency histogram in microseconds,
// in the spirit of HdrHistogram: memory is constant whatever the sample
// count. It is not safe for concurrent use.
type Histogram struct {
	counts [(histogramMaxExponent + 1) << histogramSubBits]uint64
	count  uint64
	sum    float64
	min    int64
	max    int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{min: math.MaxInt64}
}

func histogramIndex(micros int64) int {
	if micros < 0 {
		micros = 0
	}
	v := uint64(micros)
	if v < 1<<histogramSubBits {
		return int(v)
	}
	exponent := bits.Len64(v) - histogramSubBits
	if exponent > histogramMaxExponent {
		return len(Histogram{}.counts) - 1
	}
	mantissa := v >> uint(exponent-1) & (1<<histogramSubBits - 1)
	return exponent<<histogramSubBits | int(mantissa)
}

// histogramValue returns the upper bound of bucket index in microseconds.
func histogramValue(index int) int64 {
	exponent := index >> histogramSubBits
	mantissa := int64(index & (1<<histogramSubBits - 1))
	if exponent == 0 {
		return mantissa
	}
	low := (int64(1)<<histogramSubBits | mantissa) << uint(exponent-1)
	return low + int64(1)<<uint(exponent-1) - 1
}

// Record adds one latency sample.
func (h *Histogram) Record(latency time.Duration) {
	micros := latency.Microseconds()
	h.counts[histogramIndex(micros)]++
	h.count++
	h.sum += float64(micros)
	h.min = min(h.min, micros)
	h.max = max(h.max, micros)
}

// Merge adds every sample of other to h.
func (h *Histogram) Merge(other *Histogram) {
	for i, c := range other.counts {
		h.counts[i] += c
	}
	h.count += other.count
	h.sum += other.sum
	h.min = min(h.min, other.min)
	h.max = max(h.max, other.max)
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.count }

// Mean is the average sample in milliseconds.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count) / 1000
}

// Max is the largest sample in milliseconds.
func (h *Histogram) Max() float64 {
	if h.count == 0 {
		return 0
	}
	return float64(h.max) / 1000
}

// Quantile returns the q-quantile (0 < q <= 1) in milliseconds, never more
// than the recorded maximum.
func (h *Histogram) Quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return float64(min(histogramValue(i), h.max)) / 1000
		}
	}
	return float64(h.max) / 1000
}
