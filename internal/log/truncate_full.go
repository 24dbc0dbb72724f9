package log

import "fmt"

// TruncateFullyAndStartAt deletes every batch and restarts the log, empty,
// at offset, which may lie above the log end offset: a follower whose log
// ends below the leader's log start starts over at the leader's log start.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	unusable := l.unusableLocked()
	l.mu.Unlock()
	switch {
	case unusable != nil:
		return unusable
	case offset < 0:
		return fmt.Errorf("%w: start at %d", ErrOffsetOutOfRange, offset)
	}
	return l.ioFailure(l.truncateFullyWriter(offset))
}
