package vfs

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory file system, safe for concurrent use.
//
// Crash model: file contents become durable on File.Sync; directory entries
// (creations, renames, removals) become durable on SyncDir of their parent.
// CrashClone returns the file system as it would look after a power loss:
// only durable entries, each holding only its synced contents. Directories
// themselves are always durable.
type MemFS struct {
	mu struct {
		sync.Mutex
		files   map[string]*memNode // current namespace
		durable map[string]*memNode // namespace as of the last SyncDir
		dirs    map[string]bool
	}
}

// memNode is a file's contents. Bytes past len(data) up to size read as
// zeros without being stored, so preallocating with Truncate is cheap.
type memNode struct {
	mu         sync.RWMutex
	data       []byte
	size       int64
	synced     []byte
	syncedSize int64
	modTime    time.Time
}

// NewMem returns an empty in-memory file system with root "/" and "."
// existing.
func NewMem() *MemFS {
	m := &MemFS{}
	m.mu.files = map[string]*memNode{}
	m.mu.durable = map[string]*memNode{}
	m.mu.dirs = map[string]bool{"/": true, ".": true}
	return m
}

func clean(name string) string { return filepath.Clean(name) }

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// OpenFile opens or creates a file. The parent directory must exist.
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.dirs[name] {
		return nil, pathErr("open", name, fs.ErrInvalid)
	}
	node, ok := m.mu.files[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, fs.ErrExist)
	case !ok && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, fs.ErrNotExist)
	case !ok:
		if !m.mu.dirs[filepath.Dir(name)] {
			return nil, pathErr("open", name, fs.ErrNotExist)
		}
		node = &memNode{modTime: time.Now()}
		m.mu.files[name] = node
	}
	if flag&os.O_TRUNC != 0 {
		node.mu.Lock()
		node.data, node.size = nil, 0
		node.mu.Unlock()
	}
	access := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	f := &memFile{
		node:     node,
		name:     name,
		appendTo: flag&os.O_APPEND != 0,
		canRead:  access == os.O_RDONLY || access == os.O_RDWR,
		canWrite: access == os.O_WRONLY || access == os.O_RDWR,
	}
	return f, nil
}

// Remove removes a file or an empty directory.
func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.files[name]; ok {
		delete(m.mu.files, name)
		return nil
	}
	if !m.mu.dirs[name] {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if len(m.childrenLocked(name)) > 0 {
		return pathErr("remove", name, fs.ErrExist)
	}
	delete(m.mu.dirs, name)
	return nil
}

// RemoveAll removes path and everything below it. The removal of files is
// durable at once (RemoveAll is used for whole-partition deletion).
func (m *MemFS) RemoveAll(path string) error {
	path = clean(path)
	prefix := path + string(filepath.Separator)
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.mu.files {
		if name == path || strings.HasPrefix(name, prefix) {
			delete(m.mu.files, name)
			delete(m.mu.durable, name)
		}
	}
	for name := range m.mu.dirs {
		if name == path || strings.HasPrefix(name, prefix) {
			delete(m.mu.dirs, name)
		}
	}
	return nil
}

// Rename moves a file, replacing any file at newpath.
func (m *MemFS) Rename(oldpath, newpath string) error {
	oldpath, newpath = clean(oldpath), clean(newpath)
	m.mu.Lock()
	defer m.mu.Unlock()
	node, ok := m.mu.files[oldpath]
	if !ok {
		return pathErr("rename", oldpath, fs.ErrNotExist)
	}
	if !m.mu.dirs[filepath.Dir(newpath)] {
		return pathErr("rename", newpath, fs.ErrNotExist)
	}
	delete(m.mu.files, oldpath)
	m.mu.files[newpath] = node
	return nil
}

// MkdirAll creates path and its parents.
func (m *MemFS) MkdirAll(path string, perm os.FileMode) error {
	path = clean(path)
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := path; ; p = filepath.Dir(p) {
		if _, isFile := m.mu.files[p]; isFile {
			return pathErr("mkdir", p, fs.ErrExist)
		}
		m.mu.dirs[p] = true
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}

// childrenLocked returns the names (full paths) directly under dir.
func (m *MemFS) childrenLocked(dir string) []string {
	var names []string
	for name := range m.mu.files {
		if filepath.Dir(name) == dir {
			names = append(names, name)
		}
	}
	for name := range m.mu.dirs {
		if name != dir && filepath.Dir(name) == dir {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// ReadDir lists a directory, sorted by name.
func (m *MemFS) ReadDir(name string) ([]os.DirEntry, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.mu.dirs[name] {
		return nil, pathErr("readdir", name, fs.ErrNotExist)
	}
	var entries []os.DirEntry
	for _, child := range m.childrenLocked(name) {
		entries = append(entries, fs.FileInfoToDirEntry(m.statLocked(child)))
	}
	return entries, nil
}

// Stat describes a file or directory.
func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.files[name]; !ok && !m.mu.dirs[name] {
		return nil, pathErr("stat", name, fs.ErrNotExist)
	}
	return m.statLocked(name), nil
}

func (m *MemFS) statLocked(name string) os.FileInfo {
	if node, ok := m.mu.files[name]; ok {
		return node.info(name)
	}
	return memInfo{name: filepath.Base(name), dir: true}
}

// SyncDir makes the entries directly under path durable.
func (m *MemFS) SyncDir(path string) error {
	path = clean(path)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.mu.dirs[path] {
		return pathErr("syncdir", path, fs.ErrNotExist)
	}
	for name := range m.mu.durable {
		if filepath.Dir(name) == path {
			delete(m.mu.durable, name)
		}
	}
	for name, node := range m.mu.files {
		if filepath.Dir(name) == path {
			m.mu.durable[name] = node
		}
	}
	return nil
}

// CrashClone returns a new file system holding what would survive a power
// loss now: durable directory entries with their synced contents. The
// receiver is unchanged and can keep being used (its open files do not
// affect the clone).
func (m *MemFS) CrashClone() FS {
	m.mu.Lock()
	defer m.mu.Unlock()
	clone := NewMem()
	for dir := range m.mu.dirs {
		clone.mu.dirs[dir] = true
	}
	for name, node := range m.mu.durable {
		node.mu.RLock()
		data, size := slices.Clone(node.synced), node.syncedSize
		modTime := node.modTime
		node.mu.RUnlock()
		copyNode := &memNode{data: data, size: size, synced: slices.Clone(data), syncedSize: size, modTime: modTime}
		clone.mu.files[name] = copyNode
		clone.mu.durable[name] = copyNode
	}
	return clone
}

func (n *memNode) info(name string) os.FileInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return memInfo{name: filepath.Base(name), size: n.size, modTime: n.modTime}
}

type memInfo struct {
	name    string
	size    int64
	modTime time.Time
	dir     bool
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) ModTime() time.Time { return i.modTime }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

type memFile struct {
	node     *memNode
	name     string
	appendTo bool
	canRead  bool
	canWrite bool
	mu       struct {
		sync.Mutex
		pos    int64
		closed bool
	}
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) checkOpen(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		return pathErr(op, f.name, fs.ErrClosed)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.checkOpen("read"); err != nil {
		return 0, err
	}
	if !f.canRead {
		return 0, pathErr("read", f.name, fs.ErrPermission)
	}
	if off < 0 {
		return 0, pathErr("read", f.name, fs.ErrInvalid)
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	if off >= f.node.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.node.size-off))
	copied := 0
	if off < int64(len(f.node.data)) {
		copied = copy(p[:n], f.node.data[off:])
	}
	clear(p[copied:n]) // the unstored zero tail
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		return 0, pathErr("write", f.name, fs.ErrClosed)
	}
	if !f.canWrite {
		return 0, pathErr("write", f.name, fs.ErrPermission)
	}
	pos := f.mu.pos
	if f.appendTo {
		pos = f.node.length()
	}
	f.node.writeAt(p, pos)
	f.mu.pos = pos + int64(len(p))
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.checkOpen("write"); err != nil {
		return 0, err
	}
	if !f.canWrite {
		return 0, pathErr("write", f.name, fs.ErrPermission)
	}
	if off < 0 {
		return 0, pathErr("write", f.name, fs.ErrInvalid)
	}
	f.node.writeAt(p, off)
	return len(p), nil
}

func (n *memNode) length() int64 {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.size
}

func (n *memNode) writeAt(p []byte, off int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	end := off + int64(len(p))
	if end > int64(len(n.data)) {
		n.data = slices.Grow(n.data, int(end)-len(n.data))[:end]
	}
	copy(n.data[off:], p)
	n.size = max(n.size, end)
	n.modTime = time.Now()
}

func (f *memFile) Sync() error {
	if err := f.checkOpen("sync"); err != nil {
		return err
	}
	f.node.mu.Lock()
	f.node.synced, f.node.syncedSize = slices.Clone(f.node.data), f.node.size
	f.node.mu.Unlock()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.checkOpen("truncate"); err != nil {
		return err
	}
	if !f.canWrite {
		return pathErr("truncate", f.name, fs.ErrPermission)
	}
	if size < 0 {
		return pathErr("truncate", f.name, fs.ErrInvalid)
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	if size < int64(len(f.node.data)) {
		// Clip so a later extension reads zeros, not old bytes.
		f.node.data = slices.Clip(f.node.data[:size])
	}
	f.node.size = size
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	if err := f.checkOpen("stat"); err != nil {
		return nil, err
	}
	return f.node.info(f.name), nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.closed {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.mu.closed = true
	return nil
}
