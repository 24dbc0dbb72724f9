package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStartRestart(t *testing.T) {
	b := StartBroker(t, "num.partitions=3")
	dial := func() bool {
		nc, err := net.DialTimeout("tcp", b.Addr, time.Second)
		if err != nil {
			return false
		}
		nc.Close()
		return true
	}
	Poll(t, 10*time.Second, dial)
	b.Restart()
	Poll(t, 10*time.Second, dial)
	if _, err := os.Stat(filepath.Join(b.Dir, "__cluster_metadata-0")); err != nil {
		t.Fatalf("metadata log not kept across restart: %v", err)
	}
	b.Close()
	if dial() {
		t.Fatal("broker still accepts connections after Close")
	}
}
