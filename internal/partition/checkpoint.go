package partition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"samsa/internal/vfs"
)

// HighWatermarkCheckpointFile is Kafka's per-log-directory file of high
// watermarks (replication-offset-checkpoint): "0", the entry count, then
// one "topic partition offset" line per replica.
const HighWatermarkCheckpointFile = "replication-offset-checkpoint"

// highWatermarkCheckpointInterval is Kafka's
// replica.high.watermark.checkpoint.interval.ms default.
const highWatermarkCheckpointInterval = 5 * time.Second

// maxCheckpointBytes bounds the checkpoint file read at startup.
const maxCheckpointBytes = 64 << 20

// ErrBadCheckpoint is returned for a checkpoint file that does not parse.
var ErrBadCheckpoint = errors.New("partition: bad high watermark checkpoint")

// readHighWatermarks reads dir's checkpoint; a missing file is no entries.
func readHighWatermarks(fsys vfs.FS, dir string) (map[ID]int64, error) {
	entries := map[ID]int64{}
	file, err := fsys.OpenFile(filepath.Join(dir, HighWatermarkCheckpointFile), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return entries, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(file, 0, maxCheckpointBytes+1), maxCheckpointBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadCheckpoint, maxCheckpointBytes)
	}
	return parseHighWatermarks(string(data))
}

func parseHighWatermarks(text string) (map[ID]int64, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("%w: no version 0 header", ErrBadCheckpoint)
	}
	count, err := strconv.Atoi(lines[1])
	if err != nil || count != len(lines)-2 {
		return nil, fmt.Errorf("%w: entry count %q for %d lines", ErrBadCheckpoint, lines[1], len(lines)-2)
	}
	entries := make(map[ID]int64, count)
	for _, line := range lines[2:] {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%w: line %q", ErrBadCheckpoint, line)
		}
		partition, errPartition := strconv.ParseInt(fields[1], 10, 32)
		offset, errOffset := strconv.ParseInt(fields[2], 10, 64)
		if errPartition != nil || errOffset != nil || partition < 0 || offset < 0 {
			return nil, fmt.Errorf("%w: line %q", ErrBadCheckpoint, line)
		}
		entries[ID{Topic: fields[0], Partition: int32(partition)}] = offset
	}
	return entries, nil
}

// writeHighWatermarks replaces dir's checkpoint atomically (temporary file,
// fsync, rename, directory fsync).
func writeHighWatermarks(fsys vfs.FS, dir string, entries map[ID]int64) error {
	ids := make([]ID, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Topic != ids[j].Topic {
			return ids[i].Topic < ids[j].Topic
		}
		return ids[i].Partition < ids[j].Partition
	})
	var text bytes.Buffer
	fmt.Fprintf(&text, "0\n%d\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(&text, "%s %d %d\n", id.Topic, id.Partition, entries[id])
	}
	temporary := filepath.Join(dir, HighWatermarkCheckpointFile+".tmp")
	file, err := fsys.OpenFile(temporary, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := file.Write(text.Bytes()); err != nil {
		file.Close()
		return err
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(temporary, filepath.Join(dir, HighWatermarkCheckpointFile)); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// loadHighWatermarks reads every log directory's checkpoint; an unreadable
// one is ignored with a warning (replicas then relearn their high
// watermarks from the leader, as without a checkpoint).
func (m *Manager) loadHighWatermarks() map[ID]int64 {
	all := map[ID]int64{}
	for _, dir := range m.dirs {
		entries, err := readHighWatermarks(m.fs, dir)
		if err != nil {
			m.logger.Warn("ignoring the high watermark checkpoint", "dir", dir, "err", err)
			continue
		}
		for id, offset := range entries {
			all[id] = offset
		}
	}
	return all
}

// checkpointHighWatermarks writes each log directory's checkpoint with the
// high watermarks of the replicas it holds; an offline directory is never
// written again.
func (m *Manager) checkpointHighWatermarks() {
	offline := m.OfflineDirs()
	byDir := make(map[string]map[ID]int64, len(m.dirs))
	for _, dir := range m.dirs {
		if _, failed := offline[dir]; !failed {
			byDir[dir] = map[ID]int64{}
		}
	}
	for _, p := range m.All() {
		if entries := byDir[m.Dir(p.ID)]; entries != nil {
			entries[p.ID] = p.HighWatermark()
		}
	}
	for dir, entries := range byDir {
		if err := writeHighWatermarks(m.fs, dir, entries); err != nil {
			m.logger.Warn("writing the high watermark checkpoint", "dir", dir, "err", err)
		}
	}
}

// restoreHighWatermark sets the high watermark of a freshly opened replica
// from the checkpoint (bounded by its log): a committed offset, trusted
// whatever the in-sync set, so a restarted replica serves consumers up to
// it at once instead of relearning it from the followers or the leader.
func (p *Partition) restoreHighWatermark(offset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	offset = max(min(offset, p.log.EndOffset()), p.log.StartOffset())
	p.highWatermark.Store(offset)
	p.mu.hwFromOpen = false
}
