package controller

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"samsa/internal/mux"
)

// streamLayer is Raft's transport over the Raft side of a shared port
// (internal/mux): dialed connections start with mux.Preamble.
type streamLayer struct {
	net.Listener
	advertise raftAddr
}

// raftAddr is this node's Raft address as the other nodes dial it.
type raftAddr string

func (address raftAddr) Network() string { return "tcp" }
func (address raftAddr) String() string  { return string(address) }

// Addr is the advertised address (what Raft tells its peers).
func (layer *streamLayer) Addr() net.Addr { return layer.advertise }

// Dial opens a Raft connection to another node.
func (layer *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(mux.Preamble[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft preamble to %s: %w", address, err)
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, nil
}
