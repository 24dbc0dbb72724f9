package peer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/peer"
	"samsa/internal/testutil"
)

func TestRequestKeepsVersion(t *testing.T) {
	b := testutil.StartBroker(t)
	c := peer.New(func(node int32) (string, bool) { return b.Addr, node == 1 }, nil, "samsa-test")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, v := range []int16{0, 1, 4, 9, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		resp, err := c.Request(ctx, 1, req)
		if err != nil {
			t.Fatalf("Metadata v%d: %v", v, err)
		}
		m := resp.(*kmsg.MetadataResponse)
		if m.Version != v || len(m.Brokers) != 1 || m.Brokers[0].NodeID != 1 {
			t.Fatalf("Metadata v%d: version %d, brokers %+v", v, m.Version, m.Brokers)
		}
	}
	// ApiVersions v3 has a flexible body but a non-flexible header.
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "samsa", "1.0"
	resp, err := c.Request(ctx, 1, av)
	if err != nil || resp.(*kmsg.ApiVersionsResponse).ErrorCode != 0 || len(resp.(*kmsg.ApiVersionsResponse).ApiKeys) == 0 {
		t.Fatalf("ApiVersions v3: %v %+v", err, resp)
	}
	if _, err := c.Request(ctx, 7, kmsg.NewPtrMetadataRequest()); !errors.Is(err, peer.ErrUnknownNode) {
		t.Fatalf("unknown node: %v", err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := c.Request(done, 1, kmsg.NewPtrMetadataRequest()); err == nil {
		t.Fatal("request with a cancelled context succeeded")
	}
}
