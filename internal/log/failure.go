package log

import (
	"errors"
	"fmt"
	"syscall"
)

// Disk trouble. Errors of the file system fall in two classes:
//
//   - Disk full (ENOSPC, EDQUOT) while writing a batch, an index or a new
//     segment: nothing was published, the segment file is cut back to its
//     last whole batch, and the log stays online. The append fails (Kafka's
//     KAFKA_STORAGE_ERROR) and the next one succeeds once space is back.
//   - Anything else (EIO, EROFS, EFBIG, a failed fsync, a failed cut back
//     after a partial write): the state of the files is no longer known, so
//     the log goes offline for good, as Kafka takes a log directory offline
//     on an IOException. Every later operation fails with ErrOffline and
//     Close writes nothing, so the next start recovers the segments by
//     scanning them. A failed fsync is never retried: after one, Linux may
//     have dropped the dirty pages it could not write, and a second fsync
//     would report success for data that is gone.

// ErrOffline: the log's directory failed an I/O operation and the log was
// taken offline. Maps to KAFKA_STORAGE_ERROR.
var ErrOffline = errors.New("log: offline after an I/O error")

// errSyncFailed marks an fsync failure, which takes the log offline even
// when the file system calls it ENOSPC.
var errSyncFailed = errors.New("fsync failed")

// IsDiskFull reports whether err is the file system running out of space
// or quota: the log stays online and a later append may succeed.
func IsDiskFull(err error) bool {
	return (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) && !errors.Is(err, errSyncFailed)
}

// Failure returns why the log went offline, or nil while it is online.
func (l *Log) Failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.failure
}

// Fail takes the log offline with cause (the first cause is kept) and
// returns cause wrapped in ErrOffline. A partition manager calls it for
// every log of a directory that failed.
func (l *Log) Fail(cause error) error {
	l.mu.Lock()
	first := l.mu.failure == nil
	if first {
		l.mu.failure = cause
	}
	l.mu.Unlock()
	if first {
		l.logger.Error("log taken offline after an I/O error", "err", cause)
	}
	return fmt.Errorf("%w: %w", ErrOffline, cause)
}

// ioFailure classifies an error of a mutation: disk full is returned as it
// is and leaves the log online; anything else takes the log offline.
func (l *Log) ioFailure(err error) error {
	if err == nil || IsDiskFull(err) || errors.Is(err, ErrOffline) || errors.Is(err, ErrClosed) {
		return err
	}
	return l.Fail(err)
}

// unusableLocked returns ErrClosed or ErrOffline when the log can no longer
// be read or written, nil otherwise. Called with l.mu held.
func (l *Log) unusableLocked() error {
	switch {
	case l.mu.closed:
		return ErrClosed
	case l.mu.failure != nil:
		return fmt.Errorf("%w: %w", ErrOffline, l.mu.failure)
	}
	return nil
}

// syncFile fsyncs f, marking a failure with errSyncFailed.
func syncFile(f interface {
	Sync() error
	Name() string
}) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("log: sync %s: %w: %w", f.Name(), errSyncFailed, err)
	}
	return nil
}
