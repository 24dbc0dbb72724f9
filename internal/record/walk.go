package record

import "fmt"

// minEntryLength is the smallest length field of a batch or legacy message:
// a magic 0 message holds a CRC, magic, attributes and two null lengths.
const minEntryLength = 14

// Walk calls fn with each complete batch or legacy message in b, in order,
// cut by their length fields (fn sees LogOverhead included). If b ends with
// a partial entry, Walk returns ErrShort after the complete ones: fetch
// responses may end that way, produce requests may not. A length field too
// small for any entry fails with ErrCorrupt. Errors from fn stop the walk and
// are returned as they are.
func Walk(b []byte, fn func(entry []byte) error) error {
	for len(b) > 0 {
		size, err := PeekSize(b)
		if err != nil {
			return err
		}
		if size < LogOverhead+minEntryLength {
			return fmt.Errorf("%w: entry length %d too small", ErrCorrupt, size-LogOverhead)
		}
		if size > len(b) {
			return ErrShort
		}
		if err := fn(b[:size:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}
