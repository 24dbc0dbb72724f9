package log

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Index file formats, as Kafka writes them (big endian):
//
//	.index      relative offset uint32, position uint32           (8 bytes)
//	.timeindex  timestamp int64, relative offset uint32            (12 bytes)
//
// The offset of an entry is the last offset of the indexed batch. Entries
// live in memory (the log's mutex guards them) and are written whole when a
// segment is rolled or closed; after a crash the active segment's indexes
// are rebuilt from the log file, so writing them on every append would buy
// nothing.
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

type offsetEntry struct {
	relOffset uint32
	position  uint32
}

type timeEntry struct {
	timestamp int64
	relOffset uint32
}

type offsetIndex struct {
	entries    []offsetEntry
	maxEntries int
}

type timeIndex struct {
	entries    []timeEntry
	maxEntries int
}

func (x *offsetIndex) full() bool { return len(x.entries) >= x.maxEntries }
func (x *timeIndex) full() bool   { return len(x.entries) >= x.maxEntries }

// floorBelowOffset returns the position of the last entry whose offset is
// below target: every batch at or before it ends before target, so a scan
// for the batch holding target (or the first batch at or above target) can
// start there.
func (x *offsetIndex) floorBelowOffset(base, target int64) int64 {
	i := sort.Search(len(x.entries), func(i int) bool {
		return base+int64(x.entries[i].relOffset) >= target
	})
	if i == 0 {
		return 0
	}
	return int64(x.entries[i-1].position)
}

// floorPosition returns the position of the last entry at or below pos.
func (x *offsetIndex) floorPosition(pos int64) int64 {
	i := sort.Search(len(x.entries), func(i int) bool {
		return int64(x.entries[i].position) > pos
	})
	if i == 0 {
		return 0
	}
	return int64(x.entries[i-1].position)
}

// truncateAfter drops entries at or past the given position.
func (x *offsetIndex) truncateAt(pos int64) {
	i := sort.Search(len(x.entries), func(i int) bool {
		return int64(x.entries[i].position) >= pos
	})
	x.entries = x.entries[:i]
}

func (x *offsetIndex) lastPosition() int64 {
	if len(x.entries) == 0 {
		return 0
	}
	return int64(x.entries[len(x.entries)-1].position)
}

// below returns the offset of the last entry with a timestamp below ts, or
// -1: every batch up to that offset has a max timestamp below ts.
func (x *timeIndex) below(base, ts int64) int64 {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].timestamp >= ts })
	if i == 0 {
		return -1
	}
	return base + int64(x.entries[i-1].relOffset)
}

// maybeAppend adds an entry if the timestamp grew (Kafka's rule).
func (x *timeIndex) maybeAppend(ts int64, relOffset uint32) {
	if n := len(x.entries); n > 0 && x.entries[n-1].timestamp >= ts {
		return
	}
	x.entries = append(x.entries, timeEntry{timestamp: ts, relOffset: relOffset})
}

// truncateAtOffset drops entries at or past the given relative offset.
func (x *timeIndex) truncateAtOffset(rel uint32) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].relOffset >= rel })
	x.entries = x.entries[:i]
}

func (x *timeIndex) last() (timeEntry, bool) {
	if len(x.entries) == 0 {
		return timeEntry{}, false
	}
	return x.entries[len(x.entries)-1], true
}

func (x *offsetIndex) encode() []byte {
	b := make([]byte, 0, len(x.entries)*offsetEntrySize)
	for _, e := range x.entries {
		b = binary.BigEndian.AppendUint32(b, e.relOffset)
		b = binary.BigEndian.AppendUint32(b, e.position)
	}
	return b
}

func (x *timeIndex) encode() []byte {
	b := make([]byte, 0, len(x.entries)*timeEntrySize)
	for _, e := range x.entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.timestamp))
		b = binary.BigEndian.AppendUint32(b, e.relOffset)
	}
	return b
}

// decodeOffsetIndex parses and sanity-checks an offset index: whole
// entries, offsets and positions strictly increasing, positions inside the
// log file and never 0 (the first batch is never indexed), offsets below
// limitRel (the next segment's relative base, or MaxUint32+1).
func decodeOffsetIndex(b []byte, logSize, limitRel int64, maxEntries int) (offsetIndex, error) {
	x := offsetIndex{maxEntries: maxEntries}
	if len(b)%offsetEntrySize != 0 {
		return x, fmt.Errorf("offset index size %d is not a multiple of %d", len(b), offsetEntrySize)
	}
	n := len(b) / offsetEntrySize
	if n > maxEntries {
		x.maxEntries = n
	}
	x.entries = make([]offsetEntry, 0, n)
	var prev offsetEntry
	for i := range n {
		e := offsetEntry{
			relOffset: binary.BigEndian.Uint32(b[i*8:]),
			position:  binary.BigEndian.Uint32(b[i*8+4:]),
		}
		if e.position == 0 || int64(e.position) >= logSize || int64(e.relOffset) >= limitRel {
			return x, fmt.Errorf("offset index entry %d (%d, %d) out of range", i, e.relOffset, e.position)
		}
		if i > 0 && (e.relOffset <= prev.relOffset || e.position <= prev.position) {
			return x, fmt.Errorf("offset index entry %d not increasing", i)
		}
		x.entries = append(x.entries, e)
		prev = e
	}
	return x, nil
}

// decodeTimeIndex parses and sanity-checks a time index.
func decodeTimeIndex(b []byte, limitRel int64, maxEntries int) (timeIndex, error) {
	x := timeIndex{maxEntries: maxEntries}
	if len(b)%timeEntrySize != 0 {
		return x, fmt.Errorf("time index size %d is not a multiple of %d", len(b), timeEntrySize)
	}
	n := len(b) / timeEntrySize
	if n > maxEntries {
		x.maxEntries = n
	}
	x.entries = make([]timeEntry, 0, n)
	var prev timeEntry
	for i := range n {
		e := timeEntry{
			timestamp: int64(binary.BigEndian.Uint64(b[i*12:])),
			relOffset: binary.BigEndian.Uint32(b[i*12+8:]),
		}
		if int64(e.relOffset) >= limitRel {
			return x, fmt.Errorf("time index entry %d offset %d out of range", i, e.relOffset)
		}
		if i > 0 && (e.timestamp <= prev.timestamp || e.relOffset < prev.relOffset) {
			return x, fmt.Errorf("time index entry %d not increasing", i)
		}
		x.entries = append(x.entries, e)
		prev = e
	}
	return x, nil
}
