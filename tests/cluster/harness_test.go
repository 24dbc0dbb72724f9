package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	defaultNodes   = 3
	readyTimeout   = 60 * time.Second // bound on a cluster (or one node) becoming ready
	stopGrace      = 15 * time.Second // SIGTERM → SIGKILL delay
	reapTimeout    = 10 * time.Second // bound on the exit after SIGKILL
	requestTimeout = 5 * time.Second  // bound on one raw request
	pollInterval   = 100 * time.Millisecond
	logTailBytes   = 6 << 10 // each node's log printed on failure
	portLow        = 20000
	portHigh       = 32000
)

// errNodeExited is reported when a node's process dies while the harness
// waits for it.
var errNodeExited = errors.New("node process exited")

// errNodeStopped is reported by requests to a node the harness has stopped.
var errNodeStopped = errors.New("node is not running")

// samsaBinary is the path of the binary under test, set by TestMain.
var samsaBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	cleanup, err := prepareSamsaBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests/cluster:", err)
		return 1
	}
	defer cleanup()
	return m.Run()
}

// prepareSamsaBinary honours SAMSA_BIN or builds ./cmd/samsa once into a
// temporary directory, returning a function that removes it.
func prepareSamsaBinary() (func(), error) {
	if path := os.Getenv("SAMSA_BIN"); path != "" {
		samsaBinary = path
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "samsa-cluster-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	samsaBinary = filepath.Join(dir, "samsa")
	build := exec.CommandContext(ctx, goTool, "build", "-o", samsaBinary, "./cmd/samsa")
	build.Dir = filepath.Join("..", "..")
	if output, err := build.CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("go build ./cmd/samsa: %w\n%s", err, output)
	}
	return cleanup, nil
}

// clusterOptions configure startCluster.
type clusterOptions struct {
	nodes     int
	overrides []string // extra key=value configs for every node
}

type clusterOption func(*clusterOptions)

// withNodes sets the number of nodes (default 3), each broker and voter.
func withNodes(count int) clusterOption {
	return func(options *clusterOptions) { options.nodes = count }
}

// withOverrides adds key=value configs (samsa --override) to every node.
func withOverrides(overrides ...string) clusterOption {
	return func(options *clusterOptions) { options.overrides = append(options.overrides, overrides...) }
}

// testCluster is N samsa processes forming one cluster; node ids are 1..N.
type testCluster struct {
	t     *testing.T
	nodes []*testNode // nodes[i] has id i+1
}

// testNode is one samsa process (broker and controller) with a data dir
// that survives restarts.
type testNode struct {
	t              *testing.T
	id             int32
	addr           string // 127.0.0.1:port of the PLAINTEXT listener
	controllerAddr string // 127.0.0.1:port of the CONTROLLER listener
	dataDir        string
	logPath        string
	args           []string
	// controllerOnly: process.roles=controller (roles_test.go); addr is
	// then its controller listener, and it is no broker: running, addrs
	// and client leave it out.
	controllerOnly bool

	mu struct {
		sync.Mutex
		process *nodeProcess
	}
}

// nodeProcess is one run of the samsa binary.
type nodeProcess struct {
	command *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	err     error         // Wait's result; read only after exited is closed
}

// startCluster starts the nodes on free loopback ports with fresh data
// dirs, waits until every node answers ApiVersions and lists every broker
// in Metadata, and stops them all by pid when the test ends.
func startCluster(t *testing.T, opts ...clusterOption) *testCluster {
	t.Helper()
	options := clusterOptions{nodes: defaultNodes}
	for _, opt := range opts {
		opt(&options)
	}
	ports := freePorts(t, 2*options.nodes)
	root := t.TempDir()
	c := &testCluster{t: t}
	var voters []string
	for i := range options.nodes {
		node := &testNode{
			t:              t,
			id:             int32(i + 1),
			addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			controllerAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
			dataDir:        filepath.Join(root, fmt.Sprintf("node-%d", i+1)),
			logPath:        filepath.Join(root, fmt.Sprintf("node-%d.log", i+1)),
		}
		voters = append(voters, fmt.Sprintf("%d@%s", node.id, node.controllerAddr))
		c.nodes = append(c.nodes, node)
	}
	replication := strconv.Itoa(min(options.nodes, 3))
	for _, node := range c.nodes {
		node.args = serveArgs(append([]string{
			"node.id=" + strconv.Itoa(int(node.id)),
			"process.roles=broker,controller",
			"listeners=PLAINTEXT://" + node.addr + ",CONTROLLER://" + node.controllerAddr,
			"advertised.listeners=PLAINTEXT://" + node.addr,
			"controller.listener.names=CONTROLLER",
			"inter.broker.listener.name=PLAINTEXT",
			"controller.quorum.voters=" + strings.Join(voters, ","),
			"log.dirs=" + node.dataDir,
			"num.partitions=3",
			"default.replication.factor=" + replication,
			"offsets.topic.replication.factor=" + replication,
			"min.insync.replicas=" + strconv.Itoa(min(options.nodes, 2)),
			// Kafka's 30 s default would make every ISR shrink slow.
			"replica.lag.time.max.ms=5000",
			"group.initial.rebalance.delay.ms=0",
		}, options.overrides...))
	}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			c.logTails()
		}
	})
	for _, node := range c.nodes {
		node.launch()
	}
	c.waitReady(c.ids()...)
	return c
}

func serveArgs(overrides []string) []string {
	args := []string{"serve"}
	for _, override := range overrides {
		args = append(args, "--override", override)
	}
	return args
}

// freePorts returns count distinct loopback ports in [portLow, portHigh)
// that could be listened on a moment ago.
func freePorts(t *testing.T, count int) []int {
	t.Helper()
	var ports []int
	for attempt := 0; attempt < 500 && len(ports) < count; attempt++ {
		port := portLow + rand.IntN(portHigh-portLow)
		if slices.Contains(ports, port) {
			continue
		}
		listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		listener.Close()
		ports = append(ports, port)
	}
	if len(ports) < count {
		t.Fatalf("found only %d free ports of %d", len(ports), count)
	}
	return ports
}

// node returns the node with this id.
func (c *testCluster) node(id int32) *testNode {
	c.t.Helper()
	if id < 1 || int(id) > len(c.nodes) {
		c.t.Fatalf("no node %d in a %d-node cluster", id, len(c.nodes))
	}
	return c.nodes[id-1]
}

// ids returns every node id.
func (c *testCluster) ids() []int32 {
	ids := make([]int32, len(c.nodes))
	for i, node := range c.nodes {
		ids[i] = node.id
	}
	return ids
}

// running returns the ids of the broker nodes whose process runs (or is
// paused).
func (c *testCluster) running() []int32 {
	var ids []int32
	for _, node := range c.nodes {
		if node.isRunning() && !node.controllerOnly {
			ids = append(ids, node.id)
		}
	}
	return ids
}

// addrs returns the client addresses of the given nodes (all brokers when
// none).
func (c *testCluster) addrs(ids ...int32) []string {
	if len(ids) == 0 {
		for _, node := range c.nodes {
			if !node.controllerOnly {
				ids = append(ids, node.id)
			}
		}
	}
	addrs := make([]string, len(ids))
	for i, id := range ids {
		addrs[i] = c.node(id).addr
	}
	return addrs
}

// waitReady waits until each given node answers ApiVersions and its
// Metadata lists every running node as a broker.
func (c *testCluster) waitReady(ids ...int32) {
	c.t.Helper()
	want := c.running()
	c.eventually(readyTimeout, fmt.Sprintf("nodes %v ready, each listing brokers %v", ids, want), func() error {
		for _, id := range ids {
			if err := c.node(id).exitedError(); err != nil {
				c.t.Fatalf("node %d: %v", id, err)
			}
		}
		for _, id := range ids {
			brokers, err := c.node(id).brokerIDs()
			if err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
			if !slices.Equal(brokers, want) {
				return fmt.Errorf("node %d lists brokers %v", id, brokers)
			}
		}
		return nil
	})
}

// kill sends SIGKILL to node id and waits until it is reaped.
func (c *testCluster) kill(id int32) {
	c.t.Helper()
	c.node(id).stop(syscall.SIGKILL)
}

// terminate sends SIGTERM to node id and waits (SIGKILL after stopGrace).
func (c *testCluster) terminate(id int32) {
	c.t.Helper()
	c.node(id).stop(syscall.SIGTERM)
}

// pause sends SIGSTOP to node id; resume sends SIGCONT.
func (c *testCluster) pause(id int32)  { c.t.Helper(); c.node(id).signal(syscall.SIGSTOP) }
func (c *testCluster) resume(id int32) { c.t.Helper(); c.node(id).signal(syscall.SIGCONT) }

// start launches a stopped node on its old ports and data dir and waits
// until it is ready and every running node lists it.
func (c *testCluster) start(id int32) {
	c.t.Helper()
	c.node(id).launch()
	c.waitReady(c.running()...)
}

// restart stops node id cleanly and starts it again.
func (c *testCluster) restart(id int32) {
	c.t.Helper()
	c.terminate(id)
	c.start(id)
}

// stopAll stops every node by pid, concurrently (SIGTERM, SIGKILL after
// stopGrace).
func (c *testCluster) stopAll() {
	var group sync.WaitGroup
	for _, node := range c.nodes {
		group.Go(func() { node.stop(syscall.SIGTERM) })
	}
	group.Wait()
}

// logTails prints the end of every node's output.
func (c *testCluster) logTails() {
	for _, node := range c.nodes {
		data, err := os.ReadFile(node.logPath)
		if err != nil {
			continue
		}
		if len(data) > logTailBytes {
			data = data[len(data)-logTailBytes:]
		}
		c.t.Logf("node %d (%s) log tail (%s):\n%s", node.id, node.addr, node.logPath, data)
	}
}

// eventually polls check every pollInterval until it returns nil, failing
// the test with the last error after timeout.
func (c *testCluster) eventually(timeout time.Duration, what string, check func() error) {
	c.t.Helper()
	eventually(c.t, timeout, what, check)
}

func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("%s: not reached after %v: %v", what, timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// launch starts the node's process without waiting for it.
func (n *testNode) launch() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.process != nil {
		n.t.Fatalf("node %d is already running", n.id)
	}
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatalf("node %d log: %v", n.id, err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "==== harness: starting node %d at %s\n", n.id, time.Now().Format(time.RFC3339Nano))
	process := exec.Command(samsaBinary, n.args...)
	process.Env = nodeEnvironment()
	process.Stdout = logFile
	process.Stderr = logFile
	if err := process.Start(); err != nil {
		n.t.Fatalf("start node %d: %v", n.id, err)
	}
	run := &nodeProcess{command: process, exited: make(chan struct{})}
	go func() {
		run.err = process.Wait()
		close(run.exited)
	}()
	n.mu.process = run
}

// nodeEnvironment is the test's environment without SAMSA_* variables:
// samsa reads SAMSA_<KEY> as broker configs, and the nodes are configured
// by their overrides only.
func nodeEnvironment() []string {
	var environment []string
	for _, variable := range os.Environ() {
		if !strings.HasPrefix(variable, "SAMSA_") {
			environment = append(environment, variable)
		}
	}
	return environment
}

func (n *testNode) current() *nodeProcess {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.process
}

func (n *testNode) isRunning() bool {
	run := n.current()
	if run == nil {
		return false
	}
	select {
	case <-run.exited:
		return false
	default:
		return true
	}
}

// exitedError returns errNodeExited, with the exit status, once a process
// the harness did not stop has died; nil while it runs.
func (n *testNode) exitedError() error {
	run := n.current()
	if run == nil {
		return errNodeStopped
	}
	select {
	case <-run.exited:
		return fmt.Errorf("%w: %v", errNodeExited, run.err)
	default:
		return nil
	}
}

// signal sends sig to the running process.
func (n *testNode) signal(sig syscall.Signal) {
	n.t.Helper()
	run := n.current()
	if run == nil {
		n.t.Fatalf("node %d is not running", n.id)
	}
	if err := run.command.Process.Signal(sig); err != nil {
		n.t.Fatalf("node %d: %v: %v", n.id, sig, err)
	}
}

// stop sends sig (and SIGCONT, in case the node is paused), waits for the
// exit, and escalates to SIGKILL after stopGrace.
func (n *testNode) stop(sig syscall.Signal) {
	n.mu.Lock()
	run := n.mu.process
	n.mu.process = nil
	n.mu.Unlock()
	if run == nil {
		return
	}
	process := run.command.Process
	process.Signal(sig)
	process.Signal(syscall.SIGCONT)
	if waitClosed(run.exited, stopGrace) {
		return
	}
	n.t.Errorf("node %d (pid %d) ignored %v for %v; killing it", n.id, process.Pid, sig, stopGrace)
	process.Signal(syscall.SIGKILL)
	if !waitClosed(run.exited, reapTimeout) {
		n.t.Errorf("node %d (pid %d) survived SIGKILL for %v", n.id, process.Pid, reapTimeout)
	}
}

// waitClosed reports whether channel closed within timeout.
func waitClosed(channel <-chan struct{}, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-channel:
		return true
	case <-timer.C:
		return false
	}
}

// request sends one raw request to this node only, over a fresh
// connection, negotiating versions up to versionCap's (nil: latest).
func (n *testNode) request(request kmsg.Request, opts ...kgo.Opt) (kmsg.Response, error) {
	if !n.isRunning() {
		return nil, fmt.Errorf("node %d: %w", n.id, errNodeStopped)
	}
	client, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(n.addr),
		kgo.RequestRetries(0),
		kgo.DialTimeout(time.Second),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return client.SeedBrokers()[0].Request(ctx, request)
}

// metadata asks this node for the cluster's metadata (topics nil: all).
func (n *testNode) metadata(topics ...string) (*kmsg.MetadataResponse, error) {
	request := kmsg.NewPtrMetadataRequest()
	request.AllowAutoTopicCreation = false // describing must not create
	if len(topics) == 0 {
		request.Topics = nil // all topics
	}
	for _, topic := range topics {
		requestTopic := kmsg.NewMetadataRequestTopic()
		requestTopic.Topic = kmsg.StringPtr(topic)
		request.Topics = append(request.Topics, requestTopic)
	}
	response, err := n.request(request)
	if err != nil {
		return nil, err
	}
	return response.(*kmsg.MetadataResponse), nil
}

// brokerIDs returns the sorted broker ids this node's Metadata lists.
func (n *testNode) brokerIDs() ([]int32, error) {
	response, err := n.metadata()
	if err != nil {
		return nil, err
	}
	ids := make([]int32, 0, len(response.Brokers))
	for _, broker := range response.Brokers {
		ids = append(ids, broker.NodeID)
	}
	slices.Sort(ids)
	return ids, nil
}
