package log

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"samsa/internal/vfs"
)

// segmentSuffixes lists a segment's files; the log file comes last so that
// its rename is the last step of each phase of a swap.
var segmentSuffixes = []string{indexSuffix, timeIndexSuffix, logSuffix}

// swapGroup replaces the group's segments with the cleaned segment, under
// the write lock: checks the group is unchanged, renames .cleaned to .swap
// and makes that durable (the commit point), renames the old files to
// .deleted (their handles stay open for in-flight reads until
// file.delete.delay.ms), renames .swap into place, and swaps the segment
// list.
func (l *Log) swapGroup(snap cleanSnapshot, group [2]int, out *cleanedWriter) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	first, err := l.checkGroupWriter(snap, group)
	if err != nil {
		out.discard()
		return err
	}
	base := out.seg.base
	if err := l.renameSegmentFiles(base, cleanedSuffix, swapSuffix); err != nil {
		out.discard()
		return err
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		out.discard()
		return fmt.Errorf("log: sync dir %s: %w", l.dir, err)
	}
	old := snap.segments[group[0]:group[1]]
	if err := l.installSwap(first, old, out); err != nil {
		l.logger.Error("compaction swap failed after its commit point; Open completes it", "base", base, "err", err)
		return err
	}
	return nil
}

// checkGroupWriter finds the group in the segment list and checks that
// nothing truncated, deleted or extended its segments since the snapshot.
func (l *Log) checkGroupWriter(snap cleanSnapshot, group [2]int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if unusable := l.unusableLocked(); unusable != nil {
		return 0, unusable
	}
	segments := l.mu.segments
	first := slices.Index(segments, snap.segments[group[0]].seg)
	count := group[1] - group[0]
	if first < 0 || first+count >= len(segments) {
		return 0, ErrCleanAborted
	}
	for j := range count {
		s, i := segments[first+j], group[0]+j
		if s != snap.segments[i].seg || s.size != snap.sizes[i] || s.next != snap.nexts[i] {
			return 0, ErrCleanAborted
		}
	}
	return first, nil
}

// installSwap finishes a committed swap.
func (l *Log) installSwap(first int, old []view, out *cleanedWriter) error {
	now := l.clock()
	for _, v := range old {
		if err := l.renameSegmentFiles(v.seg.base, "", deletedSuffix); err != nil {
			return err
		}
	}
	base := out.seg.base
	if err := l.renameSegmentFiles(base, swapSuffix, ""); err != nil {
		return err
	}
	if err := l.fsys.SyncDir(l.dir); err != nil {
		return fmt.Errorf("log: sync dir %s: %w", l.dir, err)
	}
	file, err := l.fsys.OpenFile(segmentPath(l.dir, base, logSuffix), os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("log: open cleaned segment %d: %w", base, err)
	}
	out.seg.file.Close()
	seg := out.seg
	seg.file = file
	l.mu.Lock()
	for _, v := range old {
		seg.lastAppend = later(seg.lastAppend, v.seg.lastAppend)
		seg.rollTime = v.seg.rollTime
	}
	l.mu.segments = slices.Replace(slices.Clone(l.mu.segments), first, first+len(old), seg)
	delay := time.Duration(l.mu.cfg.FileDeleteDelayMs) * time.Millisecond
	l.mu.Unlock()
	for _, v := range old {
		l.pending = append(l.pending, pendingDelete{seg: v.seg, due: now.Add(delay)})
	}
	if delay <= 0 {
		l.finishDeletes(now, false)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// renameSegmentFiles renames a segment's files from name+from to name+to
// (index files first, the log file last). Missing index files are skipped.
func (l *Log) renameSegmentFiles(base int64, from, to string) error {
	for _, suffix := range segmentSuffixes {
		name := segmentPath(l.dir, base, suffix)
		err := l.fsys.Rename(name+from, name+to)
		if err != nil && (suffix == logSuffix || !isNotExist(err)) {
			return fmt.Errorf("log: rename %s%s: %w", name, from, err)
		}
	}
	return nil
}

// recoverCleanerFiles runs at Open, before the segments are listed: a
// group whose log .swap file exists was committed and is completed (old
// segments it covers removed, its indexes left to be rebuilt); every other
// .cleaned or .swap file belongs to an uncommitted pass and is removed.
func (l *Log) recoverCleanerFiles() error {
	entries, err := l.fsys.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("log: list %s: %w", l.dir, err)
	}
	var swaps, bases []int64
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentName(name, logSuffix+swapSuffix); ok {
			swaps = append(swaps, base)
		} else if base, ok := parseSegmentName(name, logSuffix); ok {
			bases = append(bases, base)
		}
	}
	for _, base := range swaps {
		if err := l.completeSwap(base, bases); err != nil {
			return err
		}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, cleanedSuffix) || (strings.HasSuffix(name, swapSuffix) && !strings.HasSuffix(name, logSuffix+swapSuffix)) {
			l.removeLeftover(name)
		}
	}
	return l.fsys.SyncDir(l.dir)
}

// completeSwap rolls a committed swap forward: removes the old segments
// whose base lies in [base, end of the swap segment), drops the index
// files of base (rebuilt by the load), and renames the .swap log file into
// place. Each step is idempotent, so a crash here is recovered the same way.
func (l *Log) completeSwap(base int64, bases []int64) error {
	swapName := segmentPath(l.dir, base, logSuffix) + swapSuffix
	end, err := l.swapSegmentEnd(swapName, base)
	if err != nil {
		return err
	}
	l.logger.Warn("completing interrupted compaction swap", "base", base, "end", end)
	for _, other := range bases {
		if other > base && other < end {
			for _, suffix := range segmentSuffixes {
				l.removeIfExists(segmentPath(l.dir, other, suffix))
			}
		}
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		l.removeIfExists(segmentPath(l.dir, base, suffix))
		l.removeIfExists(segmentPath(l.dir, base, suffix) + swapSuffix)
	}
	if err := l.fsys.Rename(swapName, segmentPath(l.dir, base, logSuffix)); err != nil {
		return fmt.Errorf("log: complete swap %d: %w", base, err)
	}
	return nil
}

func (l *Log) removeIfExists(name string) {
	if err := l.fsys.Remove(name); err != nil && !isNotExist(err) {
		l.logger.Warn("cannot remove file", "file", name, "err", err)
	}
}

// swapSegmentEnd returns the offset after the last whole batch of a swap
// log file (base+1 when it holds none, so only base is replaced).
func (l *Log) swapSegmentEnd(name string, base int64) (int64, error) {
	file, err := l.fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("log: open %s: %w", name, err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return 0, fmt.Errorf("log: stat %s: %w", name, err)
	}
	return lastNextOffset(file, info.Size(), base+1), nil
}

func lastNextOffset(file vfs.File, size, next int64) int64 {
	w := newWalker(file, 0, size)
	defer w.release()
	for {
		h, _, err := w.next()
		if err == io.EOF || err != nil {
			return next
		}
		next = max(next, h.NextOffset())
	}
}
