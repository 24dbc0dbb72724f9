package wire

import "testing"

// FuzzSkipTags: any input is skipped within its bounds or refused.
func FuzzSkipTags(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 2, 'h', 'i'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := SkipTags(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("skipped %d of %d bytes", n, len(b))
		}
	})
}
