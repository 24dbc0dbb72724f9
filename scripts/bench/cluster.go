package main

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
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	clusterPortLow   = 20000 // free ports are picked in [low, high): below the ephemeral range
	clusterPortHigh  = 32000
	clusterStopGrace = 15 * time.Second // SIGTERM → SIGKILL
	probeTimeout     = 2 * time.Second  // bound on one Metadata probe
	clusterPoll      = 20 * time.Millisecond
)

// errNotReady means a cluster condition was not reached in time.
var errNotReady = errors.New("cluster condition not reached")

// localCluster is count samsa processes (node ids 1..count, each broker and
// Raft voter) on loopback, the same way tests/cluster starts them. Only the
// goroutine that created it starts and stops its processes.
type localCluster struct {
	bin   string
	root  string
	ready time.Duration
	nodes []*localNode
}

// localNode is one node: fixed ports, data dir and arguments, and every
// process run so far (the last one is current while it runs).
type localNode struct {
	id             int32
	addr           string
	controllerAddr string
	logPath        string
	args           []string
	runs           []*nodeRun
	killed         bool        // the current run was stopped on purpose
	probe          *kgo.Client // Metadata requests to this node only
}

// nodeRun is one process of a node.
type nodeRun struct {
	cmd    *exec.Cmd
	exited chan struct{}
	// peakRSS is VmHWM read just before the cluster killed the process. The
	// reaped rusage's maxrss is no substitute: Linux carries the parent's
	// high-water mark across the vfork and exec into it.
	peakRSS float64
}

// startLocalCluster launches count nodes with fresh data dirs, plus extra
// overrides (name=value) on every node, and waits until each node's
// Metadata lists every broker.
func startLocalCluster(bin string, count int, ready time.Duration, overrides ...string) (*localCluster, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("samsa binary: %w", err)
	}
	ports, err := freeLowPorts(2 * count)
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "bench-cluster-")
	if err != nil {
		return nil, err
	}
	c := &localCluster{bin: bin, root: root, ready: ready}
	var voters []string
	for i := range count {
		node := &localNode{
			id:             int32(i + 1),
			addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			controllerAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
			logPath:        filepath.Join(root, fmt.Sprintf("node-%d.log", i+1)),
		}
		voters = append(voters, fmt.Sprintf("%d@%s", node.id, node.controllerAddr))
		c.nodes = append(c.nodes, node)
	}
	for _, node := range c.nodes {
		node.args = nodeArgs(node, voters, filepath.Join(root, fmt.Sprintf("node-%d", node.id)), count, overrides)
		node.probe, err = kgo.NewClient(kgo.SeedBrokers(node.addr), kgo.RequestRetries(0), kgo.DialTimeout(time.Second))
		if err != nil {
			c.stop()
			return nil, err
		}
	}
	for _, node := range c.nodes {
		if err := c.launch(node.id); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.waitBrokers(); err != nil {
		err = fmt.Errorf("%w%s", err, c.logTails(400))
		c.stop()
		return nil, err
	}
	return c, nil
}

// nodeArgs are `samsa serve` arguments with the override names of
// tests/cluster/harness_test.go.
func nodeArgs(node *localNode, voters []string, dataDir string, count int, overrides []string) []string {
	replication := strconv.Itoa(min(count, 3))
	settings := append([]string{
		"node.id=" + strconv.Itoa(int(node.id)),
		"process.roles=broker,controller",
		"listeners=PLAINTEXT://" + node.addr + ",CONTROLLER://" + node.controllerAddr,
		"advertised.listeners=PLAINTEXT://" + node.addr,
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"controller.quorum.voters=" + strings.Join(voters, ","),
		"log.dirs=" + dataDir,
		"default.replication.factor=" + replication,
		"offsets.topic.replication.factor=" + replication,
		"min.insync.replicas=" + strconv.Itoa(min(count, 2)),
	}, overrides...)
	args := []string{"serve"}
	for _, setting := range settings {
		args = append(args, "--override", setting)
	}
	return args
}

// freeLowPorts returns count distinct loopback ports below the ephemeral
// range that could be listened on a moment ago.
func freeLowPorts(count int) ([]int, error) {
	var ports []int
	for attempt := 0; attempt < 1000 && len(ports) < count; attempt++ {
		port := clusterPortLow + rand.IntN(clusterPortHigh-clusterPortLow)
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
		return nil, fmt.Errorf("found only %d free ports of %d", len(ports), count)
	}
	return ports, nil
}

func (c *localCluster) node(id int32) *localNode { return c.nodes[id-1] }

// launch starts node id's process (appending to its log) without waiting.
func (c *localCluster) launch(id int32) error {
	node := c.node(id)
	if node.running() {
		return fmt.Errorf("node %d is already running", id)
	}
	logFile, err := os.OpenFile(node.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(c.bin, node.args...)
	cmd.Env = nodeEnvironment()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting node %d: %w", id, err)
	}
	run := &nodeRun{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(run.exited)
	}()
	node.runs = append(node.runs, run)
	node.killed = false
	return nil
}

// nodeEnvironment drops SAMSA_* variables: samsa reads them as configs.
func nodeEnvironment() []string {
	var environment []string
	for _, variable := range os.Environ() {
		if !strings.HasPrefix(variable, "SAMSA_") {
			environment = append(environment, variable)
		}
	}
	return environment
}

// current returns the node's running process, or nil.
func (n *localNode) current() *nodeRun {
	if len(n.runs) == 0 {
		return nil
	}
	run := n.runs[len(n.runs)-1]
	select {
	case <-run.exited:
		return nil
	default:
		return run
	}
}

func (n *localNode) running() bool { return n.current() != nil }

// kill sends SIGKILL to node id and waits until it is reaped; it returns
// when the signal was sent and when the process was reaped.
func (c *localCluster) kill(id int32) (signaled, reaped time.Time, err error) {
	run := c.node(id).current()
	if run == nil {
		return signaled, reaped, fmt.Errorf("node %d is not running", id)
	}
	c.node(id).killed = true
	run.peakRSS, _ = processPeakRSSMiB(run.cmd.Process.Pid)
	signaled = time.Now()
	if err := run.cmd.Process.Kill(); err != nil {
		return signaled, reaped, fmt.Errorf("killing node %d: %w", id, err)
	}
	<-run.exited
	return signaled, time.Now(), nil
}

// stop stops every node by pid (SIGTERM, SIGKILL after a grace period),
// closes the probes and removes the data.
func (c *localCluster) stop() {
	for _, node := range c.nodes {
		if run := node.current(); run != nil {
			_ = run.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace := time.NewTimer(clusterStopGrace) // one grace period for all nodes
	defer grace.Stop()
	for _, node := range c.nodes {
		if len(node.runs) == 0 {
			continue
		}
		run := node.runs[len(node.runs)-1]
		select {
		case <-run.exited:
		case <-grace.C:
			grace.Reset(0)
			_ = run.cmd.Process.Kill()
			<-run.exited
		}
	}
	for _, node := range c.nodes {
		if node.probe != nil {
			node.probe.Close()
		}
	}
	os.RemoveAll(c.root)
}

// running returns the ids of the nodes whose process runs.
func (c *localCluster) running() []int32 {
	var ids []int32
	for _, node := range c.nodes {
		if node.running() {
			ids = append(ids, node.id)
		}
	}
	return ids
}

// addrs returns the client addresses of the running nodes.
func (c *localCluster) addrs() []string {
	var addrs []string
	for _, id := range c.running() {
		addrs = append(addrs, c.node(id).addr)
	}
	return addrs
}

// cpuSeconds is the user+system CPU of every process the cluster ran:
// /proc for running ones, the reaped rusage for the others.
func (c *localCluster) cpuSeconds() float64 {
	total := 0.0
	for _, node := range c.nodes {
		for _, run := range node.runs {
			select {
			case <-run.exited:
				state := run.cmd.ProcessState
				total += (state.UserTime() + state.SystemTime()).Seconds()
			default:
				seconds, _ := processCPUSeconds(run.cmd.Process.Pid)
				total += seconds
			}
		}
	}
	return total
}

// peakRSSMiB is the largest peak resident set (VmHWM) of any process the
// cluster ran: now for running ones, at their kill for the others.
func (c *localCluster) peakRSSMiB() float64 {
	peak := 0.0
	for _, node := range c.nodes {
		for _, run := range node.runs {
			rss := run.peakRSS
			select {
			case <-run.exited:
			default:
				rss, _ = processPeakRSSMiB(run.cmd.Process.Pid)
			}
			peak = max(peak, rss)
		}
	}
	return peak
}

// metadata asks node id alone for the metadata of topics (none: all).
func (c *localCluster) metadata(ctx context.Context, id int32, topics ...string) (*kmsg.MetadataResponse, error) {
	node := c.node(id)
	if !node.running() {
		return nil, fmt.Errorf("node %d is not running", id)
	}
	request := kmsg.NewPtrMetadataRequest()
	request.AllowAutoTopicCreation = false
	for _, topic := range topics {
		requestTopic := kmsg.NewMetadataRequestTopic()
		requestTopic.Topic = kmsg.StringPtr(topic)
		request.Topics = append(request.Topics, requestTopic)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	response, err := node.probe.SeedBrokers()[0].Request(ctx, request)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", id, err)
	}
	return response.(*kmsg.MetadataResponse), nil
}

// expected returns the ids of the nodes launched and not killed since.
func (c *localCluster) expected() []int32 {
	var ids []int32
	for _, node := range c.nodes {
		if len(node.runs) > 0 && !node.killed {
			ids = append(ids, node.id)
		}
	}
	return ids
}

// eventually polls check until it returns nil, a node the cluster did not
// kill exits, or the ready timeout passes.
func (c *localCluster) eventually(what string, check func() error) error {
	deadline := time.Now().Add(c.ready)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if now, expected := c.running(), c.expected(); !slices.Equal(now, expected) {
			return fmt.Errorf("%s: %w (running %v, expected %v)", what, errBrokerExited, now, expected)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%s: %w within %s: %v", what, errNotReady, c.ready, err)
		}
		time.Sleep(clusterPoll)
	}
}

// waitBrokers waits until every running node's Metadata lists exactly the
// running nodes as brokers.
func (c *localCluster) waitBrokers() error {
	want := c.expected()
	return c.eventually(fmt.Sprintf("every node listing brokers %v", want), func() error {
		for _, id := range want {
			response, err := c.metadata(context.Background(), id)
			if err != nil {
				return err
			}
			var brokers []int32
			for _, broker := range response.Brokers {
				brokers = append(brokers, broker.NodeID)
			}
			slices.Sort(brokers)
			if !slices.Equal(brokers, want) {
				return fmt.Errorf("node %d lists brokers %v", id, brokers)
			}
		}
		return nil
	})
}

// partitionView is one partition as a node's Metadata describes it.
type partitionView struct {
	leader int32
	epoch  int32
	isr    []int32
}

// partitions returns topic's partitions as node id sees them.
func (c *localCluster) partitions(ctx context.Context, id int32, topic string) ([]partitionView, error) {
	response, err := c.metadata(ctx, id, topic)
	if err != nil {
		return nil, err
	}
	if len(response.Topics) != 1 {
		return nil, fmt.Errorf("node %d: %d topics for %q", id, len(response.Topics), topic)
	}
	described := response.Topics[0]
	if err := kerr.ErrorForCode(described.ErrorCode); err != nil {
		return nil, fmt.Errorf("node %d: %s: %w", id, topic, err)
	}
	views := make([]partitionView, len(described.Partitions))
	for _, p := range described.Partitions {
		if p.Partition < 0 || int(p.Partition) >= len(views) {
			return nil, fmt.Errorf("node %d: %s: partition %d of %d", id, topic, p.Partition, len(views))
		}
		isr := slices.Sorted(slices.Values(p.ISR))
		views[p.Partition] = partitionView{leader: p.Leader, epoch: p.LeaderEpoch, isr: isr}
	}
	return views, nil
}

// waitFullISR waits until every running node shows count partitions of
// topic, each led by a running node with every replica (replication of
// them) in the ISR.
func (c *localCluster) waitFullISR(ctx context.Context, topic string, count, replication int) error {
	return c.eventually(fmt.Sprintf("%s: %d partitions with %d in-sync replicas", topic, count, replication), func() error {
		running := c.running()
		for _, id := range running {
			views, err := c.partitions(ctx, id, topic)
			if err != nil {
				return err
			}
			if len(views) != count {
				return fmt.Errorf("node %d: %d partitions", id, len(views))
			}
			for index, view := range views {
				if !slices.Contains(running, view.leader) || len(view.isr) != replication {
					return fmt.Errorf("node %d: partition %d leader %d ISR %v", id, index, view.leader, view.isr)
				}
			}
		}
		return nil
	})
}

// logTails returns the end of every node's log, for error messages.
func (c *localCluster) logTails(n int) string {
	var b strings.Builder
	for _, node := range c.nodes {
		data, err := os.ReadFile(node.logPath)
		if err == nil {
			fmt.Fprintf(&b, " (node %d log tail: %q)", node.id, lastBytes(data, n))
		}
	}
	return b.String()
}
