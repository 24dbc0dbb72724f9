package cli

import (
	"testing"
	"time"
)

func TestHistogramBucketsRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1 << 30, 1<<40 - 1} {
		index := histogramIndex(v)
		upper := histogramValue(index)
		if upper < v {
			t.Fatalf("value %d: bucket %d upper bound %d below value", v, index, upper)
		}
		if v >= 128 && float64(upper-v) > float64(v)/100 {
			t.Fatalf("value %d: bucket upper bound %d more than 1%% off", v, upper)
		}
		if index > 0 && histogramValue(index-1) >= v {
			t.Fatalf("value %d: previous bucket %d already covers it", v, index-1)
		}
	}
	if got := histogramIndex(1 << 62); got != len(Histogram{}.counts)-1 {
		t.Fatalf("huge value index %d", got)
	}
	if got := histogramIndex(-5); got != 0 {
		t.Fatalf("negative value index %d", got)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatal("empty histogram not zero")
	}
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	other := NewHistogram()
	other.Record(0)
	h.Merge(other)
	if h.Count() != 101 {
		t.Fatalf("count %d", h.Count())
	}
	if got := h.Max(); got != 100 {
		t.Fatalf("max %v", got)
	}
	if got := h.Mean(); got != 5050.0/101 {
		t.Fatalf("mean %v", got)
	}
	// rank ceil(0.5*101)=51 is the 50 ms sample (after the 0 sample).
	if got := h.Quantile(0.5); got < 50 || got > 50.5 {
		t.Fatalf("p50 %v", got)
	}
	if got := h.Quantile(1); got != 100 {
		t.Fatalf("p100 %v", got)
	}
}
