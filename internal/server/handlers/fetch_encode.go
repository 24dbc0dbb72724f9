package handlers

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
)

// Segment is one piece of an encoded response: bytes, or a region of a
// segment file that the connection writer sends without copying it through
// user space (sendfile) when it can.
type Segment struct {
	Bytes []byte
	Chunk log.Chunk // used when Bytes is nil
}

// Len is the number of bytes the segment puts on the wire.
func (s Segment) Len() int {
	if s.Bytes != nil {
		return len(s.Bytes)
	}
	return s.Chunk.Len
}

// SegmentedResponse is a response whose body the connection writer takes
// as segments instead of calling AppendTo.
type SegmentedResponse interface {
	kmsg.Response
	// AppendSegments appends the encoded body after the response header.
	AppendSegments(dst []Segment) []Segment
}

// FetchReply is a Fetch response whose record sets stay in the segment
// files until the writer sends them. records holds, in the order of the
// partitions in the response, the file regions of each partition (empty for
// partitions without data or whose records are already in RecordBatches).
type FetchReply struct {
	*kmsg.FetchResponse
	records []log.ReadResult
}

// AppendSegments encodes the response exactly as kmsg would (the tests
// compare the two for every version) but leaves record sets as file regions.
func (f *FetchReply) AppendSegments(dst []Segment) []Segment {
	r := f.FetchResponse
	v := r.Version
	flex := v >= 12
	b := make([]byte, 0, 256)
	if v >= 1 {
		b = binary.BigEndian.AppendUint32(b, uint32(r.ThrottleMillis))
	}
	if v >= 7 {
		b = binary.BigEndian.AppendUint16(b, uint16(r.ErrorCode))
		b = binary.BigEndian.AppendUint32(b, uint32(r.SessionID))
	}
	b = appendArrayLen(b, len(r.Topics), flex)
	next := 0
	for i := range r.Topics {
		t := &r.Topics[i]
		if v >= 13 {
			b = append(b, t.TopicID[:]...)
		} else {
			b = appendString(b, t.Topic, flex)
		}
		b = appendArrayLen(b, len(t.Partitions), flex)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			b = binary.BigEndian.AppendUint32(b, uint32(p.Partition))
			b = binary.BigEndian.AppendUint16(b, uint16(p.ErrorCode))
			b = binary.BigEndian.AppendUint64(b, uint64(p.HighWatermark))
			if v >= 4 {
				b = binary.BigEndian.AppendUint64(b, uint64(p.LastStableOffset))
			}
			if v >= 5 {
				b = binary.BigEndian.AppendUint64(b, uint64(p.LogStartOffset))
			}
			if v >= 4 {
				if p.AbortedTransactions == nil {
					b = appendNullArray(b, flex)
				} else {
					b = appendArrayLen(b, len(p.AbortedTransactions), flex)
					for _, a := range p.AbortedTransactions {
						b = binary.BigEndian.AppendUint64(b, uint64(a.ProducerID))
						b = binary.BigEndian.AppendUint64(b, uint64(a.FirstOffset))
						if flex {
							b = append(b, 0)
						}
					}
				}
			}
			if v >= 11 {
				b = binary.BigEndian.AppendUint32(b, uint32(p.PreferredReadReplica))
			}
			var rec log.ReadResult
			if next < len(f.records) {
				rec = f.records[next]
			}
			next++
			if rec.Size > 0 {
				b = appendBytesLen(b, rec.Size, flex)
				dst = append(dst, Segment{Bytes: b})
				for _, c := range rec.Chunks {
					dst = append(dst, Segment{Chunk: c})
				}
				b = make([]byte, 0, 128)
			} else if p.RecordBatches == nil {
				b = appendNullBytes(b, flex)
			} else {
				b = appendBytesLen(b, len(p.RecordBatches), flex)
				b = append(b, p.RecordBatches...)
			}
			if flex {
				b = append(b, 0) // no tagged fields
			}
		}
		if flex {
			b = append(b, 0)
		}
	}
	if flex {
		b = append(b, 0)
	}
	return append(dst, Segment{Bytes: b})
}

func appendArrayLen(b []byte, n int, flex bool) []byte {
	if flex {
		return binary.AppendUvarint(b, uint64(n)+1)
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func appendNullArray(b []byte, flex bool) []byte {
	if flex {
		return append(b, 0)
	}
	return binary.BigEndian.AppendUint32(b, 0xffffffff)
}

func appendString(b []byte, s string, flex bool) []byte {
	if flex {
		b = binary.AppendUvarint(b, uint64(len(s))+1)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	}
	return append(b, s...)
}

func appendBytesLen(b []byte, n int, flex bool) []byte {
	if flex {
		return binary.AppendUvarint(b, uint64(n)+1)
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func appendNullBytes(b []byte, flex bool) []byte {
	if flex {
		return append(b, 0)
	}
	return binary.BigEndian.AppendUint32(b, 0xffffffff)
}
