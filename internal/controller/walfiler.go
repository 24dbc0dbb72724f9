package controller

import (
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// truncatedTailFiler opens raft-wal segments like raft-wal's own filer,
// except sealed segments without an index block.
//
// raft-wal (v0.4.0, and upstream at the time of writing; hashicorp/raft-wal
// issue 31) seals the tail segment in its metadata when Raft deletes a
// suffix of the log (a follower dropping entries a new leader never had)
// without writing the segment's index block. The running process reads that
// segment through its writer, but after a restart the reader needs the
// index block and every read fails: Raft panics at startup with "sealed
// segment has no index block" and the node can never rejoin the quorum.
// Such a segment's file is a valid unsealed segment whose committed frames
// are all there, so it is opened the way raft-wal recovers an unsealed tail:
// by scanning its frames into an in-memory index. It is only read, never
// appended to; the WAL's metadata still bounds it at its MaxIndex, so the
// truncated entries after that are never served.
type truncatedTailFiler struct {
	*segment.Filer
}

func newTruncatedTailFiler(dir string) *truncatedTailFiler {
	return &truncatedTailFiler{Filer: segment.NewFiler(dir, fs.New())}
}

// Open opens a sealed segment for reading.
func (f *truncatedTailFiler) Open(info types.SegmentInfo) (types.SegmentReader, error) {
	if info.IndexStart == 0 && !info.SealTime.IsZero() {
		return f.Filer.RecoverTail(info)
	}
	return f.Filer.Open(info)
}
