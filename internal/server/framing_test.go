package server_test

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// TestPipelining: requests sent back to back without reading are answered
// in request order, even when an earlier one (a long-poll fetch) finishes
// after later ones.
func TestPipelining(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "pipe", 1, nil)
	createTopic(t, c, "empty", 1, nil)

	var reqs []kmsg.Request
	for i := range 20 {
		switch i % 4 {
		case 0:
			reqs = append(reqs, metadataRequest(9, false, "pipe"))
		case 1:
			av := kmsg.NewPtrApiVersionsRequest()
			av.Version, av.ClientSoftwareName, av.ClientSoftwareVersion = 3, "t", "1"
			reqs = append(reqs, av)
		case 2:
			reqs = append(reqs, fetchRequest(11, "empty", [16]byte{}, 0, 0, 200*time.Millisecond))
		case 3:
			reqs = append(reqs, produceRequest("pipe", 0, 1, batch(t, "v")))
		}
	}
	var frames []byte
	var corrs []int32
	for _, r := range reqs {
		f, corr := c.frame(r)
		frames = append(frames, f...)
		corrs = append(corrs, corr)
	}
	c.write(frames)
	for i, r := range reqs {
		resp := c.recv(r, corrs[i])
		switch resp := resp.(type) {
		case *kmsg.ApiVersionsResponse:
			if resp.ErrorCode != 0 {
				t.Fatalf("ApiVersions %d: error %d", i, resp.ErrorCode)
			}
		case *kmsg.ProduceResponse:
			p := resp.Topics[0].Partitions[0]
			if want := int64(i / 4); p.ErrorCode != 0 || p.BaseOffset != want {
				t.Fatalf("produce %d: error %d offset %d, want offset %d", i, p.ErrorCode, p.BaseOffset, want)
			}
		case *kmsg.FetchResponse:
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
				t.Fatalf("fetch %d: error %d, %d bytes", i, p.ErrorCode, len(p.RecordBatches))
			}
		}
	}
}

func TestFrameTooLarge(t *testing.T) {
	b := testutil.StartBroker(t, "socket.request.max.bytes=1048576")
	for _, size := range []uint32{2 << 20, 1<<20 + 1, 1 << 30, 0x7fffffff} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := dial(t, b.Addr)
		// The header claims size bytes; only the size and a request
		// header follow.
		f := binary.BigEndian.AppendUint32(nil, size)
		f = append(f, 0, 3, 0, 1, 0, 0, 0, 1)
		c.write(f)
		c.expectClosed()
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; size >= 1<<30 && grown > 256<<20 {
			t.Fatalf("size %d: broker allocated %d bytes", size, grown)
		}
	}
	// The broker still serves.
	c := dial(t, b.Addr)
	req := metadataRequest(4, false, "x")
	if resp := c.roundTrip(req).(*kmsg.MetadataResponse); resp.Topics[0].ErrorCode != 3 {
		t.Fatalf("metadata after oversized frames: error %d, want 3", resp.Topics[0].ErrorCode)
	}
}

// TestBadFrames: every malformed frame closes its connection and nothing
// else; the broker keeps serving new connections.
func TestBadFrames(t *testing.T) {
	b := testutil.StartBroker(t)
	valid := func() []byte {
		f, _ := (&rawClient{format: kmsg.NewRequestFormatter()}).frame(metadataRequest(1, false, "x"))
		return f
	}
	garbageMetadata := rawFrame(3, 1, 1, "c", false, []byte{0x7f, 0xff, 0xff, 0xff, 1, 2})
	truncatedBody := valid()
	binary.BigEndian.PutUint32(truncatedBody, uint32(len(truncatedBody)-4+10))
	cases := []struct {
		name  string
		frame []byte
		open  bool // closed by the test after writing, not by the broker
	}{
		{name: "size 0", frame: []byte{0, 0, 0, 0}},
		{name: "size 7", frame: append([]byte{0, 0, 0, 7}, 0, 3, 0, 1, 0, 0, 0)},
		{name: "size -1", frame: []byte{0xff, 0xff, 0xff, 0xff}},
		{name: "size min int32", frame: []byte{0x80, 0, 0, 0}},
		{name: "unknown key", frame: rawFrame(9999, 0, 1, "c", false, nil)},
		{name: "negative key", frame: rawFrame(-1, 0, 1, "c", false, nil)},
		{name: "metadata v99", frame: rawFrame(3, 99, 1, "c", true, []byte{0, 0})},
		{name: "metadata v-1", frame: rawFrame(3, -1, 1, "c", false, []byte{0, 0})},
		{name: "garbage body", frame: garbageMetadata},
		{name: "client id past frame", frame: append([]byte{0, 0, 0, 10}, 0, 3, 0, 1, 0, 0, 0, 1, 0, 50)},
		{name: "truncated frame", frame: truncatedBody, open: true},
		{name: "half a size", frame: []byte{0, 0}, open: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, b.Addr)
			c.write(tc.frame)
			if tc.open {
				c.nc.Close()
			} else {
				c.expectClosed()
			}
			// The broker still serves.
			fresh := dial(t, b.Addr)
			if resp := fresh.roundTrip(metadataRequest(4, false, "x")).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
				t.Fatalf("metadata after %s: %d brokers", tc.name, len(resp.Brokers))
			}
		})
	}
}
