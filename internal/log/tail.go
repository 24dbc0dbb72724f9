package log

// tailSize is how many of a segment's latest batches tailIndex remembers:
// enough for followers and consumers that keep up, which read the last
// few batches over and over.
const tailSize = 16

// tailIndex remembers where the latest batches of a segment end, so a read
// near the log end starts at the right batch instead of scanning from the
// sparse index entry below it (index.interval.bytes, 4 KiB: dozens of
// small batches). It lives in memory only and is guarded like the
// segment's other fields.
type tailIndex struct {
	entries [tailSize]tailEntry // a ring; entries[(first+i)%tailSize]
	first   int
	count   int
}

type tailEntry struct {
	lastOffset int64 // the batch's last offset
	end        int64 // the position right after the batch
}

func (t *tailIndex) at(i int) tailEntry { return t.entries[(t.first+i)%tailSize] }

// add records a batch appended at start, ending at end. Entries that do
// not end where this batch starts describe bytes that were truncated or
// rewritten since (the segment's size moved some other way); they are
// dropped.
func (t *tailIndex) add(start, end, lastOffset int64) {
	if t.count > 0 && t.at(t.count-1).end != start {
		t.count = 0
	}
	e := tailEntry{lastOffset: lastOffset, end: end}
	if t.count < tailSize {
		t.entries[(t.first+t.count)%tailSize] = e
		t.count++
		return
	}
	t.entries[t.first] = e
	t.first = (t.first + 1) % tailSize
}

// floorBelowOffset returns the end of the last remembered batch, within
// size, whose last offset is below target: every batch before it ends
// below target. -1 when no remembered batch qualifies. As the remembered
// batches are contiguous and end at the segment's size (add drops them
// otherwise), the batch at the floor, if any, is the first whose last
// offset reaches target: the floor is where a read of target starts.
func (t *tailIndex) floorBelowOffset(target, size int64) int64 {
	floor := int64(-1)
	for i := 0; i < t.count; i++ {
		e := t.at(i)
		if e.lastOffset >= target || e.end > size {
			break
		}
		floor = e.end
	}
	return floor
}
