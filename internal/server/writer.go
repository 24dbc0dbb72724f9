package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"samsa/internal/log"
	"samsa/internal/server/handlers"
	"samsa/internal/vfs"
)

// sendfileMin is the smallest file region sent with sendfile; smaller ones
// are copied into the write buffer, which saves a flush and a system call.
const sendfileMin = 8 << 10

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readBufferSize is a connection's read buffer: requests larger than it
// (bulk produce) are read straight into their frame, so it only needs to
// hold headers and small requests.
const readBufferSize = 8 << 10

// writerPool holds the 64 KiB write buffers of connections with nothing
// to send: an idle connection holds none.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

func getWriter(w io.Writer) *bufio.Writer {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw
}

// putWriter returns a flushed writer to the pool.
func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writerPool.Put(bw)
}

// writeSegmented writes a response whose record sets are file regions:
// header and metadata through the buffered writer, large regions with
// sendfile straight from the page cache to the socket.
func (c *conn) writeSegmented(bw *bufio.Writer, s *slot, resp handlers.SegmentedResponse, segs []handlers.Segment) ([]handlers.Segment, error) {
	segs = resp.AppendSegments(segs[:0])
	size := 4
	if s.flexible {
		size++
	}
	for _, sg := range segs {
		size += sg.Len()
	}
	var hdr [9]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(size))
	binary.BigEndian.PutUint32(hdr[4:], uint32(s.corr))
	n := 8
	if s.flexible {
		n = 9 // hdr[8] is zero: no tagged fields
	}
	if _, err := bw.Write(hdr[:n]); err != nil {
		return segs, err
	}
	for _, sg := range segs {
		var err error
		if sg.Bytes != nil {
			_, err = bw.Write(sg.Bytes)
		} else {
			err = c.writeChunk(bw, sg.Chunk)
		}
		if err != nil {
			return segs, err
		}
	}
	return segs, nil
}

// writeChunk sends one file region, by sendfile when both ends allow it.
func (c *conn) writeChunk(bw *bufio.Writer, ch log.Chunk) error {
	if f, ok := vfs.OSFile(ch.File); ok && ch.Len >= sendfileMin {
		if tc, ok := c.nc.(*net.TCPConn); ok {
			if err := bw.Flush(); err != nil {
				return err
			}
			return sendfile(tc, f, ch.Pos, ch.Len)
		}
	}
	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)
	buf := *bufp
	pos, left := ch.Pos, ch.Len
	for left > 0 {
		n := min(left, len(buf))
		m, err := ch.File.ReadAt(buf[:n], pos)
		if m < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading %s at %d: %w", ch.File.Name(), pos, err)
		}
		if _, err := bw.Write(buf[:n]); err != nil {
			return err
		}
		pos += int64(n)
		left -= n
	}
	return nil
}

// errShortFile marks a region that no longer exists in full (the segment
// was truncated or closed); the frame cannot be completed, so the
// connection closes and the client retries.
var errShortFile = errors.New("segment file region is gone")

// sendfile copies n bytes at pos of f to the socket in the kernel. The
// file's descriptor is held (Control) for the whole copy, so a concurrent
// Close cannot hand the number to another file in between.
func sendfile(tc *net.TCPConn, f *os.File, pos int64, n int) error {
	fraw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	craw, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	ctlErr := fraw.Control(func(ffd uintptr) {
		off, left := pos, n
		werr := craw.Write(func(cfd uintptr) bool {
			for left > 0 {
				w, err := syscall.Sendfile(int(cfd), int(ffd), &off, left)
				if w > 0 {
					left -= w
				}
				switch {
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until the socket is writable
				case errors.Is(err, syscall.EINTR):
					continue
				case err != nil:
					sendErr = err
					return true
				case w == 0:
					sendErr = errShortFile
					return true
				}
			}
			return true
		})
		if sendErr == nil {
			sendErr = werr
		}
	})
	if ctlErr != nil {
		return fmt.Errorf("%w: %v", errShortFile, ctlErr)
	}
	return sendErr
}
