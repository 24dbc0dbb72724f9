package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/wire"

	"samsa/internal/server/handlers"
)

// maxInFlight bounds the requests a connection may have read but not yet
// answered. Reading stops while the window is full, so a client that
// pipelines without reading responses exerts back-pressure instead of memory.
const maxInFlight = 64

// Frame bodies larger than the read buffer (writer.go) are read straight
// into their own buffer; the write buffer is pooled and held only while
// responses are queued, so idle connections cost little.
const (
	// frameChunk is the first allocation for a frame body. Larger bodies
	// grow by doubling as their bytes arrive, so a frame claiming a huge
	// size pins at most twice what was actually sent.
	frameChunk = 64 << 10
)

// maxControlFrame bounds the frame of every request but Produce (see
// readLoop). Real Fetch, Metadata and admin requests stay far below it even
// with tens of thousands of partitions.
const (
	maxControlFrame = 4 << 20
	produceKey      = 0
)

// slot is one request's place in the connection's response order.
type slot struct {
	corr     int32
	key      int16
	flexible bool // response header v1 (tagged fields); never for ApiVersions
	done     chan struct{}
	resp     kmsg.Response // nil: send nothing (acks=0 produce)
	once     sync.Once

	pool     *memoryPool
	reserved int64 // queued.max.request.bytes taken by the request's frame
	released atomic.Bool
}

// complete records the response; the request's bytes go back to the pool
// (it is answered, as Kafka counts it).
func (s *slot) complete(resp kmsg.Response) {
	s.release() // before the writer can see the response
	s.once.Do(func() {
		s.resp = resp
		close(s.done)
	})
}

// release returns the frame's reservation once, whether the request was
// answered or its connection closed first.
func (s *slot) release() {
	if s.released.CompareAndSwap(false, true) {
		s.pool.release(s.reserved)
	}
}

// conn serves one client connection: a reader that decodes and dispatches
// requests in order, and a writer that sends responses in request order as
// they complete (pipelining, as Kafka clients expect).
type conn struct {
	srv      *Server
	nc       net.Conn
	listener string
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	pending  chan *slot
	window   chan struct{} // one token per request read and not yet written
}

func (c *conn) serve() {
	defer c.srv.connDone(c)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeLoop()
	}()
	err := c.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log.Info("closing connection", "err", err)
	}
	close(c.pending)
	wg.Wait()
	c.cancel()
	c.nc.Close()
}

// errFrame marks a frame the broker refuses; the connection is closed.
var errFrame = errors.New("bad request frame")

func (c *conn) readLoop() error {
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	for {
		// Wait for room in the response window before reading, so a
		// frame that was read never waits with its bytes reserved.
		select {
		case c.window <- struct{}{}:
		case <-c.ctx.Done():
			return net.ErrClosed
		}
		body, reserved, err := c.readFrame(br)
		if err != nil {
			return err
		}
		if err := c.dispatch(body, reserved); err != nil {
			c.srv.pool.release(reserved)
			return err
		}
	}
}

// readFrame reads one request frame: its size prefix, a reservation of that
// many bytes of queued.max.request.bytes (waiting while none is left) and
// its body, allocated as it arrives. A frame must arrive whole within
// connections.max.idle.ms of the previous one (time spent waiting for the
// pool does not count), so slow partial frames are dropped.
func (c *conn) readFrame(br *bufio.Reader) (body []byte, reserved int64, err error) {
	c.extendDeadline()
	var sizeBuf [4]byte
	if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
		return nil, 0, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if maxFrame := c.srv.cfg.MaxRequestBytes; size < 8 || size > maxFrame {
		return nil, 0, fmt.Errorf("%w: size %d outside [8, %d] (socket.request.max.bytes)", errFrame, size, maxFrame)
	}
	if size > maxControlFrame {
		// Only Produce carries bulk data. Other requests are small, and
		// kmsg allocates up to ~80 bytes per claimed array element
		// before it can tell an array is garbage, so their frames are
		// capped before anything is allocated.
		keyBytes, err := br.Peek(2)
		if err != nil {
			return nil, 0, err
		}
		if key := int16(binary.BigEndian.Uint16(keyBytes)); key != produceKey {
			return nil, 0, fmt.Errorf("%w: %s frame of %d bytes exceeds %d", errFrame, kmsg.NameForKey(key), size, maxControlFrame)
		}
	}
	waited, err := c.srv.pool.reserve(c.ctx, int64(size))
	if err != nil {
		return nil, 0, net.ErrClosed
	}
	if waited {
		c.extendDeadline()
	}
	body, err = readBody(br, int(size))
	if err != nil {
		c.srv.pool.release(int64(size))
		return nil, 0, err
	}
	return body, int64(size), nil
}

func (c *conn) extendDeadline() {
	if idle := c.srv.cfg.IdleTimeout; idle > 0 {
		c.nc.SetReadDeadline(time.Now().Add(idle))
	}
}

// readBody reads a frame body of size bytes, allocating as bytes arrive:
// frameChunk first, then doubling, so a peer that claims a large frame and
// sends little of it pins little memory.
func readBody(r io.Reader, size int) ([]byte, error) {
	body := make([]byte, min(size, frameChunk))
	filled := 0
	for {
		n, err := io.ReadFull(r, body[filled:])
		filled += n
		if err != nil {
			return nil, err
		}
		if filled == size {
			return body, nil
		}
		grown := make([]byte, min(size, 2*len(body)))
		copy(grown, body[:filled])
		body = grown
	}
}

// request is one parsed request frame.
type request struct {
	key      int16
	version  int16
	corr     int32
	api      handlers.API
	kreq     kmsg.Request // nil: ApiVersions of a version we do not know (KIP-511)
	clientID string       // Kafka treats a null client id as empty
}

// parseRequest decodes a request frame body (the bytes after the size
// prefix): header and request. It does no I/O, so it can be fuzzed. An
// error means the frame is refused and the connection closed.
func parseRequest(body []byte) (request, error) {
	if len(body) < 8 {
		return request{}, fmt.Errorf("%w: %d bytes is shorter than a request header", errFrame, len(body))
	}
	r := request{
		key:     int16(binary.BigEndian.Uint16(body[0:])),
		version: int16(binary.BigEndian.Uint16(body[2:])),
		corr:    int32(binary.BigEndian.Uint32(body[4:])),
	}
	key, version := r.key, r.version
	api, ok := handlers.Lookup(key)
	if !ok {
		return request{}, fmt.Errorf("%w: unsupported API key %d (version %d)", errFrame, key, version)
	}
	r.api = api
	if key == 18 && (version > api.MaxVersion || version < 0) {
		// KIP-511: answer an ApiVersions we do not know with a v0 body
		// carrying UNSUPPORTED_VERSION and our ApiVersions range, so the
		// client can retry with a version we speak.
		return r, nil
	}
	if version < api.MinVersion || version > api.MaxVersion {
		return request{}, fmt.Errorf("%w: %s version %d outside supported %d-%d", errFrame, kmsg.NameForKey(key), version, api.MinVersion, api.MaxVersion)
	}

	kreq := kmsg.RequestForKey(key)
	kreq.SetVersion(version)
	pos := 8
	clientID, n, err := readNullableString(body[pos:])
	if err != nil {
		return request{}, fmt.Errorf("%w: %s header: %v", errFrame, kmsg.NameForKey(key), err)
	}
	pos += n
	if clientID != nil {
		r.clientID = *clientID
	}
	if kreq.IsFlexible() {
		n, err := wire.SkipTags(body[pos:])
		if err != nil {
			return request{}, fmt.Errorf("%w: %s header tags: %v", errFrame, kmsg.NameForKey(key), err)
		}
		pos += n
	}
	if err := kreq.ReadFrom(body[pos:]); err != nil {
		return request{}, fmt.Errorf("%w: decoding %s v%d: %v", errFrame, kmsg.NameForKey(key), version, err)
	}
	r.kreq = kreq
	return r, nil
}

// dispatch parses a request frame and hands the request to its handler,
// which returns the frame's reservation when it answers. On an error the
// caller returns the reservation and closes the connection.
func (c *conn) dispatch(body []byte, reserved int64) error {
	r, err := parseRequest(body)
	if err != nil {
		return err
	}
	if r.kreq == nil {
		s := c.push(r.corr, r.key, false, reserved)
		s.complete(handlers.APIVersionsFallback())
		return nil
	}
	s := c.push(r.corr, r.key, r.kreq.IsFlexible() && r.key != 18, reserved)
	req := &handlers.Request{
		Ctx:      c.ctx,
		Kreq:     r.kreq,
		Version:  r.version,
		ClientID: r.clientID,
		Listener: c.listener,
		Remote:   c.nc.RemoteAddr().String(),
		Log:      c.log,
	}
	c.srv.handle(c, r.api, req, s)
	return nil
}

// push queues the next response slot. It never blocks: readLoop took a
// window token before reading the frame, and pending holds as many slots as
// there are tokens.
func (c *conn) push(corr int32, key int16, flexible bool, reserved int64) *slot {
	s := &slot{corr: corr, key: key, flexible: flexible, done: make(chan struct{}), pool: c.srv.pool, reserved: reserved}
	c.pending <- s
	return s
}

func (c *conn) writeLoop() {
	var bw *bufio.Writer // pooled: held only while responses are queued
	var buf []byte
	var segs []handlers.Segment
	failed := false
	for s := range c.pending {
		select {
		case <-s.done:
		case <-c.ctx.Done():
			failed = true
		}
		<-c.window
		if failed {
			s.release() // its handler may never answer now
			continue    // drain so the reader never blocks on a full window
		}
		if bw == nil {
			bw = getWriter(c.nc)
		}
		if seg, ok := s.resp.(handlers.SegmentedResponse); ok {
			var err error
			if segs, err = c.writeSegmented(bw, s, seg, segs); err != nil {
				c.log.Info("closing connection: writing response", "err", err)
				failed = true
				c.cancel()
				c.nc.Close()
				continue
			}
		} else if s.resp != nil {
			buf = encodeResponse(buf[:0], s)
			if _, err := bw.Write(buf); err != nil {
				failed = true
				c.cancel()
				continue
			}
			if cap(buf) > 1<<20 {
				buf = nil // do not pin a large fetch buffer
			}
		}
		if len(c.pending) == 0 {
			if err := bw.Flush(); err != nil {
				failed = true
				c.cancel()
				continue
			}
			putWriter(bw)
			bw = nil
		}
	}
	if !failed && bw != nil {
		bw.Flush()
	}
}

func encodeResponse(buf []byte, s *slot) []byte {
	buf = append(buf, 0, 0, 0, 0)
	buf = binary.BigEndian.AppendUint32(buf, uint32(s.corr))
	if s.flexible {
		buf = append(buf, 0) // empty tagged fields
	}
	buf = s.resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return buf
}

func readNullableString(b []byte) (*string, int, error) {
	if len(b) < 2 {
		return nil, 0, io.ErrUnexpectedEOF
	}
	n := int16(binary.BigEndian.Uint16(b))
	if n < 0 {
		return nil, 2, nil
	}
	if len(b) < 2+int(n) {
		return nil, 0, io.ErrUnexpectedEOF
	}
	s := string(b[2 : 2+int(n)])
	return &s, 2 + int(n), nil
}

// skipTags skips a tagged-field section and returns the bytes it used.
