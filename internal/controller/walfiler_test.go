package controller

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

func storeEntries(t *testing.T, log *wal.WAL, first, last uint64, term uint64) {
	t.Helper()
	for index := first; index <= last; index++ {
		entry := &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry %d term %d", index, term))}
		if err := log.StoreLog(entry); err != nil {
			t.Fatalf("store %d: %v", index, err)
		}
	}
}

// A follower that drops a log suffix (Raft's "clearing log suffix" when a
// new leader never had those entries) and is then killed must start again:
// raft-wal seals the truncated tail without an index block, which its own
// filer cannot read after a restart.
func TestWALReopensAfterATailTruncation(t *testing.T) {
	dir := t.TempDir()
	// open returns the WAL and a function closing it and its metadata store
	// (which holds a file lock).
	open := func(fixed bool) (*wal.WAL, func(), error) {
		meta := &metadb.BoltMetaDB{}
		var log *wal.WAL
		var err error
		if fixed {
			log, err = wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentFiler(newTruncatedTailFiler(dir)))
		} else {
			log, err = wal.Open(dir, wal.WithMetaStore(meta))
		}
		if err != nil {
			meta.Close()
			return nil, nil, err
		}
		return log, func() { log.Close(); meta.Close() }, nil
	}
	log, closeLog, err := open(true)
	if err != nil {
		t.Fatal(err)
	}
	storeEntries(t, log, 1, 10, 1)
	if err := log.DeleteRange(8, 10); err != nil {
		t.Fatal(err)
	}
	storeEntries(t, log, 8, 12, 2)
	closeLog()

	plain, closePlain, err := open(false)
	if err != nil {
		t.Fatal(err)
	}
	var entry raft.Log
	if err := plain.GetLog(1, &entry); err == nil {
		t.Log("raft-wal's own filer now reads a truncated tail after a restart; truncatedTailFiler may be unneeded")
	}
	closePlain()

	reopened, closeReopened, err := open(true)
	if err != nil {
		t.Fatal(err)
	}
	defer closeReopened()
	first, _ := reopened.FirstIndex()
	last, _ := reopened.LastIndex()
	if first != 1 || last != 12 {
		t.Fatalf("indexes [%d, %d], want [1, 12]", first, last)
	}
	for index := uint64(1); index <= 12; index++ {
		term := uint64(1)
		if index >= 8 {
			term = 2
		}
		if err := reopened.GetLog(index, &entry); err != nil {
			t.Fatalf("get %d: %v", index, err)
		}
		if want := fmt.Sprintf("entry %d term %d", index, term); string(entry.Data) != want || entry.Term != term {
			t.Fatalf("entry %d = %q term %d, want %q", index, entry.Data, entry.Term, want)
		}
	}
	storeEntries(t, reopened, 13, 13, 2) // and appends go on
}
