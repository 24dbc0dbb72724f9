package server_test

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// TestLargeNonProduceFrameRefused: a Metadata frame above 4 MiB is refused
// before its body is read (the connection closes), while the broker keeps
// serving.
func TestLargeNonProduceFrameRefused(t *testing.T) {
	b := testutil.StartBroker(t)
	conn, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := binary.BigEndian.AppendUint32(nil, 5<<20)
	frame = append(frame, 0, 3, 0, 1, 0, 0, 0, 7) // Metadata v1, correlation id 7
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var one [1]byte
	if n, err := conn.Read(one[:]); err == nil || n != 0 {
		t.Fatalf("connection still open after an oversized Metadata frame (read %d, %v)", n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("broker waited for the body instead of refusing the frame")
	}
	// A normal request on a new connection is still served.
	c2, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	req := binary.BigEndian.AppendUint32(nil, 10)
	req = append(req, 0, 18, 0, 0, 0, 0, 0, 9, 0xff, 0xff) // ApiVersions v0, null client id
	c2.Write(req)
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [8]byte
	if _, err := readFull(c2, hdr[:]); err != nil {
		t.Fatalf("no ApiVersions answer after the refused frame: %v", err)
	}
	if corr := binary.BigEndian.Uint32(hdr[4:]); corr != 9 {
		t.Fatalf("correlation id %d, want 9", corr)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestHugeTagCountClosesConnection: a 24-byte flexible Metadata frame
// claiming 2^32-1 tagged fields closes its connection (it used to keep the
// reader busy for ~20 s inside kmsg), and the broker keeps serving.
func TestHugeTagCountClosesConnection(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	body := []byte{0, 3, 0, 9, 0, 0, 0, 7, 0xff, 0xff, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	c.write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...))
	c.expectClosed()
	fresh := dial(t, b.Addr)
	if resp := fresh.roundTrip(metadataRequest(9, false, "x")).(*kmsg.MetadataResponse); resp.Topics[0].ErrorCode != 3 {
		t.Fatalf("metadata after the frame: error %d, want 3", resp.Topics[0].ErrorCode)
	}
}
