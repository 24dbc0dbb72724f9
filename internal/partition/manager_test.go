package partition

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"samsa/internal/vfs"
)

// TestRemoveStaleKeepsNonReplicas: only directories holding a
// partition.metadata file are replicas; the metadata log (which shares
// log.dirs and looks like "name-0") and anything else must survive.
func TestRemoveStaleKeepsNonReplicas(t *testing.T) {
	fsys := vfs.NewMem()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := NewManager(1, fsys, []string{"/data"}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	live := Assignment{ID: ID{"live", 0}, TopicID: [16]byte{1}, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}, Settings: testSettings()}
	gone := Assignment{ID: ID{"gone", 0}, TopicID: [16]byte{2}, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}, Settings: testSettings()}
	m.Apply([]Assignment{live, gone})
	m.Apply([]Assignment{live}) // "gone" deleted while running
	if err := fsys.MkdirAll("/data/__cluster_metadata-0/wal", 0o755); err != nil {
		t.Fatal(err)
	}
	// A replica directory left behind by a topic deleted while the broker was down.
	if err := fsys.MkdirAll("/data/old-3", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.writeTopicID("/data/old-3", [16]byte{9}); err != nil {
		t.Fatal(err)
	}
	m.RemoveStale()
	for dir, want := range map[string]bool{
		"/data/__cluster_metadata-0/wal": true,
		"/data/live-0":                   true,
		"/data/gone-0":                   false,
		"/data/old-3":                    false,
	} {
		_, err := fsys.Stat(dir)
		if exists := err == nil; exists != want {
			t.Errorf("%s exists = %v, want %v (err %v)", dir, exists, want, err)
		}
		if err != nil && !os.IsNotExist(err) {
			t.Errorf("%s: %v", dir, err)
		}
	}
}
