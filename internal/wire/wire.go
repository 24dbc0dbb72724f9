// Package wire holds the few Kafka framing primitives that Samsa parses by
// hand (request and response headers); message bodies go through kmsg.
package wire

import (
	"encoding/binary"
	"io"
)

// SkipTags skips a tagged-field section (KIP-482) at the start of b and
// returns the number of bytes it used.
func SkipTags(b []byte) (int, error) {
	num, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	pos := n
	for i := uint64(0); i < num; i++ {
		_, m := binary.Uvarint(b[pos:])
		if m <= 0 {
			return 0, io.ErrUnexpectedEOF
		}
		pos += m
		size, m := binary.Uvarint(b[pos:])
		if m <= 0 || size > uint64(len(b)-pos-m) {
			return 0, io.ErrUnexpectedEOF
		}
		pos += m + int(size)
	}
	return pos, nil
}
