package broker

import (
	"time"

	"samsa/internal/log"
	"samsa/internal/partition"
)

// settingsFor resolves a topic's overrides against the broker defaults.
func (b *Broker) settingsFor(overrides map[string]string) (partition.Settings, error) {
	t, err := b.cfg.ResolveTopic(overrides)
	if err != nil {
		return partition.Settings{}, err
	}
	lc := log.DefaultConfig()
	lc.SegmentBytes = t.SegmentBytes
	lc.SegmentMs = t.SegmentMs
	lc.IndexIntervalBytes = int32(t.IndexIntervalBytes)
	lc.SegmentIndexBytes = int32(t.SegmentIndexBytes)
	lc.RetentionMs = t.RetentionMs
	lc.RetentionBytes = t.RetentionBytes
	lc.FlushMessages = t.FlushMessages
	lc.FlushMs = t.FlushMs
	lc.FileDeleteDelayMs = t.FileDeleteDelayMs
	if !t.Delete {
		// cleanup.policy=compact alone: segments are never deleted by age
		// or size, only cleaned.
		lc.RetentionMs, lc.RetentionBytes = -1, -1
	}
	diff := t.TimestampDifferenceMaxMs
	if diff == 1<<63-1 {
		diff = 0
	}
	cleaner := log.DefaultCleanerConfig()
	cleaner.DeleteRetentionMs = t.DeleteRetentionMs
	cleaner.MinCompactionLagMs = t.MinCompactionLagMs
	cleaner.MaxCompactionLagMs = t.MaxCompactionLagMs
	cleaner.MinCleanableDirtyRatio = t.MinCleanableDirtyRatio
	cleaner.MaxMessageBytes = int(t.MaxMessageBytes)
	return partition.Settings{
		Log:                lc,
		Cleaner:            cleaner,
		MaxMessageBytes:    int(t.MaxMessageBytes),
		LogAppendTime:      t.TimestampType == "LogAppendTime",
		TimestampMaxDiffMs: diff,
		Compact:            t.Compact,
		Compression:        t.CompressionType,
		MinInsyncReplicas:  t.MinInsyncReplicas,
		ProducerExpiration: time.Duration(b.cfg.ProducerIDExpirationMs) * time.Millisecond,
	}, nil
}
