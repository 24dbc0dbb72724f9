package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte layout of a legacy (magic 0 and 1) message after its offset and size.
const (
	legacyCRCPos        = 12 // uint32: CRC-32 (IEEE) of bytes [MagicPos, end)
	legacyAttributesPos = 17 // int8
	legacyTimestampPos  = 18 // int64, magic 1 only
	// NoTimestamp is the timestamp of records converted from magic 0.
	NoTimestamp int64 = -1
)

// legacyMessage is one decoded magic 0 or 1 message.
type legacyMessage struct {
	offset     int64
	magic      int8
	attributes int8
	timestamp  int64
	key        []byte
	value      []byte
}

func (m *legacyMessage) compression() Compression {
	return Compression(m.attributes & CompressionMask)
}

func (m *legacyMessage) logAppendTime() bool {
	return m.magic == 1 && m.attributes&TimestampTypeBit != 0
}

// parseLegacy decodes one complete legacy message, verifying its CRC.
func parseLegacy(entry []byte) (legacyMessage, error) {
	var m legacyMessage
	if len(entry) < LogOverhead+minEntryLength {
		return m, fmt.Errorf("%w: legacy message too short", ErrCorrupt)
	}
	m.offset = int64(binary.BigEndian.Uint64(entry[BaseOffsetPos:]))
	m.magic = int8(entry[MagicPos])
	m.attributes = int8(entry[legacyAttributesPos])
	if m.magic != 0 && m.magic != 1 {
		return m, fmt.Errorf("%w: magic %d in a legacy message set", ErrInvalid, m.magic)
	}
	if crc32.ChecksumIEEE(entry[MagicPos:]) != binary.BigEndian.Uint32(entry[legacyCRCPos:]) {
		return m, fmt.Errorf("%w: legacy message CRC mismatch", ErrCorrupt)
	}
	rest := entry[legacyTimestampPos:]
	m.timestamp = NoTimestamp
	if m.magic == 1 {
		if len(rest) < 8 {
			return m, fmt.Errorf("%w: legacy message too short for its timestamp", ErrCorrupt)
		}
		m.timestamp = int64(binary.BigEndian.Uint64(rest))
		rest = rest[8:]
	}
	var err error
	if m.key, rest, err = legacyBytes(rest); err != nil {
		return m, err
	}
	if m.value, rest, err = legacyBytes(rest); err != nil {
		return m, err
	}
	if len(rest) != 0 {
		return m, fmt.Errorf("%w: %d bytes after legacy message value", ErrCorrupt, len(rest))
	}
	return m, nil
}

// legacyBytes reads an int32-length-prefixed byte string; -1 is null.
func legacyBytes(b []byte) (value, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%w: legacy bytes length cut short", ErrCorrupt)
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	if n == -1 {
		return nil, b, nil
	}
	if n < -1 || int(n) > len(b) {
		return nil, nil, fmt.Errorf("%w: legacy bytes length %d out of range", ErrCorrupt, n)
	}
	return b[:n:n], b[n:], nil
}

// appendLegacy appends one legacy message with its size and CRC filled in.
func appendLegacy(dst []byte, m *legacyMessage) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.offset))
	dst = binary.BigEndian.AppendUint32(dst, 0) // size, set below
	dst = binary.BigEndian.AppendUint32(dst, 0) // CRC, set below
	dst = append(dst, byte(m.magic), byte(m.attributes))
	if m.magic == 1 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.timestamp))
	}
	dst = appendLegacyBytes(dst, m.key)
	dst = appendLegacyBytes(dst, m.value)
	message := dst[start:]
	binary.BigEndian.PutUint32(message[LengthPos:], uint32(len(message)-LogOverhead))
	binary.BigEndian.PutUint32(message[legacyCRCPos:], crc32.ChecksumIEEE(message[MagicPos:]))
	return dst
}

func appendLegacyBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.BigEndian.AppendUint32(dst, 0xffffffff)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// legacyConverter gathers the records of a legacy message set.
type legacyConverter struct {
	budget        int // bytes of decompressed data still allowed
	codec         Compression
	logAppendTime bool
	appendTime    int64
	records       []Record
	timestamps    []int64
}

// ConvertLegacy converts a message set of magic 0 or 1 messages, as sent by
// Produce v0 to v2, into one magic 2 batch holding the same records in
// order. Compressed wrapper messages are unwrapped and the batch is
// recompressed with the first wrapper's codec. Offsets become dense deltas
// from base offset 0 (the broker assigns offsets on append); magic 0 records
// get NoTimestamp. The producer id, epoch and sequence are unset (-1). A CRC
// mismatch or a partial message fails with ErrCorrupt; the set and its
// decompressed contents may not exceed limit bytes (limit <= 0 means
// DefaultLimit), else ErrTooLarge.
func ConvertLegacy(set []byte, limit int) ([]byte, error) {
	limit = effectiveLimit(limit)
	if len(set) > limit {
		return nil, ErrTooLarge
	}
	c := legacyConverter{budget: limit}
	if err := Walk(set, c.addOuter); err != nil {
		if errors.Is(err, ErrShort) {
			return nil, fmt.Errorf("%w: message set ends with a partial message", ErrCorrupt)
		}
		return nil, err
	}
	if len(c.records) == 0 {
		return nil, fmt.Errorf("%w: empty message set", ErrInvalid)
	}
	return c.build()
}

func (c *legacyConverter) addOuter(entry []byte) error {
	m, err := parseLegacy(entry)
	if err != nil {
		return err
	}
	if m.logAppendTime() {
		c.noteLogAppendTime(m.timestamp)
	}
	codec := m.compression()
	if codec == CompressionNone {
		c.add(&m, m.timestamp)
		return nil
	}
	if codec > CompressionZstd {
		return fmt.Errorf("%w: unknown compression codec %d", ErrInvalid, codec)
	}
	if c.codec == CompressionNone {
		c.codec = codec
	}
	return c.addWrapper(&m, codec)
}

func (c *legacyConverter) noteLogAppendTime(ts int64) {
	if !c.logAppendTime || ts > c.appendTime {
		c.appendTime = ts
	}
	c.logAppendTime = true
}

// addWrapper unwraps a compressed wrapper message. Inner messages may not be
// compressed again.
func (c *legacyConverter) addWrapper(wrapper *legacyMessage, codec Compression) error {
	if wrapper.value == nil {
		return fmt.Errorf("%w: compressed wrapper without a value", ErrCorrupt)
	}
	if c.budget <= 0 {
		return ErrTooLarge
	}
	inner, err := Decompress(codec, wrapper.value, c.budget)
	if err != nil {
		return err
	}
	c.budget -= len(inner)
	err = Walk(inner, func(entry []byte) error {
		m, err := parseLegacy(entry)
		if err != nil {
			return err
		}
		if m.compression() != CompressionNone {
			return fmt.Errorf("%w: nested compressed message", ErrCorrupt)
		}
		timestamp := m.timestamp
		if wrapper.logAppendTime() {
			timestamp = wrapper.timestamp
		}
		c.add(&m, timestamp)
		return nil
	})
	if errors.Is(err, ErrShort) {
		return fmt.Errorf("%w: compressed message set ends with a partial message", ErrCorrupt)
	}
	return err
}

func (c *legacyConverter) add(m *legacyMessage, timestamp int64) {
	c.records = append(c.records, Record{
		OffsetDelta: int32(len(c.records)),
		Key:         m.key,
		Value:       m.value,
	})
	c.timestamps = append(c.timestamps, timestamp)
}

func (c *legacyConverter) build() ([]byte, error) {
	h := Header{
		PartitionLeaderEpoch: -1,
		BaseTimestamp:        c.timestamps[0],
		ProducerID:           NoProducerID,
		ProducerEpoch:        -1,
		BaseSequence:         NoSequence,
	}
	if c.logAppendTime {
		h.Attributes |= TimestampTypeBit
		h.MaxTimestamp = c.appendTime
	}
	for i := range c.records {
		c.records[i].TimestampDelta = c.timestamps[i] - h.BaseTimestamp
	}
	return BuildBatch(h, c.records, c.codec)
}

// DownConvert converts concatenated magic 2 batches into a message set of
// the given magic (0 or 1) for Fetch v0 to v3: one uncompressed message per
// record at its absolute offset. Control batches are skipped and record
// headers dropped. A trailing partial batch is dropped, as fetch data may
// end with one. Each batch and the output are bounded by limit (limit <= 0
// means DefaultLimit), else ErrTooLarge.
func DownConvert(batches []byte, magic int8, limit int) ([]byte, error) {
	if magic != 0 && magic != 1 {
		return nil, fmt.Errorf("%w: cannot down-convert to magic %d", ErrInvalid, magic)
	}
	limit = effectiveLimit(limit)
	var out []byte
	err := Walk(batches, func(entry []byte) error {
		var err error
		out, err = downConvertEntry(out, entry, magic, limit)
		return err
	})
	if err != nil && !errors.Is(err, ErrShort) {
		return nil, err
	}
	return out, nil
}

func downConvertEntry(out, entry []byte, magic int8, limit int) ([]byte, error) {
	entryMagic, err := PeekMagic(entry)
	if err != nil {
		return nil, fmt.Errorf("%w: entry too short for its magic", ErrCorrupt)
	}
	if entryMagic == magic {
		if len(out)+len(entry) > limit {
			return nil, ErrTooLarge
		}
		return append(out, entry...), nil
	}
	if entryMagic != 2 {
		return nil, fmt.Errorf("%w: cannot convert magic %d to %d", ErrInvalid, entryMagic, magic)
	}
	h, records, err := Records(entry, limit)
	if err != nil {
		return nil, err
	}
	if h.IsControl() {
		return out, nil
	}
	for i := range records {
		m := legacyMessage{
			offset:    h.BaseOffset + int64(records[i].OffsetDelta),
			magic:     magic,
			timestamp: h.BaseTimestamp + records[i].TimestampDelta,
			key:       records[i].Key,
			value:     records[i].Value,
		}
		if magic == 1 && h.LogAppendTime() {
			m.attributes = TimestampTypeBit
			m.timestamp = h.MaxTimestamp
		}
		out = appendLegacy(out, &m)
		if len(out) > limit {
			return nil, ErrTooLarge
		}
	}
	return out, nil
}
