package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, fsys FS, name, data string, sync bool) File {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func readAll(t *testing.T, fsys FS, name string) string {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, info.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(buf)
}

func testBasics(t *testing.T, fsys FS, dir string) {
	if err := fsys.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "a", "b", "f")
	f := writeFile(t, fsys, name, "hello", false)
	if _, err := f.WriteAt([]byte("J"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, name); got != "Jell" {
		t.Fatalf("got %q", got)
	}
	if err := f.Truncate(6); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, name); got != "Jell\x00\x00" {
		t.Fatalf("got %q", got)
	}
	if _, err := fsys.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 1), 0); err == nil {
		t.Fatal("read after close succeeded")
	}
	renamed := filepath.Join(dir, "a", "g")
	if err := fsys.Rename(name, renamed); err != nil {
		t.Fatal(err)
	}
	entries, err := fsys.ReadDir(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name() != "b" || !entries[0].IsDir() || entries[1].Name() != "g" {
		t.Fatalf("entries %v", entries)
	}
	if err := fsys.SyncDir(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove(renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(renamed); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat removed: %v", err)
	}
	if err := fsys.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat removed dir: %v", err)
	}
}

func TestOSBasics(t *testing.T)  { testBasics(t, Default(), t.TempDir()) }
func TestMemBasics(t *testing.T) { testBasics(t, NewMem(), "/data") }

func TestOSFile(t *testing.T) {
	dir := t.TempDir()
	fault := NewFault(Default())
	f, err := fault.OpenFile(filepath.Join(dir, "x"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := OSFile(f); !ok {
		t.Fatal("OSFile did not see through FaultFS")
	}
	m, _ := NewMem().OpenFile("/y", os.O_CREATE|os.O_RDWR, 0o644)
	if _, ok := OSFile(m); ok {
		t.Fatal("OSFile found an os.File behind a MemFS file")
	}
}

func TestMemCrash(t *testing.T) {
	m := NewMem()
	if err := m.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	synced := writeFile(t, m, "/d/synced", "abc", true)
	if _, err := synced.Write([]byte("def")); err != nil { // unsynced tail
		t.Fatal(err)
	}
	writeFile(t, m, "/d/unsynced", "xyz", false)
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/d/nodirsync", "q", true) // entry never made durable
	crashed := m.CrashClone()
	if got := readAll(t, crashed, "/d/synced"); got != "abc" {
		t.Fatalf("synced: %q", got)
	}
	if got := readAll(t, crashed, "/d/unsynced"); got != "" {
		t.Fatalf("unsynced: %q", got)
	}
	if _, err := crashed.Stat("/d/nodirsync"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("nodirsync: %v", err)
	}
	if got := readAll(t, m, "/d/synced"); got != "abcdef" {
		t.Fatalf("original changed: %q", got)
	}
}

func TestFaultRules(t *testing.T) {
	fault := NewFault(NewMem())
	id := fault.AddRule(Rule{Op: OpWrite, PathSuffix: ".log", After: 1, Times: 1, Err: syscall.ENOSPC, Partial: true})
	f, err := fault.OpenFile("/a.log", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("1234"), 0); err != nil {
		t.Fatalf("first write: %v", err)
	}
	n, err := f.WriteAt([]byte("abcd"), 4)
	if !errors.Is(err, syscall.ENOSPC) || n != 2 {
		t.Fatalf("second write: n=%d err=%v", n, err)
	}
	if _, err := f.WriteAt([]byte("zz"), 6); err != nil {
		t.Fatalf("third write (rule exhausted): %v", err)
	}
	buf := make([]byte, 8)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "1234abzz" {
		t.Fatalf("contents %q %v", buf, err)
	}
	fault.RemoveRule(id)
	fault.AddRule(Rule{Op: OpSync})
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("sync: %v", err)
	}
	fault.SetEnabled(false)
	if err := f.Sync(); err != nil {
		t.Fatalf("sync disabled: %v", err)
	}
	fault.SetEnabled(true)
	fault.AddRule(Rule{Op: OpOpen, PathSuffix: ".index"})
	if _, err := fault.OpenFile("/a.index", os.O_CREATE|os.O_RDWR, 0o644); !errors.Is(err, ErrInjected) {
		t.Fatalf("open: %v", err)
	}
	if got := fault.Injected(); got != 3 {
		t.Fatalf("injected %d", got)
	}
	fault.ClearRules()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestMemSparseTruncate(t *testing.T) {
	m := NewMem()
	f := writeFile(t, m, "/sparse", "ab", false)
	if err := f.Truncate(1 << 40); err != nil { // must not allocate a terabyte
		t.Fatal(err)
	}
	info, _ := f.Stat()
	if info.Size() != 1<<40 {
		t.Fatalf("size %d", info.Size())
	}
	buf := []byte{9, 9, 9, 9}
	if n, err := f.ReadAt(buf, 0); n != 4 || err != nil || string(buf) != "ab\x00\x00" {
		t.Fatalf("read %d %v %q", n, err, buf)
	}
	if err := f.Truncate(1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("z"), 3); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "/sparse"); got != "a\x00\x00z" {
		t.Fatalf("got %q", got)
	}
}
