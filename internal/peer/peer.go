// Package peer is the broker's client for talking to other brokers over the
// Kafka protocol (request forwarding to the active controller, follower
// fetches, controller RPCs). Unlike a general client it sends each request
// at exactly the version it carries, so a forwarded request keeps the
// semantics of the version its client chose.
package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/wire"
)

// maxResponseBytes bounds a response frame from a peer.
const maxResponseBytes = 256 << 20

// idlePerNode bounds the idle connections kept per peer address.
const idlePerNode = 4

// ErrUnknownNode: no address is known for the node.
var ErrUnknownNode = errors.New("peer: no endpoint for node")

// Resolver returns the address (host:port) of a node.
type Resolver func(node int32) (string, bool)

// Client sends requests to other nodes. Safe for concurrent use.
type Client struct {
	brokers     Resolver // inter-broker endpoints
	controllers Resolver // controller endpoints (controller.quorum.voters)
	clientID    string
	dialer      net.Dialer

	mu struct {
		sync.Mutex
		idle   map[string][]*conn // by address
		closed bool
	}
}

type conn struct {
	addr string
	nc   net.Conn
	br   *bufio.Reader
	corr int32
}

// New returns a client that finds brokers with brokers and controllers
// with controllers (nil: no controller is known).
func New(brokers, controllers Resolver, clientID string) *Client {
	if controllers == nil {
		controllers = func(int32) (string, bool) { return "", false }
	}
	c := &Client{brokers: brokers, controllers: controllers, clientID: clientID, dialer: net.Dialer{Timeout: 5 * time.Second}}
	c.mu.idle = map[string][]*conn{}
	return c
}

// Request sends req to broker node at req's version and returns the response.
func (c *Client) Request(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	addr, ok := c.brokers(node)
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownNode, node)
	}
	return c.requestAt(ctx, node, addr, req)
}

// RequestController sends req to controller node on its controller
// listener (its controller.quorum.voters address).
func (c *Client) RequestController(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	addr, ok := c.controllers(node)
	if !ok {
		return nil, fmt.Errorf("%w %d (controller)", ErrUnknownNode, node)
	}
	return c.requestAt(ctx, node, addr, req)
}

func (c *Client) requestAt(ctx context.Context, node int32, addr string, req kmsg.Request) (kmsg.Response, error) {
	cn, err := c.get(ctx, addr)
	if err != nil {
		return nil, err
	}
	resp, err := cn.roundTrip(ctx, c.clientID, req)
	if err != nil {
		cn.nc.Close()
		return nil, fmt.Errorf("request %s to node %d (%s): %w", kmsg.NameForKey(req.Key()), node, addr, err)
	}
	c.put(cn)
	return resp, nil
}

func (c *Client) get(ctx context.Context, addr string) (*conn, error) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, net.ErrClosed
	}
	if idle := c.mu.idle[addr]; len(idle) > 0 {
		cn := idle[len(idle)-1]
		c.mu.idle[addr] = idle[:len(idle)-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	nc, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}, nil
}

func (c *Client) put(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed || len(c.mu.idle[cn.addr]) >= idlePerNode {
		cn.nc.Close()
		return
	}
	c.mu.idle[cn.addr] = append(c.mu.idle[cn.addr], cn)
}

// Close closes every idle connection; requests under way finish or fail.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.closed = true
	for _, conns := range c.mu.idle {
		for _, cn := range conns {
			cn.nc.Close()
		}
	}
	c.mu.idle = nil
}

func (cn *conn) roundTrip(ctx context.Context, clientID string, req kmsg.Request) (kmsg.Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	cn.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cn.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, req, cn.corr)
	if _, err := cn.nc.Write(frame); err != nil {
		return nil, err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(cn.br, hdr[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(hdr[:]))
	if size < 4 || size > maxResponseBytes {
		return nil, fmt.Errorf("response frame of %d bytes", size)
	}
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != cn.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, cn.corr)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(cn.br, body); err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 {
		n, err := wire.SkipTags(body)
		if err != nil {
			return nil, err
		}
		body = body[n:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}
