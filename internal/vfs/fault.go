package vfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// ErrInjected is the default error a FaultFS rule returns.
var ErrInjected = errors.New("vfs: injected fault")

// Op names an operation a Rule can fail.
type Op int

// Operations that rules can target.
const (
	OpAny Op = iota
	OpOpen
	OpRead
	OpWrite // Write and WriteAt
	OpSync
	OpTruncate
	OpClose
	OpRemove // Remove and RemoveAll
	OpRename
	OpMkdir
	OpReadDir
	OpStat
	OpSyncDir
)

// Rule describes when to fail an operation.
type Rule struct {
	Op         Op     // OpAny matches every operation
	PathSuffix string // matches paths ending with it; "" matches all
	After      int    // let this many matching calls succeed first
	Times      int    // fail this many matching calls, then pass; 0 = forever
	Err        error  // returned (wrapped in *fs.PathError); nil = ErrInjected
	// Partial makes a failing write store the first half of its bytes
	// before returning the error, like a torn write on a full disk.
	Partial bool
}

type ruleState struct {
	rule  Rule
	id    int
	seen  int
	fired int
}

// FaultFS wraps an FS and fails operations according to rules that can be
// added and removed at run time. Safe for concurrent use.
type FaultFS struct {
	inner FS
	mu    struct {
		sync.Mutex
		rules    []*ruleState
		nextID   int
		disabled bool
		injected int
	}
}

// NewFault wraps inner. With no rules it behaves exactly like inner.
func NewFault(inner FS) *FaultFS { return &FaultFS{inner: inner} }

// AddRule installs a rule and returns its id for RemoveRule.
func (f *FaultFS) AddRule(r Rule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.nextID++
	f.mu.rules = append(f.mu.rules, &ruleState{rule: r, id: f.mu.nextID})
	return f.mu.nextID
}

// RemoveRule uninstalls the rule with the given id.
func (f *FaultFS) RemoveRule(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.mu.rules {
		if r.id == id {
			f.mu.rules = append(f.mu.rules[:i], f.mu.rules[i+1:]...)
			return
		}
	}
}

// ClearRules uninstalls every rule.
func (f *FaultFS) ClearRules() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.rules = nil
}

// SetEnabled turns injection on or off without removing rules. Calls made
// while disabled do not count toward any rule's After.
func (f *FaultFS) SetEnabled(enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.disabled = !enabled
}

// Injected returns how many failures have been injected so far.
func (f *FaultFS) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.injected
}

// check returns the rule that fails this call, if any.
func (f *FaultFS) check(op Op, path string) (Rule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.disabled {
		return Rule{}, false
	}
	for _, r := range f.mu.rules {
		if (r.rule.Op != OpAny && r.rule.Op != op) || !strings.HasSuffix(path, r.rule.PathSuffix) {
			continue
		}
		r.seen++
		if r.seen <= r.rule.After || (r.rule.Times > 0 && r.fired >= r.rule.Times) {
			continue
		}
		r.fired++
		f.mu.injected++
		return r.rule, true
	}
	return Rule{}, false
}

func (f *FaultFS) fail(op Op, opName, path string) error {
	r, ok := f.check(op, path)
	if !ok {
		return nil
	}
	return ruleError(r, opName, path)
}

func ruleError(r Rule, opName, path string) error {
	err := r.Err
	if err == nil {
		err = ErrInjected
	}
	return &fs.PathError{Op: opName, Path: path, Err: err}
}

// OpenFile opens a file of the inner FS, wrapped so its calls can fail.
func (f *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := f.fail(OpOpen, "open", name); err != nil {
		return nil, err
	}
	file, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *FaultFS) Remove(name string) error {
	if err := f.fail(OpRemove, "remove", name); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

func (f *FaultFS) RemoveAll(path string) error {
	if err := f.fail(OpRemove, "removeall", path); err != nil {
		return err
	}
	return f.inner.RemoveAll(path)
}

func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.fail(OpRename, "rename", oldpath); err != nil {
		return err
	}
	return f.inner.Rename(oldpath, newpath)
}

func (f *FaultFS) MkdirAll(path string, perm os.FileMode) error {
	if err := f.fail(OpMkdir, "mkdir", path); err != nil {
		return err
	}
	return f.inner.MkdirAll(path, perm)
}

func (f *FaultFS) ReadDir(name string) ([]os.DirEntry, error) {
	if err := f.fail(OpReadDir, "readdir", name); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(name)
}

func (f *FaultFS) Stat(name string) (os.FileInfo, error) {
	if err := f.fail(OpStat, "stat", name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

func (f *FaultFS) SyncDir(path string) error {
	if err := f.fail(OpSyncDir, "syncdir", path); err != nil {
		return err
	}
	return f.inner.SyncDir(path)
}

type faultFile struct {
	File
	fs *FaultFS
}

// Unwrap returns the inner file (used by OSFile).
func (f *faultFile) Unwrap() File { return f.File }

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.fail(OpRead, "read", f.Name()); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *faultFile) Write(p []byte) (int, error) {
	if r, ok := f.fs.check(OpWrite, f.Name()); ok {
		n := 0
		if r.Partial {
			n, _ = f.File.Write(p[:len(p)/2])
		}
		return n, ruleError(r, "write", f.Name())
	}
	return f.File.Write(p)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if r, ok := f.fs.check(OpWrite, f.Name()); ok {
		n := 0
		if r.Partial {
			n, _ = f.File.WriteAt(p[:len(p)/2], off)
		}
		return n, ruleError(r, "write", f.Name())
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if err := f.fs.fail(OpSync, "sync", f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.fail(OpTruncate, "truncate", f.Name()); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultFile) Close() error {
	closeErr := f.File.Close() // the descriptor is released even on an injected failure
	if err := f.fs.fail(OpClose, "close", f.Name()); err != nil {
		return err
	}
	return closeErr
}
