package testutil

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Cluster is N in-process brokers, each broker and controller, forming one
// Raft quorum on free loopback ports.
type Cluster struct {
	// Nodes are the brokers, node ids 1..N in order.
	Nodes []*Broker
}

// StartCluster starts n nodes concurrently (a quorum needs a majority of
// them up) and waits until each serves. overrides apply to every node.
func StartCluster(t testing.TB, n int, overrides ...string) *Cluster {
	t.Helper()
	used := map[int]bool{}
	port := func() int {
		for range 20 {
			p := freePort(t)
			if !used[p] {
				used[p] = true
				return p
			}
		}
		t.Fatal("no distinct free ports")
		return 0
	}
	clientPorts, controllerPorts := make([]int, n), make([]int, n)
	var voters []string
	for i := range n {
		clientPorts[i], controllerPorts[i] = port(), port()
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, controllerPorts[i]))
	}
	root := t.TempDir()
	c := &Cluster{}
	for i := range n {
		b := &Broker{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPorts[i])),
			Dir:  filepath.Join(root, fmt.Sprintf("node-%d", i+1)),
			t:    t,
		}
		b.overrides = append([]string{
			fmt.Sprintf("node.id=%d", i+1),
			fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", clientPorts[i], controllerPorts[i]),
			fmt.Sprintf("advertised.listeners=PLAINTEXT://127.0.0.1:%d", clientPorts[i]),
			"controller.quorum.voters=" + strings.Join(voters, ","),
			"log.dirs=" + b.Dir,
		}, overrides...)
		c.Nodes = append(c.Nodes, b)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, b := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.start()
		}()
	}
	wg.Wait()
	for _, b := range c.Nodes {
		t.Cleanup(b.Close)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting node %d: %v", i+1, err)
		}
	}
	return c
}

// Bootstrap is the comma-separated list of every node's client address.
func (c *Cluster) Bootstrap() []string {
	out := make([]string, len(c.Nodes))
	for i, b := range c.Nodes {
		out[i] = b.Addr
	}
	return out
}
