package server

import (
	"errors"
	"testing"
)

// hugeTagCountBody is a Metadata v9 frame body (flexible) whose request
// tagged-field section claims 2^32-1 fields and then ends. Unpatched kmsg
// v1.15.0 kept looping over that count after its input ran out (~20 s of
// CPU); third_party/kmsg stops at the first failed read.
var hugeTagCountBody = []byte{
	0, 3, 0, 9, 0, 0, 0, 7, // Metadata v9, correlation id 7
	0xff, 0xff, // null client id
	0,       // no header tagged fields
	0,       // null topics (compact array)
	1, 0, 0, // allow auto-creation, no authorized-operations flags
	0xff, 0xff, 0xff, 0xff, 0x0f, // 4294967295 tagged fields follow: none do
}

// TestTagCountPastEndRejected: the frame is refused as malformed.
func TestTagCountPastEndRejected(t *testing.T) {
	_, err := parseRequest(hugeTagCountBody)
	if !errors.Is(err, errFrame) {
		t.Fatalf("parseRequest = %v, want %v", err, errFrame)
	}
}
