package clients

import (
	"os"
	"testing"
	"time"
)

func TestDebugKfake(t *testing.T) {
	if os.Getenv("DEBUG_KFAKE") == "" {
		t.Skip()
	}
	b := startBroker(t, withPartitions(3))
	os.WriteFile("/tmp/kfake.addr", []byte(b.addr), 0o644)
	for i := 0; i < 900; i++ {
		if _, err := os.Stat("/tmp/kfake.stop"); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
