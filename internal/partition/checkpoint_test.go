package partition

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"samsa/internal/vfs"
)

// TestHighWatermarkCheckpointSurvivesRestart: a replica reopened as
// leader of a replicated partition (its followers not heard from yet)
// serves up to the checkpointed high watermark instead of relearning it
// from its log start; without a checkpoint it would start from 0.
func TestHighWatermarkCheckpointSurvivesRestart(t *testing.T) {
	fsys := vfs.NewMem()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sole := Assignment{ID: ID{"orders", 0}, TopicID: [16]byte{1}, Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1}, Settings: testSettings()}
	first, err := NewManager(1, fsys, []string{"/data"}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Apply([]Assignment{sole})
	p, _ := first.Get(sole.ID)
	for index := range 3 {
		if _, err := p.AppendRecords(batch(t, -1, -1, -1, "a", "b")); err != nil {
			t.Fatalf("append %d: %v", index, err)
		}
	}
	if hw := p.HighWatermark(); hw != 6 {
		t.Fatalf("high watermark %d before restart, want 6", hw)
	}
	first.Close()
	entries, err := readHighWatermarks(fsys, "/data")
	if err != nil || len(entries) != 1 || entries[sole.ID] != 6 {
		t.Fatalf("checkpoint %v %v, want orders-0 at 6", entries, err)
	}

	// Back with both replicas in sync: the log end is not trusted (the
	// follower may lack it) but the checkpoint is.
	second, err := NewManager(1, fsys, []string{"/data"}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	replicated := sole
	replicated.LeaderEpoch, replicated.ISR = 2, []int32{1, 2}
	second.Apply([]Assignment{replicated})
	p, _ = second.Get(sole.ID)
	if hw := p.HighWatermark(); hw != 6 {
		t.Fatalf("high watermark %d after restart, want the checkpointed 6", hw)
	}
	if _, err := p.AppendRecords(batch(t, -1, -1, -1, "c")); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 6 {
		t.Fatalf("high watermark %d with a follower not caught up, want 6", hw)
	}
}

func TestHighWatermarkCheckpointFormat(t *testing.T) {
	entries := map[ID]int64{{"b", 1}: 7, {"a", 10}: 0, {"a", 2}: 42}
	fsys := vfs.NewMem()
	if err := fsys.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeHighWatermarks(fsys, "/d", entries); err != nil {
		t.Fatal(err)
	}
	file, err := fsys.OpenFile("/d/"+HighWatermarkCheckpointFile, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]byte, 100)
	n, _ := file.ReadAt(text, 0)
	file.Close()
	if got, want := string(text[:n]), "0\n3\na 2 42\na 10 0\nb 1 7\n"; got != want {
		t.Fatalf("checkpoint %q, want %q", got, want)
	}
	for _, bad := range []string{"", "1\n0\n", "0\n2\na 0 1\n", "0\n1\na 0\n", "0\n1\na -1 3\n", "0\n1\na 0 x\n", "0\nmany\n"} {
		if _, err := parseHighWatermarks(bad); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("%q: %v, want ErrBadCheckpoint", bad, err)
		}
	}
	if got, err := parseHighWatermarks("0\n0\n"); err != nil || len(got) != 0 {
		t.Fatalf("empty checkpoint: %v %v", got, err)
	}
}
