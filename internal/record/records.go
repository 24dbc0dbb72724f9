package record

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record is one decoded record of a magic 2 batch. Nil Key or Value means
// null. Decoded byte slices may alias the batch (or its decompressed copy).
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []RecordHeader
}

// RecordHeader is one record header. A nil Value means null.
type RecordHeader struct {
	Key   string
	Value []byte
}

// minRecordSize is the smallest encoding of a record: length, attributes,
// timestamp delta, offset delta, key length, value length and header count.
const minRecordSize = 7

// Records validates batch (see Validate) and decodes its records,
// decompressing if needed. The batch and its decompressed records may not
// exceed limit bytes (limit <= 0 means DefaultLimit). Malformed records fail
// with ErrCorrupt.
func Records(batch []byte, limit int) (Header, []Record, error) {
	limit = effectiveLimit(limit)
	h, err := Validate(batch, limit)
	if err != nil {
		return h, nil, err
	}
	body, err := Decompress(h.Compression(), batch[HeaderSize:], limit)
	if err != nil {
		return h, nil, err
	}
	records, err := decodeRecords(body, int(h.RecordCount))
	return h, records, err
}

// decodeRecords decodes exactly count records filling body.
func decodeRecords(body []byte, count int) ([]Record, error) {
	if count > len(body)/minRecordSize {
		return nil, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorrupt, count, len(body))
	}
	records := make([]Record, count)
	d := decoder{buf: body}
	for i := range records {
		records[i] = d.record()
		if d.err != nil {
			return nil, fmt.Errorf("%w: record %d: %s", ErrCorrupt, i, d.err)
		}
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(d.buf))
	}
	return records, nil
}

// decoder reads varint-framed record fields; the first failure sticks.
type decoder struct {
	buf []byte
	err error
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

func (d *decoder) fail(reason string) {
	if d.err == nil {
		d.err = decodeError(reason)
	}
	d.buf = nil
}

func (d *decoder) varlong() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int32 {
	v := d.varlong()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("varint out of int32 range")
		return 0
	}
	return int32(v)
}

// bytes reads a varint-length-prefixed byte string; length -1 is null.
func (d *decoder) bytes() []byte {
	n := d.varint()
	if d.err != nil {
		return nil
	}
	if n == -1 {
		return nil
	}
	if n < -1 || int(n) > len(d.buf) {
		d.fail("byte string length out of range")
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) record() Record {
	length := d.varint()
	if d.err != nil {
		return Record{}
	}
	if length < minRecordSize-1 || int(length) > len(d.buf) {
		d.fail("record length out of range")
		return Record{}
	}
	inner := decoder{buf: d.buf[:length]}
	d.buf = d.buf[length:]
	r := inner.recordBody()
	if inner.err == nil && len(inner.buf) != 0 {
		inner.fail("record length does not match its fields")
	}
	if inner.err != nil {
		d.fail(inner.err.Error())
	}
	return r
}

func (d *decoder) recordBody() Record {
	var r Record
	if len(d.buf) < 1 {
		d.fail("missing attributes")
		return r
	}
	r.Attributes = int8(d.buf[0])
	d.buf = d.buf[1:]
	r.TimestampDelta = d.varlong()
	r.OffsetDelta = d.varint()
	r.Key = d.bytes()
	r.Value = d.bytes()
	count := d.varint()
	if d.err != nil {
		return r
	}
	// Each header needs at least two bytes: key and value lengths.
	if count < 0 || int(count) > len(d.buf)/2 {
		d.fail("header count out of range")
		return r
	}
	if count > 0 {
		r.Headers = make([]RecordHeader, count)
	}
	for i := range r.Headers {
		key := d.bytes()
		if key == nil && d.err == nil {
			d.fail("null header key")
		}
		r.Headers[i] = RecordHeader{Key: string(key), Value: d.bytes()}
	}
	return r
}

// appendRecord appends the wire encoding of r.
func appendRecord(dst []byte, r *Record) []byte {
	body := make([]byte, 0, 16+len(r.Key)+len(r.Value))
	body = append(body, byte(r.Attributes))
	body = binary.AppendVarint(body, r.TimestampDelta)
	body = binary.AppendVarint(body, int64(r.OffsetDelta))
	body = appendVarBytes(body, r.Key)
	body = appendVarBytes(body, r.Value)
	body = binary.AppendVarint(body, int64(len(r.Headers)))
	for _, header := range r.Headers {
		body = appendVarBytes(body, []byte(header.Key))
		body = appendVarBytes(body, header.Value)
	}
	dst = binary.AppendVarint(dst, int64(len(body)))
	return append(dst, body...)
}

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// BuildBatch encodes records into a magic 2 batch with codec c. From h it
// takes BaseOffset, PartitionLeaderEpoch, Attributes (the codec bits are
// replaced), BaseTimestamp, ProducerID, ProducerEpoch and BaseSequence.
// LastOffsetDelta is the larger of h's and the records' largest delta, so
// compacted batches keep their span. MaxTimestamp is h's for LogAppendTime
// batches and otherwise the largest record timestamp (BaseTimestamp when
// there are none). Length, RecordCount and CRC are computed.
func BuildBatch(h Header, recs []Record, c Compression) ([]byte, error) {
	if c < CompressionNone || c > CompressionZstd {
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalid, c)
	}
	var body []byte
	for i := range recs {
		body = appendRecord(body, &recs[i])
	}
	compressed, err := Compress(c, body)
	if err != nil {
		return nil, err
	}
	if len(compressed) > math.MaxInt32-HeaderSize {
		return nil, ErrTooLarge
	}
	h.Attributes = h.Attributes&^CompressionMask | int16(c)
	fillDerived(&h, recs)
	b := make([]byte, HeaderSize, HeaderSize+len(compressed))
	putHeader(b, &h, len(compressed))
	b = append(b, compressed...)
	binary.BigEndian.PutUint32(b[CRCPos:], CRC32C(b[AttributesPos:]))
	return b, nil
}

// fillDerived sets the header fields that follow from the records.
func fillDerived(h *Header, recs []Record) {
	h.Magic = 2
	h.RecordCount = int32(len(recs))
	maxTimestamp := h.BaseTimestamp
	if len(recs) > 0 {
		maxTimestamp = h.BaseTimestamp + recs[0].TimestampDelta
	}
	for i := range recs {
		h.LastOffsetDelta = max(h.LastOffsetDelta, recs[i].OffsetDelta)
		maxTimestamp = max(maxTimestamp, h.BaseTimestamp+recs[i].TimestampDelta)
	}
	if !h.LogAppendTime() {
		h.MaxTimestamp = maxTimestamp
	}
}

func putHeader(b []byte, h *Header, bodyLength int) {
	h.Length = int32(HeaderSize - LogOverhead + bodyLength)
	binary.BigEndian.PutUint64(b[BaseOffsetPos:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(b[LengthPos:], uint32(h.Length))
	binary.BigEndian.PutUint32(b[PartitionLeaderEpochPos:], uint32(h.PartitionLeaderEpoch))
	b[MagicPos] = 2
	binary.BigEndian.PutUint16(b[AttributesPos:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(b[LastOffsetDeltaPos:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(b[BaseTimestampPos:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(b[MaxTimestampPos:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(b[ProducerIDPos:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(b[ProducerEpochPos:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(b[BaseSequencePos:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(b[RecordCountPos:], uint32(h.RecordCount))
}
