// Package record holds views over Kafka record batches (magic 2) and legacy
// message sets (magic 0 and 1): header parsing, validation, CRC-32C, the
// in-place rewrites the broker needs (base offset, leader epoch, log append
// time), conversion between formats, and compression codecs.
//
// Batches stay raw bytes end to end. Nothing here decodes individual records
// unless a caller asks for it (conversion, compaction, validation of legacy
// formats).
package record

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Byte layout of a magic 2 record batch header. All integers are big endian.
const (
	BaseOffsetPos           = 0  // int64
	LengthPos               = 8  // int32: bytes that follow this field
	PartitionLeaderEpochPos = 12 // int32
	MagicPos                = 16 // int8 (same position in magic 0 and 1 messages)
	CRCPos                  = 17 // uint32: CRC-32C of bytes [AttributesPos, end)
	AttributesPos           = 21 // int16
	LastOffsetDeltaPos      = 23 // int32
	BaseTimestampPos        = 27 // int64
	MaxTimestampPos         = 35 // int64
	ProducerIDPos           = 43 // int64
	ProducerEpochPos        = 51 // int16
	BaseSequencePos         = 53 // int32
	RecordCountPos          = 57 // int32

	// HeaderSize is the size of a magic 2 batch header.
	HeaderSize = 61
	// LogOverhead is the size of the offset and length fields that start
	// every batch and every legacy message.
	LogOverhead = 12
)

// Attribute bits of a magic 2 batch.
const (
	CompressionMask        = 0x07
	TimestampTypeBit       = 0x08 // set: LogAppendTime
	TransactionalBit       = 0x10
	ControlBit             = 0x20
	DeleteHorizonBit       = 0x40
	NoProducerID     int64 = -1
	NoSequence       int32 = -1
)

// Compression codecs, as stored in the low three attribute bits.
type Compression int8

const (
	CompressionNone   Compression = 0
	CompressionGzip   Compression = 1
	CompressionSnappy Compression = 2
	CompressionLZ4    Compression = 3
	CompressionZstd   Compression = 4
)

// Sentinel errors. Handlers map them to Kafka error codes at the edge.
var (
	// ErrCorrupt marks bytes that are not a well-formed batch: bad CRC,
	// impossible lengths or counts. Maps to CORRUPT_MESSAGE.
	ErrCorrupt = errors.New("record: corrupt batch")
	// ErrTooLarge marks a batch above the size limit. Maps to MESSAGE_TOO_LARGE.
	ErrTooLarge = errors.New("record: batch too large")
	// ErrInvalid marks a batch that is well formed but not acceptable
	// (unsupported magic, bad codec, bad timestamps). Maps to INVALID_RECORD
	// or UNSUPPORTED_COMPRESSION_TYPE where the caller knows better.
	ErrInvalid = errors.New("record: invalid batch")
	// ErrShort marks a buffer that ends before the batch it starts.
	ErrShort = errors.New("record: short buffer")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C returns the CRC-32C (Castagnoli) checksum of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Header is the decoded header of a magic 2 batch.
type Header struct {
	BaseOffset           int64
	Length               int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the total size of the batch on the wire, including LogOverhead.
func (h *Header) Size() int { return int(h.Length) + LogOverhead }

// LastOffset is the offset of the last record in the batch.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset after the batch.
func (h *Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Compression returns the batch codec.
func (h *Header) Compression() Compression { return Compression(h.Attributes & CompressionMask) }

// IsTransactional reports whether the batch belongs to a transaction.
func (h *Header) IsTransactional() bool { return h.Attributes&TransactionalBit != 0 }

// IsControl reports whether the batch is a control batch (transaction marker).
func (h *Header) IsControl() bool { return h.Attributes&ControlBit != 0 }

// LogAppendTime reports whether the batch timestamps are broker-assigned.
func (h *Header) LogAppendTime() bool { return h.Attributes&TimestampTypeBit != 0 }

// LastSequence is the sequence number of the last record, or NoSequence.
func (h *Header) LastSequence() int32 {
	if h.BaseSequence == NoSequence {
		return NoSequence
	}
	// Sequences wrap at MaxInt32 (KIP-98).
	return int32((int64(h.BaseSequence) + int64(h.LastOffsetDelta)) % (1 << 31))
}

// ParseHeader decodes the magic 2 header at the start of b. It checks only
// that the header fits and the magic is 2; Validate checks the rest.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, ErrShort
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[BaseOffsetPos:]))
	h.Length = int32(binary.BigEndian.Uint32(b[LengthPos:]))
	h.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(b[PartitionLeaderEpochPos:]))
	h.Magic = int8(b[MagicPos])
	h.CRC = binary.BigEndian.Uint32(b[CRCPos:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[AttributesPos:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[LastOffsetDeltaPos:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[BaseTimestampPos:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[MaxTimestampPos:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[ProducerIDPos:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[ProducerEpochPos:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[BaseSequencePos:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[RecordCountPos:]))
	if h.Magic != 2 {
		return h, ErrInvalid
	}
	if h.Length < HeaderSize-LogOverhead {
		return h, ErrCorrupt
	}
	return h, nil
}

// Validate checks one complete magic 2 batch: b must hold exactly the batch.
// It verifies the length field, the CRC-32C, the record count against the
// offset delta, and the size limit (maxBytes <= 0 means no limit).
func Validate(b []byte, maxBytes int) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		return h, ErrCorrupt
	}
	if maxBytes > 0 && len(b) > maxBytes {
		return h, ErrTooLarge
	}
	if CRC32C(b[AttributesPos:]) != h.CRC {
		return h, ErrCorrupt
	}
	if h.RecordCount < 0 || h.LastOffsetDelta < 0 {
		return h, ErrCorrupt
	}
	if !h.IsControl() && h.RecordCount == 0 {
		return h, ErrInvalid
	}
	if h.Compression() == CompressionNone && int64(h.RecordCount) != int64(h.LastOffsetDelta)+1 && h.RecordCount > 0 {
		// Uncompressed producer batches are dense; compacted batches keep
		// their offset delta while records are removed, so only a count
		// above the delta is impossible.
		if int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
			return h, ErrCorrupt
		}
	}
	return h, nil
}

// SetBaseOffset rewrites the base offset in place. The CRC does not cover it.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[BaseOffsetPos:], uint64(offset))
}

// SetPartitionLeaderEpoch rewrites the leader epoch in place. The CRC does
// not cover it.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[PartitionLeaderEpochPos:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime with the given time as
// its max timestamp, and recomputes the CRC. Records keep their deltas;
// readers use the batch max timestamp for every record (KIP-32).
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[AttributesPos:]) | TimestampTypeBit
	binary.BigEndian.PutUint16(b[AttributesPos:], attrs)
	binary.BigEndian.PutUint64(b[MaxTimestampPos:], uint64(ts))
	binary.BigEndian.PutUint32(b[CRCPos:], CRC32C(b[AttributesPos:]))
}

// PeekSize returns the total size of the batch or legacy message that starts
// at b, from its length field, or ErrShort if b is shorter than LogOverhead.
func PeekSize(b []byte) (int, error) {
	if len(b) < LogOverhead {
		return 0, ErrShort
	}
	n := int32(binary.BigEndian.Uint32(b[LengthPos:]))
	if n < 0 {
		return 0, ErrCorrupt
	}
	return int(n) + LogOverhead, nil
}

// PeekMagic returns the magic byte of the batch or message at b.
func PeekMagic(b []byte) (int8, error) {
	if len(b) <= MagicPos {
		return 0, ErrShort
	}
	return int8(b[MagicPos]), nil
}
