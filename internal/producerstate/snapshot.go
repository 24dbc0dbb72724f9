package producerstate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"samsa/internal/record"
)

// Snapshot layout, all integers big endian:
//
//	magic      [4]byte "SPST"
//	version    int16   (1)
//	crc        uint32  CRC-32C of every byte after this field
//	lastOffset int64
//	count      int32   producers, then per producer in id order:
//	  producerID int64, epoch int16, lastTimestamp int64, batchCount int8,
//	  then per batch: firstSeq int32, lastSeq int32, firstOffset int64,
//	  lastOffset int64, timestamp int64
const (
	snapshotVersion    = 1
	snapshotHeaderSize = 4 + 2 + 4
	producerSize       = 8 + 2 + 8 + 1
	batchSize          = 4 + 4 + 8 + 8 + 8
	// DefaultSnapshotLimit bounds ReadSnapshot when limit <= 0.
	DefaultSnapshotLimit = 64 << 20
)

var snapshotMagic = [4]byte{'S', 'P', 'S', 'T'}

// WriteSnapshot writes the state, and the log offset it reflects, in a
// versioned binary format protected by a CRC-32C.
func (m *Manager) WriteSnapshot(w io.Writer, lastOffset int64) error {
	pids := make([]int64, 0, len(m.producers))
	for pid := range m.producers {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	body := make([]byte, 0, 12+len(pids)*(producerSize+batchSize))
	body = binary.BigEndian.AppendUint64(body, uint64(lastOffset))
	body = binary.BigEndian.AppendUint32(body, uint32(len(pids)))
	for _, pid := range pids {
		body = appendProducer(body, pid, m.producers[pid])
	}
	out := make([]byte, 0, snapshotHeaderSize+len(body))
	out = append(out, snapshotMagic[:]...)
	out = binary.BigEndian.AppendUint16(out, snapshotVersion)
	out = binary.BigEndian.AppendUint32(out, record.CRC32C(body))
	out = append(out, body...)
	_, err := w.Write(out)
	return err
}

func appendProducer(dst []byte, pid int64, e *entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(pid))
	dst = binary.BigEndian.AppendUint16(dst, uint16(e.epoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.lastTimestamp))
	dst = append(dst, byte(len(e.batches)))
	for _, b := range e.batches {
		dst = binary.BigEndian.AppendUint32(dst, uint32(b.FirstSeq))
		dst = binary.BigEndian.AppendUint32(dst, uint32(b.LastSeq))
		dst = binary.BigEndian.AppendUint64(dst, uint64(b.FirstOffset))
		dst = binary.BigEndian.AppendUint64(dst, uint64(b.LastOffset))
		dst = binary.BigEndian.AppendUint64(dst, uint64(b.Timestamp))
	}
	return dst
}

// ReadSnapshot reads a snapshot written by WriteSnapshot, returning the
// state and the log offset it reflects. It reads at most limit bytes
// (limit <= 0 means DefaultSnapshotLimit), failing with an error wrapping
// record.ErrTooLarge beyond; malformed or damaged input fails with an error
// wrapping record.ErrCorrupt.
func ReadSnapshot(r io.Reader, limit int) (*Manager, int64, error) {
	if limit <= 0 {
		limit = DefaultSnapshotLimit
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > limit {
		return nil, 0, fmt.Errorf("producer snapshot above %d bytes: %w", limit, record.ErrTooLarge)
	}
	if len(data) < snapshotHeaderSize || !bytes.Equal(data[:4], snapshotMagic[:]) {
		return nil, 0, fmt.Errorf("producer snapshot header: %w", record.ErrCorrupt)
	}
	if version := binary.BigEndian.Uint16(data[4:]); version != snapshotVersion {
		return nil, 0, fmt.Errorf("producer snapshot version %d: %w", version, record.ErrCorrupt)
	}
	body := data[snapshotHeaderSize:]
	if record.CRC32C(body) != binary.BigEndian.Uint32(data[6:]) {
		return nil, 0, fmt.Errorf("producer snapshot checksum: %w", record.ErrCorrupt)
	}
	return parseSnapshotBody(body)
}

func parseSnapshotBody(body []byte) (*Manager, int64, error) {
	corrupt := func(reason string) error {
		return fmt.Errorf("producer snapshot %s: %w", reason, record.ErrCorrupt)
	}
	if len(body) < 12 {
		return nil, 0, corrupt("too short")
	}
	lastOffset := int64(binary.BigEndian.Uint64(body))
	count := int32(binary.BigEndian.Uint32(body[8:]))
	body = body[12:]
	if count < 0 || int64(count) > int64(len(body)/producerSize) {
		return nil, 0, corrupt("producer count out of range")
	}
	m := &Manager{producers: make(map[int64]*entry, count)}
	for range count {
		if len(body) < producerSize {
			return nil, 0, corrupt("producer cut short")
		}
		pid := int64(binary.BigEndian.Uint64(body))
		e := &entry{
			epoch:         int16(binary.BigEndian.Uint16(body[8:])),
			lastTimestamp: int64(binary.BigEndian.Uint64(body[10:])),
		}
		batches := int(body[18])
		body = body[producerSize:]
		if batches > MaxBatches || len(body) < batches*batchSize {
			return nil, 0, corrupt("batch count out of range")
		}
		if _, seen := m.producers[pid]; seen || pid < 0 {
			return nil, 0, corrupt("bad or repeated producer id")
		}
		e.batches = make([]BatchMeta, batches)
		for i := range e.batches {
			e.batches[i] = parseBatch(body[i*batchSize:])
		}
		body = body[batches*batchSize:]
		m.producers[pid] = e
	}
	if len(body) != 0 {
		return nil, 0, corrupt("trailing bytes")
	}
	return m, lastOffset, nil
}

func parseBatch(b []byte) BatchMeta {
	return BatchMeta{
		FirstSeq:    int32(binary.BigEndian.Uint32(b)),
		LastSeq:     int32(binary.BigEndian.Uint32(b[4:])),
		FirstOffset: int64(binary.BigEndian.Uint64(b[8:])),
		LastOffset:  int64(binary.BigEndian.Uint64(b[16:])),
		Timestamp:   int64(binary.BigEndian.Uint64(b[24:])),
	}
}
