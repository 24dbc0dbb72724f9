package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

// handMessage builds a legacy message byte by byte, independently of
// appendLegacy.
func handMessage(offset int64, magic, attributes int8, timestamp int64, key, value []byte) []byte {
	var body []byte
	body = append(body, byte(magic), byte(attributes))
	if magic == 1 {
		body = binary.BigEndian.AppendUint64(body, uint64(timestamp))
	}
	for _, field := range [][]byte{key, value} {
		if field == nil {
			body = append(body, 0xff, 0xff, 0xff, 0xff)
			continue
		}
		body = binary.BigEndian.AppendUint32(body, uint32(len(field)))
		body = append(body, field...)
	}
	var out []byte
	out = binary.BigEndian.AppendUint64(out, uint64(offset))
	out = binary.BigEndian.AppendUint32(out, uint32(4+len(body)))
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
	return append(out, body...)
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func mustCompress(t *testing.T, c Compression, b []byte) []byte {
	t.Helper()
	out, err := Compress(c, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type wantRecord struct {
	key, value []byte
	timestamp  int64
}

// checkConverted decodes a converted batch and compares its records.
func checkConverted(t *testing.T, batch []byte, codec Compression, logAppendTime bool, want []wantRecord) Header {
	t.Helper()
	h, recs, err := Records(batch, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if h.Compression() != codec || h.LogAppendTime() != logAppendTime || h.ProducerID != -1 ||
		h.ProducerEpoch != -1 || h.BaseSequence != -1 || h.BaseOffset != 0 || int(h.RecordCount) != len(want) ||
		int(h.LastOffsetDelta) != len(want)-1 {
		t.Fatalf("header: %+v", h)
	}
	for i, r := range recs {
		timestamp := h.BaseTimestamp + r.TimestampDelta
		if logAppendTime {
			timestamp = h.MaxTimestamp
		}
		w := want[i]
		if int(r.OffsetDelta) != i || !sameBytes(r.Key, w.key) || !sameBytes(r.Value, w.value) ||
			timestamp != w.timestamp || r.Headers != nil {
			t.Fatalf("record %d: %+v (ts %d), want %+v", i, r, timestamp, w)
		}
	}
	return h
}

// sameBytes distinguishes nil (null) from empty.
func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }

func TestConvertLegacyV0(t *testing.T) {
	set := concat(
		handMessage(0, 0, 0, 0, nil, []byte("one")),
		handMessage(1, 0, 0, 0, []byte("k2"), []byte{}),
		handMessage(2, 0, 0, 0, []byte{}, nil),
	)
	batch, err := ConvertLegacy(set, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkConverted(t, batch, CompressionNone, false, []wantRecord{
		{nil, []byte("one"), -1}, {[]byte("k2"), []byte{}, -1}, {[]byte{}, nil, -1},
	})
}

func TestConvertLegacyV1(t *testing.T) {
	set := concat(
		handMessage(0, 1, 0, 2000, []byte("a"), []byte("1")),
		handMessage(0, 1, 0, 1000, []byte("b"), []byte("2")),
	)
	batch, err := ConvertLegacy(set, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := checkConverted(t, batch, CompressionNone, false, []wantRecord{
		{[]byte("a"), []byte("1"), 2000}, {[]byte("b"), []byte("2"), 1000},
	})
	if h.MaxTimestamp != 2000 || h.BaseTimestamp != 2000 {
		t.Fatalf("timestamps: base %d max %d", h.BaseTimestamp, h.MaxTimestamp)
	}
}

func TestConvertLegacyCompressedWrappers(t *testing.T) {
	for _, codec := range allCodecs[1:] {
		// Magic 1: inner offsets relative, wrapper carries the last offset.
		inner := concat(
			handMessage(0, 1, 0, 100, []byte("k0"), []byte("v0")),
			handMessage(1, 1, 0, 300, nil, []byte("v1")),
			handMessage(2, 1, 0, 200, []byte("k2"), nil),
		)
		wrapper := handMessage(2, 1, int8(codec), 300, nil, mustCompress(t, codec, inner))
		plain := handMessage(0, 1, 0, 400, []byte("after"), []byte("x"))
		batch, err := ConvertLegacy(concat(wrapper, plain), 0)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		checkConverted(t, batch, codec, false, []wantRecord{
			{[]byte("k0"), []byte("v0"), 100}, {nil, []byte("v1"), 300}, {[]byte("k2"), nil, 200},
			{[]byte("after"), []byte("x"), 400},
		})

		// Magic 0: inner offsets absolute, no timestamps.
		inner0 := concat(
			handMessage(10, 0, 0, 0, []byte("a"), []byte("b")),
			handMessage(11, 0, 0, 0, []byte("c"), []byte("d")),
		)
		batch, err = ConvertLegacy(handMessage(11, 0, int8(codec), 0, nil, mustCompress(t, codec, inner0)), 0)
		if err != nil {
			t.Fatalf("codec %d magic 0: %v", codec, err)
		}
		checkConverted(t, batch, codec, false, []wantRecord{
			{[]byte("a"), []byte("b"), -1}, {[]byte("c"), []byte("d"), -1},
		})
	}
}

func TestConvertLegacyLogAppendTime(t *testing.T) {
	inner := concat(
		handMessage(0, 1, 0, 100, nil, []byte("v0")),
		handMessage(1, 1, 0, 200, nil, []byte("v1")),
	)
	wrapper := handMessage(1, 1, int8(CompressionGzip)|TimestampTypeBit, 9999, nil, mustCompress(t, CompressionGzip, inner))
	batch, err := ConvertLegacy(wrapper, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := checkConverted(t, batch, CompressionGzip, true, []wantRecord{
		{nil, []byte("v0"), 9999}, {nil, []byte("v1"), 9999},
	})
	if h.MaxTimestamp != 9999 {
		t.Fatalf("max timestamp %d", h.MaxTimestamp)
	}
}

func TestConvertLegacyErrors(t *testing.T) {
	good := handMessage(0, 1, 0, 5, []byte("k"), []byte("value"))
	badCRC := append([]byte{}, good...)
	badCRC[len(badCRC)-1] ^= 1
	innerBad := append([]byte{}, good...)
	innerBad[len(innerBad)-2] ^= 1
	nested := handMessage(0, 1, int8(CompressionGzip), 0, nil, mustCompress(t, CompressionGzip, good))
	big := bytes.Repeat([]byte("x"), 50000)
	bigInner := handMessage(0, 1, 0, 0, nil, big)
	cases := []struct {
		name  string
		set   []byte
		limit int
		want  error
	}{
		{"crc", badCRC, 0, ErrCorrupt},
		{"inner crc", handMessage(0, 1, int8(CompressionSnappy), 0, nil, mustCompress(t, CompressionSnappy, innerBad)), 0, ErrCorrupt},
		{"partial", concat(good, good[:20]), 0, ErrCorrupt},
		{"inner partial", handMessage(0, 1, int8(CompressionLZ4), 0, nil, mustCompress(t, CompressionLZ4, good[:len(good)-1])), 0, ErrCorrupt},
		{"nested", handMessage(0, 1, int8(CompressionGzip), 0, nil, mustCompress(t, CompressionGzip, nested)), 0, ErrCorrupt},
		{"null wrapper value", handMessage(0, 1, int8(CompressionGzip), 0, nil, nil), 0, ErrCorrupt},
		{"unknown codec", handMessage(0, 1, 6, 0, nil, []byte("x")), 0, ErrInvalid},
		{"magic 2", concat(good[:MagicPos], []byte{2}, good[MagicPos+1:]), 0, ErrInvalid},
		{"empty", nil, 0, ErrInvalid},
		{"set too large", good, len(good) - 1, ErrTooLarge},
		{"inner too large", handMessage(0, 1, int8(CompressionZstd), 0, nil, mustCompress(t, CompressionZstd, bigInner)), 20000, ErrTooLarge},
		{"key overruns", fixCRC(concat(good[:26], []byte{0, 0, 1, 0}, good[30:])), 0, ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := ConvertLegacy(c.set, c.limit); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// fixCRC recomputes a single legacy message's CRC.
func fixCRC(m []byte) []byte {
	binary.BigEndian.PutUint32(m[legacyCRCPos:], crc32.ChecksumIEEE(m[MagicPos:]))
	return m
}

func TestDownConvert(t *testing.T) {
	first, err := BuildBatch(Header{BaseOffset: 10, BaseTimestamp: 500, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]Record{
			{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("k"), Value: []byte("v"), Headers: []RecordHeader{{Key: "dropped"}}},
			{OffsetDelta: 1, TimestampDelta: 7, Key: nil, Value: nil},
		}, CompressionGzip)
	if err != nil {
		t.Fatal(err)
	}
	control, err := BuildBatch(Header{BaseOffset: 12, Attributes: ControlBit | TransactionalBit, BaseTimestamp: 600, ProducerID: 5},
		[]Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}}, CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	third, err := BuildBatch(Header{BaseOffset: 13, BaseTimestamp: 700, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]Record{{Value: []byte("x")}, {OffsetDelta: 1, TimestampDelta: 1, Value: []byte("y")}}, CompressionSnappy)
	if err != nil {
		t.Fatal(err)
	}
	SetLogAppendTime(third, 800)
	input := concat(first, control, third, third[:30])

	for _, magic := range []int8{0, 1} {
		set, err := DownConvert(input, magic, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []legacyMessage
		if err := Walk(set, func(entry []byte) error {
			m, err := parseLegacy(entry)
			got = append(got, m)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ts := func(v int64) int64 {
			if magic == 0 {
				return NoTimestamp
			}
			return v
		}
		var appendAttr int8
		if magic == 1 {
			appendAttr = TimestampTypeBit
		}
		want := []legacyMessage{
			{offset: 10, magic: magic, timestamp: ts(500), key: []byte("k"), value: []byte("v")},
			{offset: 11, magic: magic, timestamp: ts(507)},
			{offset: 13, magic: magic, attributes: appendAttr, timestamp: ts(800), value: []byte("x")},
			{offset: 14, magic: magic, attributes: appendAttr, timestamp: ts(800), value: []byte("y")},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("magic %d:\n got %+v\nwant %+v", magic, got, want)
		}
		// And back again, without the LogAppendTime batch, whose time type
		// a single converted batch cannot mix with CreateTime.
		back, err := DownConvert(concat(first, control), magic, 0)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := ConvertLegacy(back, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkConverted(t, batch, CompressionNone, false, []wantRecord{
			{[]byte("k"), []byte("v"), ts(500)}, {nil, nil, ts(507)},
		})
	}
	if _, err := DownConvert(first, 2, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("magic 2 target: %v", err)
	}
	if _, err := DownConvert(first, 1, 40); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
	corrupt := append([]byte{}, first...)
	corrupt[len(corrupt)-1] ^= 1
	if _, err := DownConvert(corrupt, 1, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
}
