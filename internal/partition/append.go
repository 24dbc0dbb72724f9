package partition

import (
	"errors"
	"fmt"

	"samsa/internal/record"
)

// maxDecodeFactor bounds decompression while validating a batch: at most
// this many times max.message.bytes.
const maxDecodeFactor = 64

// AppendRecords validates and appends the records of one produce request
// as leader. records holds one or more batches: magic 2 batches are kept as
// received (only the base offset, leader epoch and, for LogAppendTime, the
// max timestamp and CRC are rewritten); a magic 0/1 message set is converted
// to one magic 2 batch first.
func (p *Partition) AppendRecords(records []byte) (AppendResult, error) {
	return p.AppendRecordsAcks(records, 1)
}

// AppendRecordsAcks is AppendRecords for a produce request with acks
// requiredAcks: with -1 (all) it fails with ErrNotEnoughReplicas, before
// appending anything, while the in-sync set is smaller than
// min.insync.replicas. The caller then waits with WaitReplicated(LastOffset).
func (p *Partition) AppendRecordsAcks(records []byte, requiredAcks int16) (AppendResult, error) {
	res := AppendResult{BaseOffset: -1, LastOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
	settings := p.Settings()
	magic, err := record.PeekMagic(records)
	if err != nil {
		return res, fmt.Errorf("%w: %v", record.ErrCorrupt, err)
	}
	if magic < 2 {
		if magic < 0 {
			return res, record.ErrInvalid
		}
		converted, err := record.ConvertLegacy(records, settings.MaxMessageBytes*maxDecodeFactor)
		if err != nil {
			return res, err
		}
		records = converted
	}
	headers, err := p.validate(records, settings)
	if err != nil {
		return res, err
	}
	if settings.Compression != "" && settings.Compression != "producer" {
		if records, err = recompress(records, headers, settings); err != nil {
			return res, err
		}
		if headers, err = p.validate(records, settings); err != nil {
			return res, err
		}
	}
	now := p.clock().UnixMilli()

	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.leader {
		return res, ErrNotLeader
	}
	if requiredAcks == -1 && p.inSyncCountLocked() < settings.MinInsyncReplicas {
		return res, ErrNotEnoughReplicas
	}
	// Idempotence: a batch the producer already wrote is answered with its
	// original offsets and not appended again.
	for i := range headers {
		h := &headers[i]
		if h.ProducerID < 0 {
			continue
		}
		dup, err := p.mu.producers.Check(h)
		if err != nil {
			return res, err
		}
		if dup != nil {
			if len(headers) != 1 {
				return res, fmt.Errorf("%w: duplicate batch inside a multi-batch request", record.ErrInvalid)
			}
			res.BaseOffset = dup.FirstOffset
			res.LastOffset = dup.LastOffset
			res.LogStartOffset = p.log.StartOffset()
			res.Duplicate = true
			return res, nil
		}
	}
	epoch := p.leaderEpoch.Load()
	for pos := 0; pos < len(records); {
		size, _ := record.PeekSize(records[pos:])
		batch := records[pos : pos+size]
		record.SetPartitionLeaderEpoch(batch, epoch)
		if settings.LogAppendTime {
			record.SetLogAppendTime(batch, now)
		}
		pos += size
	}
	ar, err := p.log.Append(records, true)
	if err != nil {
		return res, err
	}
	// Record the assigned offsets in the producer state.
	for pos := 0; pos < len(records); {
		h, _ := record.ParseHeader(records[pos:])
		if h.ProducerID >= 0 {
			p.mu.producers.Apply(&h)
		}
		pos += h.Size()
	}
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked(WakeOnAppend) // followers long-poll for the log end, not the high watermark
	res.BaseOffset = ar.FirstOffset
	res.LastOffset = ar.LastOffset
	res.LogStartOffset = ar.LogStartOffset
	if settings.LogAppendTime {
		res.LogAppendTime = now
	}
	return res, nil
}

// validate checks every batch in records and returns their headers.
func (p *Partition) validate(records []byte, settings Settings) ([]record.Header, error) {
	var headers []record.Header
	now := p.clock().UnixMilli()
	for pos := 0; pos < len(records); {
		size, err := record.PeekSize(records[pos:])
		if err != nil || size > len(records)-pos {
			return nil, fmt.Errorf("%w: truncated batch at byte %d", record.ErrCorrupt, pos)
		}
		batch := records[pos : pos+size]
		h, err := record.Validate(batch, settings.MaxMessageBytes)
		if err != nil {
			return nil, err
		}
		if h.IsControl() {
			return nil, ErrControlBatch
		}
		if h.IsTransactional() {
			return nil, ErrTransactionalBatch
		}
		if c := h.Compression(); c > record.CompressionZstd {
			return nil, ErrUnsupportedCodec
		}
		if !settings.LogAppendTime && settings.TimestampMaxDiffMs > 0 {
			for _, ts := range []int64{h.BaseTimestamp, h.MaxTimestamp} {
				if ts >= 0 && abs(ts-now) > settings.TimestampMaxDiffMs {
					return nil, ErrInvalidTimestamp
				}
			}
		}
		if settings.Compact {
			_, recs, err := record.Records(batch, settings.MaxMessageBytes*maxDecodeFactor)
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				if r.Key == nil {
					return nil, ErrKeyRequired
				}
			}
		}
		headers = append(headers, h)
		pos += size
	}
	if len(headers) == 0 {
		return nil, fmt.Errorf("%w: no batches", record.ErrInvalid)
	}
	return headers, nil
}

// recompress rewrites batches whose codec differs from the topic's
// compression.type, as Kafka does.
func recompress(records []byte, headers []record.Header, settings Settings) ([]byte, error) {
	want, ok := codecByName[settings.Compression]
	if !ok {
		return nil, ErrUnsupportedCodec
	}
	out := make([]byte, 0, len(records))
	pos := 0
	for i := range headers {
		batch := records[pos : pos+headers[i].Size()]
		pos += headers[i].Size()
		if headers[i].Compression() == want {
			out = append(out, batch...)
			continue
		}
		h, recs, err := record.Records(batch, settings.MaxMessageBytes*maxDecodeFactor)
		if err != nil {
			return nil, err
		}
		h.Attributes &^= record.CompressionMask
		rebuilt, err := record.BuildBatch(h, recs, want)
		if err != nil {
			return nil, err
		}
		out = append(out, rebuilt...)
	}
	return out, nil
}

var codecByName = map[string]record.Compression{
	"uncompressed": record.CompressionNone,
	"gzip":         record.CompressionGzip,
	"snappy":       record.CompressionSnappy,
	"lz4":          record.CompressionLZ4,
	"zstd":         record.CompressionZstd,
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// IsRecordError reports whether err is about the records themselves (as
// opposed to the partition's state).
func IsRecordError(err error) bool {
	return errors.Is(err, record.ErrCorrupt) || errors.Is(err, record.ErrInvalid) || errors.Is(err, record.ErrTooLarge) ||
		errors.Is(err, ErrKeyRequired) || errors.Is(err, ErrInvalidTimestamp)
}
