// Package vfs is the file-system seam of the storage layer. Production code
// uses Default (the operating system); tests use NewMem (in memory, with a
// crash model that drops unsynced data) and NewFault (error injection) so
// that crash and I/O-error paths can be exercised deterministically.
package vfs

import (
	"io"
	"os"
)

// File is an open file. *os.File satisfies it.
type File interface {
	io.ReaderAt
	io.Writer
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
	Name() string
}

// FS is a file system. Paths use the host separator.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	RemoveAll(path string) error
	Rename(oldpath, newpath string) error
	MkdirAll(path string, perm os.FileMode) error
	ReadDir(name string) ([]os.DirEntry, error)
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory entries (creations, renames, removals)
	// under path durable.
	SyncDir(path string) error
}

type osFS struct{}

// Default returns the operating system's file system. Its files are
// *os.File values, so OSFile finds them for sendfile.
func Default() FS { return osFS{} }

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) RemoveAll(path string) error                  { return os.RemoveAll(path) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) Stat(name string) (os.FileInfo, error)        { return os.Stat(name) }

func (osFS) SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	syncErr := d.Sync()
	closeErr := d.Close()
	if syncErr != nil {
		return syncErr
	}
	return closeErr
}

// unwrapper is implemented by wrapping files (FaultFS) so OSFile can reach
// the file underneath.
type unwrapper interface{ Unwrap() File }

// OSFile returns the *os.File behind f, if any, looking through wrappers.
func OSFile(f File) (*os.File, bool) {
	for range 16 { // wrappers nest shallowly; the bound guards against cycles
		switch v := f.(type) {
		case *os.File:
			return v, true
		case unwrapper:
			f = v.Unwrap()
		default:
			return nil, false
		}
	}
	return nil, false
}
