package log

import "math"

// Config holds the per-topic storage settings, named after Kafka's.
type Config struct {
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	IndexIntervalBytes int32 // index.interval.bytes
	SegmentIndexBytes  int32 // segment.index.bytes: maximum size of an index file
	RetentionMs        int64 // retention.ms; -1 = unlimited
	RetentionBytes     int64 // retention.bytes; -1 = unlimited
	FlushMessages      int64 // flush.messages; math.MaxInt64 = never force
	FlushMs            int64 // flush.ms; math.MaxInt64 = never force
	FileDeleteDelayMs  int64 // file.delete.delay.ms
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       1 << 30,
		SegmentMs:          7 * 24 * 60 * 60 * 1000,
		IndexIntervalBytes: 4096,
		SegmentIndexBytes:  10 << 20,
		RetentionMs:        7 * 24 * 60 * 60 * 1000,
		RetentionBytes:     -1,
		FlushMessages:      math.MaxInt64,
		FlushMs:            math.MaxInt64,
		FileDeleteDelayMs:  60000,
	}
}

// sanitized clamps settings to workable minimums.
func (c Config) sanitized() Config {
	if c.SegmentBytes < 64 {
		c.SegmentBytes = 64
	}
	if c.SegmentBytes > math.MaxUint32 {
		c.SegmentBytes = math.MaxUint32 // index positions are uint32
	}
	if c.SegmentMs <= 0 {
		c.SegmentMs = math.MaxInt64
	}
	if c.IndexIntervalBytes < 0 {
		c.IndexIntervalBytes = 0
	}
	if c.SegmentIndexBytes < 2*timeEntrySize {
		c.SegmentIndexBytes = 2 * timeEntrySize
	}
	if c.FlushMessages <= 0 {
		c.FlushMessages = 1
	}
	if c.FlushMs < 0 {
		c.FlushMs = 0
	}
	return c
}
