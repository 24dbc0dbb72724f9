package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The private network, when the harness runs as root: one namespace per
// node (its eth0 at subnet.N) joined by veth pairs to a bridge in a hub
// namespace (subnet.254), where the harness's own clients dial from. The
// namespaces have no other link and no default route, so nothing is
// routable out of them. A partition between two nodes is a pair of
// blackhole routes, one in each node's namespace: packets of established
// connections are dropped (TCP retransmits them after healing) and new
// connections fail at once. Clients in the hub keep reaching every node.
const (
	namespacePrefix = "samsa-chaos-"
	subnetPrefix    = "10.213.0."
	hubHost         = 254
	ipCommandBound  = 10 * time.Second
)

// errNetwork wraps failures of the ip commands that build or change the
// private network.
var errNetwork = errors.New("network namespace setup")

// network is either the private namespaces (isolated) or plain loopback,
// where partitions are not available.
type network struct {
	isolated bool
	hub      string   // hub namespace name (isolated only)
	nodes    []string // namespace name per node, index id-1 (isolated only)

	mu struct {
		sync.Mutex
		cut map[[2]int32]bool // node pairs with blackhole routes, lower id first
	}
}

// newNetwork builds the private network for count nodes when running as
// root with ip netns available, and falls back to loopback otherwise
// (the returned reason says why).
func newNetwork(count int) (*network, string) {
	n := &network{}
	n.mu.cut = map[[2]int32]bool{}
	if os.Geteuid() != 0 {
		return n, "not root: network namespaces unavailable, partition faults skipped"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return n, "no ip command: partition faults skipped"
	}
	removeStaleNamespaces()
	tag := namespacePrefix + strconv.Itoa(os.Getpid())
	n.hub = tag + "-hub"
	for id := 1; id <= count; id++ {
		n.nodes = append(n.nodes, fmt.Sprintf("%s-n%d", tag, id))
	}
	if err := n.build(); err != nil {
		n.teardown()
		fallback := &network{}
		fallback.mu.cut = map[[2]int32]bool{}
		return fallback, fmt.Sprintf("namespaces failed (%v): partition faults skipped", err)
	}
	n.isolated = true
	return n, ""
}

func (n *network) build() error {
	steps := [][]string{
		{"netns", "add", n.hub},
		{"-n", n.hub, "link", "set", "lo", "up"},
		{"-n", n.hub, "link", "add", "br0", "type", "bridge"},
		{"-n", n.hub, "addr", "add", subnetPrefix + strconv.Itoa(hubHost) + "/24", "dev", "br0"},
		{"-n", n.hub, "link", "set", "br0", "up"},
	}
	for i, name := range n.nodes {
		veth := fmt.Sprintf("v%d", i+1)
		steps = append(steps,
			[]string{"netns", "add", name},
			[]string{"-n", name, "link", "set", "lo", "up"},
			[]string{"-n", n.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name},
			[]string{"-n", n.hub, "link", "set", veth, "master", "br0"},
			[]string{"-n", n.hub, "link", "set", veth, "up"},
			[]string{"-n", name, "addr", "add", subnetPrefix + strconv.Itoa(i+1) + "/24", "dev", "eth0"},
			[]string{"-n", name, "link", "set", "eth0", "up"},
		)
	}
	for _, step := range steps {
		if err := runIP(step...); err != nil {
			return err
		}
	}
	return nil
}

// teardown deletes every namespace this network created (their veths go
// with them). Safe to call twice.
func (n *network) teardown() {
	for _, name := range append([]string{n.hub}, n.nodes...) {
		if name != "" {
			_ = runIP("netns", "delete", name)
		}
	}
	n.hub, n.nodes, n.isolated = "", nil, false
}

// removeStaleNamespaces deletes namespaces left by a harness process that
// no longer exists (killed before its cleanup ran).
func removeStaleNamespaces() {
	output, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(output), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, namespacePrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || processAlive(pid) {
			continue
		}
		_ = runIP("netns", "delete", name)
	}
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func runIP(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ipCommandBound)
	defer cancel()
	output, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: ip %s: %v: %s", errNetwork, strings.Join(args, " "), err, strings.TrimSpace(string(output)))
	}
	return nil
}

// host returns the address node id listens on.
func (n *network) host(id int32) string {
	if n.isolated {
		return subnetPrefix + strconv.Itoa(int(id))
	}
	return "127.0.0.1"
}

// command wraps a node's command line so it runs in its namespace
// (`ip netns exec` execs the binary, so the pid is samsa's own).
func (n *network) command(id int32, binary string, args []string) *exec.Cmd {
	if !n.isolated {
		return exec.Command(binary, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", n.nodes[id-1], binary}, args...)...)
}

// cut drops all traffic between nodes a and b, both ways.
func (n *network) cut(a, b int32) error {
	if !n.isolated {
		return errNetwork
	}
	if a > b {
		a, b = b, a
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.cut[[2]int32{a, b}] {
		return nil
	}
	if err := runIP("-n", n.nodes[a-1], "route", "add", "blackhole", n.host(b)+"/32"); err != nil {
		return err
	}
	if err := runIP("-n", n.nodes[b-1], "route", "add", "blackhole", n.host(a)+"/32"); err != nil {
		_ = runIP("-n", n.nodes[a-1], "route", "del", "blackhole", n.host(b)+"/32")
		return err
	}
	n.mu.cut[[2]int32{a, b}] = true
	return nil
}

// heal removes every cut.
func (n *network) heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for pair := range n.mu.cut {
		errs = append(errs,
			runIP("-n", n.nodes[pair[0]-1], "route", "del", "blackhole", n.host(pair[1])+"/32"),
			runIP("-n", n.nodes[pair[1]-1], "route", "del", "blackhole", n.host(pair[0])+"/32"))
		delete(n.mu.cut, pair)
	}
	return errors.Join(errs...)
}

// dial connects from the hub namespace (or plainly on loopback). A socket
// belongs to the namespace of the thread that created it, so the dialing
// goroutine is locked to its thread while that thread is in the hub.
func (n *network) dial(ctx context.Context, network, address string) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	if !n.isolated {
		return dialer.DialContext(ctx, network, address)
	}
	runtime.LockOSThread()
	original, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer original.Close()
	hub, err := os.Open("/run/netns/" + n.hub)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer hub.Close()
	if err := setns(hub); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	conn, dialErr := dialer.DialContext(ctx, network, address)
	if err := setns(original); err != nil {
		// The thread stays in the hub; leaving it locked makes the runtime
		// discard it when this goroutine ends.
		return conn, dialErr
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

func setns(file *os.File) error {
	if err := unix.Setns(int(file.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	return nil
}
