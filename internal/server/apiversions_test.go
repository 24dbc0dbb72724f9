package server_test

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/server/handlers"
	"samsa/internal/testutil"
)

func TestAPIVersions(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	all := handlers.All()
	for version := int16(0); version <= 4; version++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = version
		req.ClientSoftwareName = "samsa-test"
		req.ClientSoftwareVersion = "1.0"
		corr := c.send(req)
		got, body, err := c.readFrame()
		if err != nil || got != corr {
			t.Fatalf("v%d: corr %d err %v, want corr %d", version, got, err, corr)
		}
		if version >= 3 {
			// Response header v0 even for flexible versions: error code,
			// then the compact array length, with no tag byte before.
			if body[0] != 0 || body[1] != 0 || body[2] != byte(len(all)+1) {
				t.Fatalf("v%d: body starts % x, want 00 00 %02x (no header tags)", version, body[:3], len(all)+1)
			}
		}
		resp := decodeResponse(t, req, body).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %d", version, resp.ErrorCode)
		}
		if len(resp.ApiKeys) != len(all) {
			t.Fatalf("v%d: %d keys, want %d", version, len(resp.ApiKeys), len(all))
		}
		for i, a := range all {
			k := resp.ApiKeys[i]
			if k.ApiKey != a.Key || k.MinVersion != a.MinVersion || k.MaxVersion != a.MaxVersion {
				t.Errorf("v%d: key %d = %d %d-%d, want %d %d-%d", version, i, k.ApiKey, k.MinVersion, k.MaxVersion, a.Key, a.MinVersion, a.MaxVersion)
			}
		}
	}
}

// TestAPIVersionsUnknownVersion: KIP-511, an ApiVersions of a version the
// broker does not know is answered with a v0 body: UNSUPPORTED_VERSION and
// exactly the ApiVersions range.
func TestAPIVersionsUnknownVersion(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	api, _ := handlers.Lookup(18)
	for _, version := range []int16{99, 5, -1} {
		// A future version's header would be flexible; the broker must
		// not need to parse it.
		c.write(rawFrame(18, version, 7, "x", true, []byte{1, 2, 3}))
		corr, body, err := c.readFrame()
		if err != nil || corr != 7 {
			t.Fatalf("v%d: corr %d err %v", version, corr, err)
		}
		want := binary.BigEndian.AppendUint16(nil, 35)
		want = binary.BigEndian.AppendUint32(want, 1)
		want = binary.BigEndian.AppendUint16(want, 18)
		want = binary.BigEndian.AppendUint16(want, uint16(api.MinVersion))
		want = binary.BigEndian.AppendUint16(want, uint16(api.MaxVersion))
		if string(body) != string(want) {
			t.Fatalf("v%d: body % x, want % x", version, body, want)
		}
	}
	// The connection still works.
	resp := c.roundTrip(kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions v%d after fallback: error %d", resp.Version, resp.ErrorCode)
	}
}
