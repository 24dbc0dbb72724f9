package log

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"samsa/internal/vfs"
)

// Checkpoint file names inside a partition directory.
const (
	epochCheckpointName = "leader-epoch-checkpoint"
	startCheckpointName = "log-start-offset-checkpoint"
	cleanShutdownName   = ".kafka_cleanshutdown"
	checkpointLimit     = 16 << 20
)

type epochEntry struct {
	epoch       int32
	startOffset int64
}

// epochCache maps leader epochs to the first offset written in each, in
// increasing order of both. Guarded by Log.mu.
type epochCache struct {
	entries []epochEntry
}

func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].epoch
}

// assign records that epoch starts at offset if epoch is newer than the
// latest. Entries at or past offset conflict with it and are dropped.
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 || epoch <= c.latest() {
		return false
	}
	c.truncateFromEnd(offset)
	c.entries = append(c.entries, epochEntry{epoch: epoch, startOffset: offset})
	return true
}

// truncateFromEnd drops entries that start at or after endOffset.
func (c *epochCache) truncateFromEnd(endOffset int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].startOffset >= endOffset {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops entries wholly below start; the entry covering
// start is moved up to start.
func (c *epochCache) truncateFromStart(start int64) bool {
	keep := 0
	for i, e := range c.entries {
		if e.startOffset <= start {
			keep = i
		}
	}
	if len(c.entries) == 0 || c.entries[keep].startOffset > start {
		return false
	}
	changed := keep > 0 || c.entries[keep].startOffset != start
	c.entries = append(c.entries[:0], c.entries[keep:]...)
	c.entries[0].startOffset = start
	return changed
}

// endOffsetFor answers OffsetForLeaderEpoch: the end offset of the
// requested epoch (the start of the next higher one, or the log end for the
// latest) and the largest known epoch not above the requested one.
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	if epoch < 0 || len(c.entries) == 0 {
		return -1, -1
	}
	if epoch == c.latest() {
		return epoch, logEnd
	}
	higher := -1
	for i, e := range c.entries {
		if e.epoch > epoch {
			higher = i
			break
		}
	}
	if higher < 0 {
		return -1, -1
	}
	if higher == 0 {
		return epoch, c.entries[0].startOffset
	}
	return c.entries[higher-1].epoch, c.entries[higher].startOffset
}

func (c *epochCache) clone() []epochEntry { return append([]epochEntry(nil), c.entries...) }

// encodeEpochs writes Kafka's checkpoint format: version, count, then one
// "epoch startOffset" line per entry.
func encodeEpochs(entries []epochEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.epoch, e.startOffset)
	}
	return b.Bytes()
}

func decodeEpochs(data []byte) ([]epochEntry, error) {
	lines, err := checkpointLines(data)
	if err != nil {
		return nil, err
	}
	var entries []epochEntry
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("bad epoch line %q", line)
		}
		epoch, err1 := strconv.ParseInt(fields[0], 10, 32)
		start, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, fmt.Errorf("bad epoch line %q", line)
		}
		if n := len(entries); n > 0 && (int32(epoch) <= entries[n-1].epoch || start < entries[n-1].startOffset) {
			return nil, fmt.Errorf("epoch entries not increasing at %q", line)
		}
		entries = append(entries, epochEntry{epoch: int32(epoch), startOffset: start})
	}
	return entries, nil
}

// checkpointLines parses "version\ncount\n" followed by count lines.
func checkpointLines(data []byte) ([]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("bad checkpoint header")
	}
	count, err := strconv.Atoi(lines[1])
	if err != nil || count != len(lines)-2 {
		return nil, fmt.Errorf("bad checkpoint count %q", lines[1])
	}
	return lines[2:], nil
}

func encodeStartOffset(offset int64) []byte { return fmt.Appendf(nil, "0\n1\n%d\n", offset) }

func decodeStartOffset(data []byte) (int64, error) {
	lines, err := checkpointLines(data)
	if err != nil {
		return 0, err
	}
	if len(lines) != 1 {
		return 0, fmt.Errorf("want one offset, got %d lines", len(lines))
	}
	offset, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil || offset < 0 {
		return 0, fmt.Errorf("bad offset %q", lines[0])
	}
	return offset, nil
}

// writeCheckpoint replaces dir/name atomically: write a temporary file,
// sync it, rename it over the old one, sync the directory.
func writeCheckpoint(fsys vfs.FS, dir, name string, data []byte) error {
	target := filepath.Join(dir, name)
	tmp := target + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("log: checkpoint %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = fsys.Rename(tmp, target)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("log: checkpoint %s: %w", name, err)
	}
	return nil
}
