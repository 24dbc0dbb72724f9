package record

import (
	"errors"
	"testing"
)

const fuzzLimit = 1 << 16

func fuzzSeedBatches(f *testing.F) {
	for _, codec := range allCodecs {
		batch, err := BuildBatch(sampleHeader(), sampleRecords()[:3], codec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(batch)
	}
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
}

// knownError reports whether err is one of the package's sentinel errors.
func knownError(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrShort)
}

func FuzzValidate(f *testing.F) {
	fuzzSeedBatches(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Validate(b, fuzzLimit); err != nil && !knownError(err) {
			t.Fatalf("unexpected error %v", err)
		}
		// Any payload wrapped by BuildBatch must validate.
		batch, err := BuildBatch(sampleHeader(), []Record{{Key: b, Value: b}}, CompressionNone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Validate(batch, 0); err != nil {
			t.Fatalf("built batch does not validate: %v", err)
		}
	})
}

func FuzzRecords(f *testing.F) {
	fuzzSeedBatches(f)
	f.Add([]byte{0x0c, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Arbitrary bytes reach the record decoder and the codecs
		// directly, past the CRC that guards them in a batch.
		if recs, err := decodeRecords(b, len(b)%5); err != nil && !knownError(err) || err == nil && len(recs) != len(b)%5 {
			t.Fatalf("decodeRecords: %d records, %v", len(recs), err)
		}
		for _, codec := range allCodecs {
			if out, err := Decompress(codec, b, fuzzLimit); err != nil && !knownError(err) || len(out) > fuzzLimit {
				t.Fatalf("codec %d: %d bytes, %v", codec, len(out), err)
			}
		}
		h, recs, err := Records(b, fuzzLimit)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(recs) != int(h.RecordCount) {
			t.Fatalf("%d records, header says %d", len(recs), h.RecordCount)
		}
		// Re-encoding decoded records must decode to the same records.
		rebuilt, err := BuildBatch(h, recs, CompressionNone)
		if err != nil {
			t.Fatal(err)
		}
		if _, again, err := Records(rebuilt, 0); err != nil || len(again) != len(recs) {
			t.Fatalf("rebuilt batch: %d records, %v", len(again), err)
		}
	})
}

func FuzzConvertLegacy(f *testing.F) {
	f.Add(handMessage(0, 0, 0, 0, []byte("k"), []byte("v")))
	f.Add(concat(handMessage(0, 1, 0, 7, nil, []byte("v")), handMessage(1, 1, 0, 8, []byte("k"), nil)))
	for _, codec := range allCodecs[1:] {
		inner := concat(handMessage(0, 1, 0, 1, nil, []byte("a")), handMessage(1, 1, 0, 2, nil, []byte("b")))
		compressed, err := Compress(codec, inner)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(handMessage(1, 1, int8(codec), 2, nil, compressed))
	}
	f.Fuzz(func(t *testing.T, set []byte) {
		batch, err := ConvertLegacy(set, fuzzLimit)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, _, err := Records(batch, 0); err != nil {
			t.Fatalf("converted batch does not decode: %v", err)
		}
		if _, err := DownConvert(batch, 1, fuzzLimit*8); err != nil {
			t.Fatalf("down-conversion failed: %v", err)
		}
	})
}
