package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DefaultLimit bounds decompressed sizes when a caller passes a limit <= 0.
const DefaultLimit = 64 << 20

// maxCodecMemory is the hard ceiling the shared zstd decoder accepts for one
// call, whatever the caller's limit.
const maxCodecMemory = 1 << 30

// xerialMagic starts a snappy stream in the xerial framing that the Java
// client writes: the magic, then a version and a compatible-version int32.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// codecs holds the shared, concurrency-safe zstd encoder and decoder. They
// are created on first use so programs that never see zstd pay nothing.
type codecs struct {
	zstdEncoder *zstd.Encoder
	zstdDecoder *zstd.Decoder
	err         error
}

var sharedCodecs = sync.OnceValue(func() *codecs {
	c := &codecs{}
	c.zstdEncoder, c.err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if c.err != nil {
		return c
	}
	c.zstdDecoder, c.err = zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(maxCodecMemory),
		zstd.WithDecodeAllCapLimit(true))
	return c
})

// Pools of stream codecs, whose setup costs more than small batches.
var (
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	gzipReaders sync.Pool // *gzip.Reader
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	lz4Writers  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
)

func effectiveLimit(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return limit
}

// Decompress decodes src compressed with codec c. The output may not exceed
// limit bytes (limit <= 0 means DefaultLimit): larger output fails with
// ErrTooLarge before more than about twice the limit is allocated. An unknown
// codec fails with ErrInvalid, undecodable input with ErrCorrupt.
// CompressionNone returns src itself.
func Decompress(c Compression, src []byte, limit int) ([]byte, error) {
	limit = effectiveLimit(limit)
	switch c {
	case CompressionNone:
		if len(src) > limit {
			return nil, ErrTooLarge
		}
		return src, nil
	case CompressionGzip:
		return decompressGzip(src, limit)
	case CompressionSnappy:
		return decompressSnappy(src, limit)
	case CompressionLZ4:
		return decompressLZ4(src, limit)
	case CompressionZstd:
		return decompressZstd(src, limit)
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalid, c)
	}
}

// Compress encodes src with codec c. Snappy output uses the xerial framing
// the Java client writes, which every Kafka client reads.
func Compress(c Compression, src []byte) ([]byte, error) {
	switch c {
	case CompressionNone:
		return src, nil
	case CompressionGzip:
		return compressGzip(src)
	case CompressionSnappy:
		return xerial.Encode(nil, src), nil
	case CompressionLZ4:
		return compressLZ4(src)
	case CompressionZstd:
		shared := sharedCodecs()
		if shared.err != nil {
			return nil, shared.err
		}
		return shared.zstdEncoder.EncodeAll(src, make([]byte, 0, len(src)/2+64)), nil
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalid, c)
	}
}

// readLimited reads r to its end, failing with ErrTooLarge past limit bytes
// and with ErrCorrupt on any decoding error.
func readLimited(r io.Reader, limit int) ([]byte, error) {
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n > int64(limit) {
		return nil, ErrTooLarge
	}
	return out.Bytes(), nil
}

func decompressGzip(src []byte, limit int) ([]byte, error) {
	r, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if r == nil {
		r, err = gzip.NewReader(bytes.NewReader(src))
	} else {
		err = r.Reset(bytes.NewReader(src))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
	}
	defer gzipReaders.Put(r)
	return readLimited(r, limit)
}

func compressGzip(src []byte) ([]byte, error) {
	var out bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func decompressLZ4(src []byte, limit int) ([]byte, error) {
	r := lz4Readers.Get().(*lz4.Reader)
	defer lz4Readers.Put(r)
	r.Reset(bytes.NewReader(src))
	return readLimited(r, limit)
}

func compressLZ4(src []byte) ([]byte, error) {
	var out bytes.Buffer
	w := lz4Writers.Get().(*lz4.Writer)
	defer lz4Writers.Put(w)
	w.Reset(&out)
	// Kafka's own LZ4 stream writes 64 KiB independent blocks and no
	// content checksum; match it so every client's reader accepts ours.
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false)); err != nil {
		return nil, err
	}
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// decompressSnappy accepts the xerial framing and plain raw snappy.
func decompressSnappy(src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return decodeSnappyBlock(nil, src, limit)
	}
	if len(src) < xerialHeaderSize {
		return nil, fmt.Errorf("%w: short xerial header", ErrCorrupt)
	}
	rest := src[xerialHeaderSize:]
	var out []byte
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: short xerial block length", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: xerial block overruns input", ErrCorrupt)
		}
		var err error
		out, err = decodeSnappyBlock(out, rest[:n], limit)
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return out, nil
}

// decodeSnappyBlock appends the decoded raw snappy block to dst, checking the
// declared decoded length against what limit leaves before allocating.
func decodeSnappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	if n > limit-len(dst) {
		return nil, ErrTooLarge
	}
	decoded, err := snappy.Decode(make([]byte, n), block)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	if dst == nil {
		return decoded, nil
	}
	return append(dst, decoded...), nil
}

// decompressZstd uses the shared decoder's DecodeAll, which is safe for
// concurrent use, capped at the destination capacity. The capacity starts
// from a guess and doubles up to limit, so memory stays within twice the
// limit even for hostile frames.
func decompressZstd(src []byte, limit int) ([]byte, error) {
	shared := sharedCodecs()
	if shared.err != nil {
		return nil, shared.err
	}
	capacity := min(limit, max(4*len(src), 64<<10))
	for {
		out, err := shared.zstdDecoder.DecodeAll(src, make([]byte, 0, capacity))
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		if capacity >= limit {
			return nil, ErrTooLarge
		}
		capacity = min(limit, 2*capacity)
	}
}
