package partition

import (
	"errors"
	"fmt"
	"path/filepath"

	"samsa/internal/log"
)

// ErrLogDirOffline: the replica's log directory failed and was taken
// offline. Maps to KAFKA_STORAGE_ERROR.
var ErrLogDirOffline = fmt.Errorf("partition: log directory offline: %w", log.ErrOffline)

// OnLogDirFailure sets fn, called once per log directory that fails (from
// the maintenance goroutine; fn must not block). Set it before replicas
// are opened.
func (m *Manager) OnLogDirFailure(fn func(dir string, cause error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.onDirFailure = fn
}

// OfflineDirs returns the failed log directories and why they failed.
func (m *Manager) OfflineDirs() map[string]error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]error, len(m.mu.offline))
	for dir, cause := range m.mu.offline {
		out[dir] = cause
	}
	return out
}

// checkFailures takes offline the directory of every replica whose log
// went offline after an I/O error (Kafka's log dir failure channel).
func (m *Manager) checkFailures() {
	for _, p := range m.All() {
		if cause := p.log.Failure(); cause != nil {
			m.failDir(m.Dir(p.ID), fmt.Errorf("partition %s: %w", p.ID, cause))
		}
	}
}

// failDir takes a log directory offline: every replica in it stops serving
// (KAFKA_STORAGE_ERROR), no replica is opened there again, and the failure
// handler is told. A directory fails at most once.
func (m *Manager) failDir(dir string, cause error) {
	m.mu.Lock()
	if _, done := m.mu.offline[dir]; done || dir == "" {
		m.mu.Unlock()
		return
	}
	m.mu.offline[dir] = cause
	var inDir []*Partition
	for id, p := range m.mu.parts {
		if m.mu.where[id] == dir {
			inDir = append(inDir, p)
		}
	}
	fn := m.mu.onDirFailure
	m.mu.Unlock()
	m.logger.Error("log directory failed; its replicas stop serving", "dir", dir, "replicas", len(inDir), "err", cause)
	for _, p := range inDir {
		p.log.Fail(fmt.Errorf("log directory %s is offline: %w", dir, cause))
		p.mu.Lock()
		p.notifyLocked(WakeOnAny) // long-polling fetches see the error at once
		p.mu.Unlock()
	}
	if fn != nil {
		fn(dir, cause)
	}
}

// offlineLocked returns ErrLogDirOffline when dir has failed. Called with
// m.mu held.
func (m *Manager) offlineLocked(dir string) error {
	if cause, ok := m.mu.offline[dir]; ok {
		return fmt.Errorf("%w: %s: %w", ErrLogDirOffline, dir, cause)
	}
	return nil
}

// storageFailure reports an error of a producer snapshot written under
// dataDir: a full disk is only logged (the snapshot is retried later), any
// other I/O error takes the directory offline as a log's would.
func (m *Manager) storageFailure(dataDir string, p *Partition, err error) {
	if err == nil {
		return
	}
	if log.IsDiskFull(err) || errors.Is(err, log.ErrOffline) || errors.Is(err, log.ErrClosed) {
		p.logger.Warn("writing producer snapshot", "err", err)
		return
	}
	m.failDir(dataDir, fmt.Errorf("producer snapshot of %s in %s: %w", p.ID, filepath.Join(dataDir, dirName(p.ID)), err))
}
