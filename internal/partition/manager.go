package partition

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"samsa/internal/log"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"samsa/internal/vfs"
)

// Assignment is what the metadata says about one partition of this broker.
type Assignment struct {
	ID          ID
	TopicID     [16]byte
	Leader      int32
	LeaderEpoch int32
	// PartitionEpoch versions Replicas and ISR (0 when the metadata does
	// not say).
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
	Settings       Settings
}

// Manager owns every replica on this broker (Kafka's replica manager): it
// opens, leads, follows and deletes them as the metadata changes.
type Manager struct {
	nodeID int32
	fs     vfs.FS
	dirs   []string
	logger *slog.Logger
	clock  func() time.Time

	stop chan struct{}
	wg   sync.WaitGroup

	mu struct {
		sync.RWMutex
		parts map[ID]*Partition
		where map[ID]string // data dir of each open replica
		byDir map[string]int
		// checkpointed high watermarks of replicas not opened yet
		// (replication-offset-checkpoint, read at start)
		checkpointed map[ID]int64
		// offline holds the failed log directories (offline.go).
		offline      map[string]error
		onDirFailure func(dir string, cause error)
	}
}

// NewManager returns a manager storing replicas under dirs (log.dirs).
func NewManager(nodeID int32, fsys vfs.FS, dirs []string, logger *slog.Logger, clock func() time.Time) (*Manager, error) {
	if len(dirs) == 0 {
		return nil, errors.New("partition: no log directory")
	}
	if clock == nil {
		clock = time.Now
	}
	m := &Manager{nodeID: nodeID, fs: fsys, dirs: dirs, logger: logger, clock: clock, stop: make(chan struct{})}
	m.mu.parts = make(map[ID]*Partition)
	m.mu.where = make(map[ID]string)
	m.mu.byDir = make(map[string]int)
	m.mu.offline = make(map[string]error)
	for _, d := range dirs {
		if err := fsys.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("log directory %s: %w", d, err)
		}
	}
	m.mu.checkpointed = m.loadHighWatermarks()
	m.wg.Add(1)
	go m.tickLoop()
	return m, nil
}

// Get returns the replica of id on this broker.
func (m *Manager) Get(id ID) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.mu.parts[id]
	return p, ok
}

// All returns every open replica, sorted by id.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	out := make([]*Partition, 0, len(m.mu.parts))
	for _, p := range m.mu.parts {
		out = append(out, p)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID.Topic != out[j].ID.Topic {
			return out[i].ID.Topic < out[j].ID.Topic
		}
		return out[i].ID.Partition < out[j].ID.Partition
	})
	return out
}

// Dir returns the log directory holding id.
func (m *Manager) Dir(id ID) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mu.where[id]
}

// Dirs returns the configured log directories.
func (m *Manager) Dirs() []string { return m.dirs }

// Apply brings the replicas in line with the full set of assignments of
// this broker: opens new ones, applies leadership and settings, and deletes
// replicas that are no longer assigned (deleted or recreated topics).
func (m *Manager) Apply(assignments []Assignment) {
	want := make(map[ID]bool, len(assignments))
	for _, a := range assignments {
		want[a.ID] = true
		p, err := m.ensure(a)
		if err != nil {
			m.logger.Error("cannot open replica", "partition", a.ID.String(), "err", err)
			continue
		}
		p.SetSettings(a.Settings)
		if a.Leader == m.nodeID {
			p.MakeLeader(a.LeaderEpoch, a.PartitionEpoch, a.Replicas, a.ISR, m.nodeID)
		} else {
			p.MakeFollower(a.LeaderEpoch, a.PartitionEpoch, a.Leader, a.Replicas)
		}
	}
	m.mu.Lock()
	var gone []*Partition
	for id, p := range m.mu.parts {
		if !want[id] {
			gone = append(gone, p)
			delete(m.mu.parts, id)
			m.mu.byDir[m.mu.where[id]]--
			delete(m.mu.where, id)
		}
	}
	m.mu.Unlock()
	for _, p := range gone {
		m.logger.Info("deleting replica", "partition", p.ID.String())
		p.Close()
		if err := p.log.Delete(); err != nil {
			m.logger.Error("deleting replica", "partition", p.ID.String(), "err", err)
		}
	}
}

// RemoveStale deletes partition directories on disk that no assignment
// names (topics deleted while this broker was down).
func (m *Manager) RemoveStale() {
	for _, d := range m.dirs {
		entries, err := m.fs.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			id, ok := parseDirName(e.Name())
			if !ok || !e.IsDir() {
				continue
			}
			// Only directories that say they hold a replica are ours to
			// delete; the metadata log and anything else stay.
			if _, err := m.readTopicID(filepath.Join(d, e.Name())); err != nil {
				continue
			}
			if _, open := m.Get(id); open {
				continue
			}
			m.logger.Info("removing replica no longer assigned to this broker", "dir", filepath.Join(d, e.Name()))
			m.fs.RemoveAll(filepath.Join(d, e.Name()))
		}
	}
}

func (m *Manager) ensure(a Assignment) (*Partition, error) {
	m.mu.RLock()
	p, ok := m.mu.parts[a.ID]
	m.mu.RUnlock()
	if ok && p.TopicID == a.TopicID {
		return p, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.mu.parts[a.ID]; ok {
		if p.TopicID == a.TopicID {
			return p, nil
		}
		// Same name, new topic: the old replica goes.
		p.Close()
		p.log.Delete()
		m.mu.byDir[m.mu.where[a.ID]]--
		delete(m.mu.parts, a.ID)
		delete(m.mu.where, a.ID)
	}
	dataDir := m.findDirLocked(a.ID)
	if err := m.offlineLocked(dataDir); err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, dirName(a.ID))
	if id, err := m.readTopicID(dir); err == nil && id != a.TopicID {
		m.logger.Info("removing replica of an earlier topic with the same name", "dir", dir)
		if err := m.fs.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	if err := m.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := m.writeTopicID(dir, a.TopicID); err != nil {
		return nil, err
	}
	p, err := Open(m.fs, dir, a.ID, a.TopicID, a.Settings, m.logger.With("partition", a.ID.String()), m.clock)
	if err != nil {
		return nil, err
	}
	if offset, ok := m.mu.checkpointed[a.ID]; ok {
		p.restoreHighWatermark(offset)
		delete(m.mu.checkpointed, a.ID)
	}
	m.mu.parts[a.ID] = p
	m.mu.where[a.ID] = dataDir
	m.mu.byDir[dataDir]++
	return p, nil
}

// findDirLocked returns the data dir already holding id, or the one with the
// fewest replicas.
func (m *Manager) findDirLocked(id ID) string {
	for _, d := range m.dirs {
		if _, err := m.fs.Stat(filepath.Join(d, dirName(id))); err == nil {
			return d
		}
	}
	best := m.dirs[0]
	for _, d := range m.dirs[1:] {
		if m.mu.byDir[d] < m.mu.byDir[best] {
			best = d
		}
	}
	return best
}

func dirName(id ID) string { return id.Topic + "-" + strconv.Itoa(int(id.Partition)) }

func parseDirName(name string) (ID, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return ID{}, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return ID{}, false
	}
	return ID{Topic: name[:i], Partition: int32(n)}, true
}

const metadataFile = "partition.metadata"

// writeTopicID writes Kafka's partition.metadata file naming the topic id.
func (m *Manager) writeTopicID(dir string, id [16]byte) error {
	content := "version: 0\ntopic_id: " + base64.RawURLEncoding.EncodeToString(id[:]) + "\n"
	f, err := m.fs.OpenFile(filepath.Join(dir, metadataFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(content)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (m *Manager) readTopicID(dir string) ([16]byte, error) {
	var id [16]byte
	f, err := m.fs.OpenFile(filepath.Join(dir, metadataFile), os.O_RDONLY, 0)
	if err != nil {
		return id, err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.ReadAt(buf, 0)
	for _, line := range strings.Split(string(buf[:n]), "\n") {
		if v, ok := strings.CutPrefix(line, "topic_id: "); ok {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil || len(b) != 16 {
				return id, fmt.Errorf("bad topic id in %s", filepath.Join(dir, metadataFile))
			}
			copy(id[:], b)
			return id, nil
		}
	}
	return id, fmt.Errorf("no topic id in %s", filepath.Join(dir, metadataFile))
}

// tickLoop drives time-based work: segment.ms rolls, retention, flush.ms,
// producer expiry and snapshots, high watermark checkpoints.
func (m *Manager) tickLoop() {
	defer m.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastSnapshot, lastCheckpoint := m.clock(), m.clock()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		now := m.clock()
		snapshot := now.Sub(lastSnapshot) >= time.Minute
		m.checkFailures()
		for _, p := range m.All() {
			if p.log.Failure() != nil {
				continue // its directory is offline
			}
			if err := p.log.Tick(now); err != nil {
				m.logger.Warn("log maintenance failed", "partition", p.ID.String(), "err", err)
			}
			p.maybeClean(now)
			if snapshot {
				m.storageFailure(m.Dir(p.ID), p, p.maintainProducers(m.fs, m.Dir(p.ID), now))
			}
		}
		if snapshot {
			lastSnapshot = now
		}
		if now.Sub(lastCheckpoint) >= highWatermarkCheckpointInterval {
			m.checkpointHighWatermarks()
			lastCheckpoint = now
		}
	}
}

func (p *Partition) maintainProducers(fsys vfs.FS, dataDir string, now time.Time) error {
	if exp := p.Settings().ProducerExpiration; exp > 0 {
		p.mu.Lock()
		p.mu.producers.Expire(now.UnixMilli(), exp.Milliseconds())
		p.mu.Unlock()
	}
	return p.WriteSnapshot(fsys, filepath.Join(dataDir, dirName(p.ID)))
}

// Close stops maintenance and closes every replica, snapshotting producer
// state so a restart need not rescan the log (not in an offline directory:
// nothing is written there any more).
func (m *Manager) Close() {
	close(m.stop)
	m.wg.Wait()
	m.checkpointHighWatermarks()
	for _, p := range m.All() {
		if p.log.Failure() != nil {
			p.Close()
			continue
		}
		if err := p.WriteSnapshot(m.fs, filepath.Join(m.Dir(p.ID), dirName(p.ID))); err != nil {
			m.logger.Warn("writing producer snapshot", "partition", p.ID.String(), "err", err)
		}
		if err := p.Close(); err != nil {
			m.logger.Warn("closing replica", "partition", p.ID.String(), "err", err)
		}
	}
}

// maybeClean runs a compaction pass on a compacted topic's replica when its
// dirty ratio, a tombstone's delete horizon or max.compaction.lag.ms calls
// for one.
func (p *Partition) maybeClean(now time.Time) {
	s := p.Settings()
	if !s.Compact || !p.log.NeedsCleaning(now, s.Cleaner) {
		return
	}
	stats, err := p.log.Clean(now, s.Cleaner)
	switch {
	case errors.Is(err, log.ErrCleanAborted):
		p.logger.Info("compaction pass aborted by a concurrent change; will retry")
	case err != nil:
		p.logger.Warn("compaction pass failed", "err", err)
	default:
		p.logger.Info("compacted", "segments", stats.SegmentsCleaned, "bytes_before", stats.BytesBefore, "bytes_after", stats.BytesAfter,
			"records_removed", stats.RecordsRemoved, "tombstones_removed", stats.TombstonesRemoved)
	}
}
