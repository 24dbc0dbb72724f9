package record

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var allCodecs = []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}

// sampleRecords covers null and empty keys and values, headers with null
// values, negative and large deltas.
func sampleRecords() []Record {
	return []Record{
		{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("k0"), Value: []byte("v0")},
		{OffsetDelta: 1, TimestampDelta: 5, Key: nil, Value: []byte{}},
		{OffsetDelta: 2, TimestampDelta: -3, Key: []byte{}, Value: nil, Headers: []RecordHeader{
			{Key: "h1", Value: []byte("x")}, {Key: "", Value: nil},
		}},
		{OffsetDelta: 3, TimestampDelta: 1 << 40, Key: bytes.Repeat([]byte("k"), 300), Value: bytes.Repeat([]byte("v"), 70000)},
	}
}

func sampleHeader() Header {
	return Header{
		BaseOffset:           100,
		PartitionLeaderEpoch: 7,
		BaseTimestamp:        1_700_000_000_000,
		ProducerID:           42,
		ProducerEpoch:        3,
		BaseSequence:         9,
	}
}

func TestCompressRoundTrip(t *testing.T) {
	inputs := [][]byte{{}, []byte("hello"), bytes.Repeat([]byte("abcdefgh"), 40000)}
	for _, codec := range allCodecs {
		for i, input := range inputs {
			t.Run(fmt.Sprintf("codec%d/input%d", codec, i), func(t *testing.T) {
				compressed, err := Compress(codec, input)
				if err != nil {
					t.Fatal(err)
				}
				out, err := Decompress(codec, compressed, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, input) {
					t.Fatalf("round trip mismatch: got %d bytes, want %d", len(out), len(input))
				}
			})
		}
	}
}

func TestDecompressLimit(t *testing.T) {
	input := bytes.Repeat([]byte("z"), 100000)
	for _, codec := range allCodecs {
		compressed, err := Compress(codec, input)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decompress(codec, compressed, len(input)-1); !errors.Is(err, ErrTooLarge) {
			t.Errorf("codec %d: got %v, want ErrTooLarge", codec, err)
		}
		if out, err := Decompress(codec, compressed, len(input)); err != nil || len(out) != len(input) {
			t.Errorf("codec %d at exact limit: %d bytes, %v", codec, len(out), err)
		}
	}
}

func TestDecompressErrors(t *testing.T) {
	if _, err := Decompress(5, []byte("x"), 100); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown codec: got %v", err)
	}
	if _, err := Compress(7, []byte("x")); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown codec compress: got %v", err)
	}
	garbage := []byte("definitely not compressed data at all")
	for _, codec := range allCodecs[1:] {
		if _, err := Decompress(codec, garbage, 1000); !errors.Is(err, ErrCorrupt) {
			t.Errorf("codec %d garbage: got %v, want ErrCorrupt", codec, err)
		}
	}
}

func TestSnappyRawAndXerial(t *testing.T) {
	input := bytes.Repeat([]byte("raw snappy "), 1000)
	raw := snappy.Encode(nil, input)
	out, err := Decompress(CompressionSnappy, raw, 1<<20)
	if err != nil || !bytes.Equal(out, input) {
		t.Fatalf("raw snappy: %v", err)
	}
	// Hand-built xerial stream with two blocks.
	half := len(input) / 2
	stream := append([]byte{}, xerialMagic...)
	stream = append(stream, 0, 0, 0, 1, 0, 0, 0, 1)
	for _, part := range [][]byte{input[:half], input[half:]} {
		block := snappy.Encode(nil, part)
		stream = append(stream, byte(len(block)>>24), byte(len(block)>>16), byte(len(block)>>8), byte(len(block)))
		stream = append(stream, block...)
	}
	out, err = Decompress(CompressionSnappy, stream, 1<<20)
	if err != nil || !bytes.Equal(out, input) {
		t.Fatalf("xerial: %v", err)
	}
	if _, err := Decompress(CompressionSnappy, stream, len(input)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("xerial limit: got %v", err)
	}
	if _, err := Decompress(CompressionSnappy, stream[:len(stream)-3], 1<<20); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("xerial truncated: got %v", err)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(fmt.Sprint(codec), func(t *testing.T) {
			want := sampleRecords()
			batch, err := BuildBatch(sampleHeader(), want, codec)
			if err != nil {
				t.Fatal(err)
			}
			h, got, err := Records(batch, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if h.Compression() != codec || h.RecordCount != 4 || h.LastOffsetDelta != 3 || h.BaseOffset != 100 ||
				h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != 9 || h.PartitionLeaderEpoch != 7 {
				t.Fatalf("header: %+v", h)
			}
			if h.MaxTimestamp != 1_700_000_000_000+1<<40 {
				t.Fatalf("max timestamp %d", h.MaxTimestamp)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("records differ:\n got %+v\nwant %+v", got[:3], want[:3])
			}
		})
	}
}

// TestBuildBatchMatchesKmsg checks our encoding against franz-go's decoder.
func TestBuildBatchMatchesKmsg(t *testing.T) {
	want := sampleRecords()
	batch, err := BuildBatch(sampleHeader(), want, CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(batch); err != nil {
		t.Fatal(err)
	}
	if uint32(kb.CRC) != CRC32C(batch[AttributesPos:]) || int(kb.Length)+LogOverhead != len(batch) || kb.NumRecords != 4 {
		t.Fatalf("kmsg header: %+v", kb)
	}
	rest := kb.Records
	for i := range want {
		var kr kmsg.Record
		length, n := varintForTest(rest)
		if err := kr.ReadFrom(rest[:n+int(length)]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		rest = rest[n+int(length):]
		if kr.OffsetDelta != want[i].OffsetDelta || kr.TimestampDelta64 != want[i].TimestampDelta ||
			!bytes.Equal(kr.Key, want[i].Key) || (kr.Key == nil) != (want[i].Key == nil) ||
			!bytes.Equal(kr.Value, want[i].Value) || len(kr.Headers) != len(want[i].Headers) {
			t.Fatalf("record %d differs: %+v", i, kr)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}
}

func varintForTest(b []byte) (int64, int) {
	var d decoder
	d.buf = b
	v := d.varlong()
	return v, len(b) - len(d.buf)
}

func TestRecordsCRCCorruption(t *testing.T) {
	batch, err := BuildBatch(sampleHeader(), sampleRecords()[:2], CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range []int{AttributesPos, RecordCountPos, HeaderSize + 3, len(batch) - 1} {
		corrupt := append([]byte{}, batch...)
		corrupt[pos] ^= 0x40
		if _, _, err := Records(corrupt, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flip at %d: got %v, want ErrCorrupt", pos, err)
		}
	}
	// Base offset and leader epoch are outside the CRC.
	moved := append([]byte{}, batch...)
	SetBaseOffset(moved, 5000)
	SetPartitionLeaderEpoch(moved, 9)
	if h, _, err := Records(moved, 1<<20); err != nil || h.BaseOffset != 5000 {
		t.Errorf("rewritten header: %v", err)
	}
}

// resign recomputes the CRC so structural checks below the CRC are reached.
func resign(b []byte) []byte {
	b[CRCPos], b[CRCPos+1], b[CRCPos+2], b[CRCPos+3] = 0, 0, 0, 0
	crc := CRC32C(b[AttributesPos:])
	b[CRCPos], b[CRCPos+1], b[CRCPos+2], b[CRCPos+3] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return b
}

func TestRecordsMalformed(t *testing.T) {
	batch, err := BuildBatch(sampleHeader(), sampleRecords()[:2], CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(b []byte) []byte{
		"huge count": func(b []byte) []byte {
			b[RecordCountPos] = 0x7f
			b[LastOffsetDeltaPos] = 0x7f
			return b
		},
		"trailing bytes": func(b []byte) []byte {
			b = append(b, 0)
			b[LengthPos+3]++
			return b
		},
		"record length too big": func(b []byte) []byte {
			b[HeaderSize] = 0x7e // zigzag 63
			return b
		},
	}
	for name, mutate := range cases {
		b := resign(mutate(append([]byte{}, batch...)))
		if _, _, err := Records(b, 1<<20); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func TestRecordsLimit(t *testing.T) {
	batch, err := BuildBatch(sampleHeader(), sampleRecords(), CompressionZstd)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) > 10000 {
		t.Fatalf("zstd batch unexpectedly large: %d", len(batch))
	}
	if _, _, err := Records(batch, 10000); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestTimestamps(t *testing.T) {
	recs := []Record{
		{OffsetDelta: 0, TimestampDelta: 10},
		{OffsetDelta: 1, TimestampDelta: 30},
		{OffsetDelta: 2, TimestampDelta: 20},
		{OffsetDelta: 3, TimestampDelta: 30},
	}
	h := Header{BaseOffset: 50, BaseTimestamp: 1000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	batch, err := BuildBatch(h, recs, CompressionGzip)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ts        int64
		offset    int64
		timestamp int64
		found     bool
	}{
		{0, 50, 1010, true}, {1010, 50, 1010, true}, {1011, 51, 1030, true},
		{1020, 51, 1030, true}, {1030, 51, 1030, true}, {1031, 0, 0, false},
	}
	for _, c := range cases {
		offset, timestamp, found, err := FindTimestamp(batch, c.ts, 0)
		if err != nil || offset != c.offset || timestamp != c.timestamp || found != c.found {
			t.Errorf("FindTimestamp(%d) = %d %d %v %v, want %d %d %v", c.ts, offset, timestamp, found, err, c.offset, c.timestamp, c.found)
		}
	}
	offset, timestamp, err := MaxTimestampRecord(batch, 0)
	if err != nil || offset != 51 || timestamp != 1030 {
		t.Errorf("MaxTimestampRecord = %d %d %v", offset, timestamp, err)
	}
	SetLogAppendTime(batch, 5000)
	offset, timestamp, found, err := FindTimestamp(batch, 4000, 0)
	if err != nil || offset != 50 || timestamp != 5000 || !found {
		t.Errorf("LogAppendTime FindTimestamp = %d %d %v %v", offset, timestamp, found, err)
	}
	if _, _, found, _ := FindTimestamp(batch, 5001, 0); found {
		t.Error("LogAppendTime FindTimestamp past max found a record")
	}
	offset, timestamp, err = MaxTimestampRecord(batch, 0)
	if err != nil || offset != 50 || timestamp != 5000 {
		t.Errorf("LogAppendTime MaxTimestampRecord = %d %d %v", offset, timestamp, err)
	}
}

func TestWalk(t *testing.T) {
	first, _ := BuildBatch(sampleHeader(), sampleRecords()[:1], CompressionNone)
	second, _ := BuildBatch(sampleHeader(), sampleRecords()[1:2], CompressionNone)
	joined := append(append([]byte{}, first...), second...)
	var sizes []int
	collect := func(b []byte) error { sizes = append(sizes, len(b)); return nil }
	if err := Walk(joined, collect); err != nil || !reflect.DeepEqual(sizes, []int{len(first), len(second)}) {
		t.Fatalf("walk: %v %v", sizes, err)
	}
	sizes = nil
	if err := Walk(joined[:len(joined)-1], collect); !errors.Is(err, ErrShort) || !reflect.DeepEqual(sizes, []int{len(first)}) {
		t.Fatalf("partial walk: %v %v", sizes, err)
	}
	sizes = nil
	if err := Walk(joined[:len(first)+5], collect); !errors.Is(err, ErrShort) || len(sizes) != 1 {
		t.Fatalf("partial length field: %v %v", sizes, err)
	}
	tiny := make([]byte, 12)
	if err := Walk(tiny, collect); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("zero length: %v", err)
	}
	stop := errors.New("stop")
	if err := Walk(joined, func([]byte) error { return stop }); err != stop {
		t.Fatalf("fn error: %v", err)
	}
}

func benchmarkBatch(b *testing.B, codec Compression) []byte {
	recs := make([]Record, 80)
	for i := range recs {
		value := bytes.Repeat([]byte(fmt.Sprintf("value-%03d-", i)), 25)
		recs[i] = Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: []byte(fmt.Sprint(i)), Value: value}
	}
	batch, err := BuildBatch(sampleHeader(), recs, codec)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

func BenchmarkValidate(b *testing.B) {
	batch := benchmarkBatch(b, CompressionNone)
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		if _, err := Validate(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecs(b *testing.B) {
	body := benchmarkBatch(b, CompressionNone)[HeaderSize:]
	body = body[:16<<10]
	for _, codec := range allCodecs[1:] {
		compressed, err := Compress(codec, body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("compress/%d", codec), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Compress(codec, body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("decompress/%d", codec), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decompress(codec, compressed, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestBuildBatchMaxTimestampFromRecords(t *testing.T) {
	h := Header{BaseTimestamp: 1000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	batch, err := BuildBatch(h, []Record{{TimestampDelta: -5}, {OffsetDelta: 1, TimestampDelta: -7}}, CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Validate(batch, 0)
	if err != nil || got.MaxTimestamp != 995 || got.LastOffsetDelta != 1 || got.RecordCount != 2 {
		t.Fatalf("header %+v, %v", got, err)
	}
	offset, timestamp, err := MaxTimestampRecord(batch, 0)
	if err != nil || offset != 0 || timestamp != 995 {
		t.Fatalf("MaxTimestampRecord = %d %d %v", offset, timestamp, err)
	}
}

func TestMaxTimestampRecordWrongHeader(t *testing.T) {
	h := Header{BaseOffset: 20, BaseTimestamp: 1000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	batch, err := BuildBatch(h, []Record{{TimestampDelta: 3}, {OffsetDelta: 1, TimestampDelta: 9}, {OffsetDelta: 2, TimestampDelta: 9}}, CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	// A client claimed a max timestamp no record carries.
	batch[MaxTimestampPos+7]++
	batch = resign(batch)
	offset, timestamp, err := MaxTimestampRecord(batch, 0)
	if err != nil || offset != 21 || timestamp != 1009 {
		t.Fatalf("MaxTimestampRecord = %d %d %v", offset, timestamp, err)
	}
}

func TestCodecsConcurrent(t *testing.T) {
	input := bytes.Repeat([]byte("concurrent codec use "), 500)
	errs := make(chan error, 8)
	for worker := range 8 {
		go func() {
			codec := allCodecs[worker%len(allCodecs)]
			for range 20 {
				compressed, err := Compress(codec, input)
				if err != nil {
					errs <- err
					return
				}
				out, err := Decompress(codec, compressed, 1<<20)
				if err != nil || !bytes.Equal(out, input) {
					errs <- fmt.Errorf("codec %d: %v", codec, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
