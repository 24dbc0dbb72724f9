package partition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"samsa/internal/log"
	"samsa/internal/producerstate"
	"samsa/internal/record"
	"samsa/internal/vfs"
)

const (
	snapshotFile     = "producer.snapshot"
	maxSnapshotBytes = 64 << 20
)

// Open opens (recovering if needed) the replica stored in dir and restores
// its producer state: the latest snapshot, then the batch headers written
// after it.
func Open(fsys vfs.FS, dir string, id ID, topicID [16]byte, settings Settings, logger *slog.Logger, clock func() time.Time) (*Partition, error) {
	if clock == nil {
		clock = time.Now
	}
	l, err := log.Open(fsys, dir, settings.Log, logger, clock)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", id, err)
	}
	p := &Partition{ID: id, TopicID: topicID, log: l, logger: logger, clock: clock, fsys: fsys, dir: dir}
	p.settings.Store(&settings)
	producers, err := restoreProducers(fsys, dir, l, logger)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("restoring producer state of %s: %w", id, err)
	}
	p.mu.producers = producers
	p.highWatermark.Store(l.EndOffset())
	p.mu.hwFromOpen = true
	return p, nil
}

func restoreProducers(fsys vfs.FS, dir string, l *log.Log, logger *slog.Logger) (*producerstate.Manager, error) {
	m := producerstate.NewManager()
	from := l.StartOffset()
	if snap, last, err := readSnapshot(fsys, filepath.Join(dir, snapshotFile)); err == nil {
		if last < l.EndOffset() && last >= from-1 {
			m, from = snap, last+1
		} else if last >= l.EndOffset() {
			logger.Info("producer snapshot is ahead of the log; rebuilding from the log", "snapshot_offset", last, "log_end", l.EndOffset())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		logger.Warn("ignoring unreadable producer snapshot; rebuilding from the log", "err", err)
	}
	err := l.ScanHeaders(from, func(h record.Header) error {
		if h.ProducerID >= 0 && !h.IsControl() {
			m.Apply(&h)
		}
		return nil
	})
	return m, err
}

func readSnapshot(fsys vfs.FS, path string) (*producerstate.Manager, int64, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if st.Size() > maxSnapshotBytes {
		return nil, 0, fmt.Errorf("%w: producer snapshot of %d bytes", record.ErrCorrupt, st.Size())
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	return producerstate.ReadSnapshot(bytes.NewReader(buf), maxSnapshotBytes)
}

// WriteSnapshot persists the producer state (atomically: temp file, fsync,
// rename) so that it survives retention deleting the segments it came from.
func (p *Partition) WriteSnapshot(fsys vfs.FS, dir string) error {
	p.mu.Lock()
	var buf bytes.Buffer
	err := p.mu.producers.WriteSnapshot(&buf, p.log.EndOffset()-1)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, snapshotFile+".tmp")
	if err := writeSnapshotFile(fsys, tmp, buf.Bytes()); err != nil {
		fsys.Remove(tmp) // a partial snapshot is never renamed into place
		return err
	}
	return fsys.Rename(tmp, filepath.Join(dir, snapshotFile))
}

// writeSnapshotFile writes and fsyncs a new snapshot file.
func writeSnapshotFile(fsys vfs.FS, name string, data []byte) error {
	f, err := fsys.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
