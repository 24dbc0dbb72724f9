package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	clientPort     = 9092  // per-namespace ports; on loopback, base ports plus the node id
	controllerPort = 9093  //
	portLow        = 20000 // loopback fallback: free ports in [portLow, portHigh), below the ephemeral range
	portHigh       = 32000
	reapTimeout    = 10 * time.Second
	probeTimeout   = 2 * time.Second
	pollInterval   = 100 * time.Millisecond
)

// errNodeDown is returned for requests to a node whose process is not
// running.
var errNodeDown = errors.New("node is not running")

// cluster is three samsa processes, each broker and Raft voter, started by
// the harness and stopped by pid.
type cluster struct {
	binary  string
	root    string
	network *network
	nodes   []*node
}

// node is one samsa node: fixed address, data dir and arguments across
// restarts.
type node struct {
	id      int32
	addr    string
	dataDir string
	logPath string
	args    []string

	mu struct {
		sync.Mutex
		process *process
		paused  bool
		crashes int // runs that exited without the harness stopping them
	}
}

// process is one run of the binary.
type process struct {
	pid    int
	exited chan struct{}
}

// nodeSettings are the overrides of every node: replication 3, two in
// sync for a write, fast failure detection so that a short run sees many
// failovers.
func nodeSettings() []string {
	return []string{
		"process.roles=broker,controller",
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"default.replication.factor=3",
		"offsets.topic.replication.factor=3",
		"offsets.topic.num.partitions=3",
		"min.insync.replicas=2",
		"unclean.leader.election.enable=false",
		"auto.create.topics.enable=false",
		"replica.lag.time.max.ms=3000",
		"broker.session.timeout.ms=3000",
		"broker.heartbeat.interval.ms=500",
		"group.initial.rebalance.delay.ms=0",
		"group.min.session.timeout.ms=3000",
	}
}

func newCluster(binary, root string, network *network, count int) (*cluster, error) {
	c := &cluster{binary: binary, root: root, network: network}
	var freePorts []int
	if !network.isolated {
		var err error
		if freePorts, err = freeLoopbackPorts(2 * count); err != nil {
			return nil, err
		}
	}
	var voters []string
	for id := int32(1); id <= int32(count); id++ {
		host := network.host(id)
		client, controller := clientPort, controllerPort
		if !network.isolated {
			client, controller = freePorts[2*id-2], freePorts[2*id-1]
		}
		n := &node{
			id:      id,
			addr:    net.JoinHostPort(host, strconv.Itoa(client)),
			dataDir: filepath.Join(root, fmt.Sprintf("node-%d", id)),
			logPath: filepath.Join(root, fmt.Sprintf("node-%d.log", id)),
		}
		controllerAddr := net.JoinHostPort(host, strconv.Itoa(controller))
		voters = append(voters, fmt.Sprintf("%d@%s", id, controllerAddr))
		n.args = []string{"node.id=" + strconv.Itoa(int(id)),
			"listeners=PLAINTEXT://" + n.addr + ",CONTROLLER://" + controllerAddr,
			"advertised.listeners=PLAINTEXT://" + n.addr,
			"log.dirs=" + n.dataDir}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		settings := append(append(n.args, "controller.quorum.voters="+strings.Join(voters, ",")), nodeSettings()...)
		n.args = []string{"serve"}
		for _, setting := range settings {
			n.args = append(n.args, "--override", setting)
		}
	}
	return c, nil
}

// freeLoopbackPorts returns count distinct loopback ports below the
// ephemeral range that could be listened on a moment ago.
func freeLoopbackPorts(count int) ([]int, error) {
	var ports []int
	for attempt := 0; attempt < 1000 && len(ports) < count; attempt++ {
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
		return nil, fmt.Errorf("found only %d free loopback ports of %d", len(ports), count)
	}
	return ports, nil
}

func (c *cluster) node(id int32) *node { return c.nodes[id-1] }

func (c *cluster) ids() []int32 {
	var ids []int32
	for _, n := range c.nodes {
		ids = append(ids, n.id)
	}
	return ids
}

func (c *cluster) addrs() []string {
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.addr)
	}
	return addrs
}

// start launches node id's process (appending to its log).
func (c *cluster) start(id int32) error {
	n := c.node(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.process != nil {
		return fmt.Errorf("node %d is already running", id)
	}
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "==== chaos: starting node %d at %s\n", id, time.Now().Format(time.RFC3339Nano))
	command := c.network.command(id, c.binary, n.args)
	command.Env = nodeEnvironment()
	command.Stdout, command.Stderr = logFile, logFile
	// A harness killed before its cleanup (a test timeout) takes the nodes with it.
	command.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := command.Start(); err != nil {
		return fmt.Errorf("starting node %d: %w", id, err)
	}
	run := &process{pid: command.Process.Pid, exited: make(chan struct{})}
	go func() {
		_ = command.Wait()
		close(run.exited)
		n.mu.Lock()
		if n.mu.process == run {
			n.mu.crashes++
		}
		n.mu.Unlock()
	}()
	n.mu.process, n.mu.paused = run, false
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

// kill sends SIGKILL to node id and waits until it is reaped.
func (c *cluster) kill(id int32) error {
	n := c.node(id)
	n.mu.Lock()
	run := n.mu.process
	n.mu.process, n.mu.paused = nil, false
	n.mu.Unlock()
	if run == nil {
		return nil
	}
	_ = syscall.Kill(run.pid, syscall.SIGKILL)
	select {
	case <-run.exited:
		return nil
	case <-time.After(reapTimeout):
		return fmt.Errorf("node %d (pid %d) survived SIGKILL for %v", id, run.pid, reapTimeout)
	}
}

// pause sends SIGSTOP; resume sends SIGCONT.
func (c *cluster) pause(id int32) error  { return c.node(id).signalPause(syscall.SIGSTOP, true) }
func (c *cluster) resume(id int32) error { return c.node(id).signalPause(syscall.SIGCONT, false) }

func (n *node) signalPause(signal syscall.Signal, paused bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.process == nil {
		return errNodeDown
	}
	if err := syscall.Kill(n.mu.process.pid, signal); err != nil {
		return fmt.Errorf("node %d: %v: %w", n.id, signal, err)
	}
	n.mu.paused = paused
	return nil
}

// state reports whether node id runs and whether it is paused.
func (c *cluster) state(id int32) (running, paused bool) {
	n := c.node(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.process == nil {
		return false, false
	}
	select {
	case <-n.mu.process.exited:
		return false, false
	default:
		return true, n.mu.paused
	}
}

// crashed returns the ids of nodes whose process died without the harness
// killing it.
func (c *cluster) crashed() []int32 {
	var ids []int32
	for _, n := range c.nodes {
		n.mu.Lock()
		if n.mu.process != nil {
			select {
			case <-n.mu.process.exited:
				ids = append(ids, n.id)
			default:
			}
		}
		n.mu.Unlock()
	}
	return ids
}

// crashCount returns how many runs exited without the harness stopping
// them, over every node.
func (c *cluster) crashCount() int {
	total := 0
	for _, n := range c.nodes {
		n.mu.Lock()
		total += n.mu.crashes
		n.mu.Unlock()
	}
	return total
}

// crashLines returns the panic and fatal-error lines of the node logs.
func (c *cluster) crashLines() []string {
	var lines []string
	for _, n := range c.nodes {
		data, err := os.ReadFile(n.logPath)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
				lines = append(lines, fmt.Sprintf("node %d: %s", n.id, line))
			}
		}
	}
	return lines
}

// stopAll kills every node by pid.
func (c *cluster) stopAll() {
	for _, n := range c.nodes {
		_ = c.kill(n.id)
	}
}

// request sends one raw request to node id only.
func (c *cluster) request(ctx context.Context, id int32, request kmsg.Request) (kmsg.Response, error) {
	if running, paused := c.state(id); !running || paused {
		return nil, fmt.Errorf("node %d: %w", id, errNodeDown)
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(c.node(id).addr), kgo.RequestRetries(0),
		kgo.Dialer(c.network.dial))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return client.SeedBrokers()[0].Request(ctx, request)
}

// metadata asks node id for the metadata of topic (all topics when empty).
func (c *cluster) metadata(ctx context.Context, id int32, topic string) (*kmsg.MetadataResponse, error) {
	request := kmsg.NewPtrMetadataRequest()
	if topic != "" {
		requestTopic := kmsg.NewMetadataRequestTopic()
		requestTopic.Topic = kmsg.StringPtr(topic)
		request.Topics = append(request.Topics, requestTopic)
	}
	response, err := c.request(ctx, id, request)
	if err != nil {
		return nil, err
	}
	return response.(*kmsg.MetadataResponse), nil
}

// anyMetadata asks each running node in turn until one answers.
func (c *cluster) anyMetadata(ctx context.Context, topic string) (*kmsg.MetadataResponse, error) {
	var errs []error
	for _, id := range c.ids() {
		response, err := c.metadata(ctx, id, topic)
		if err == nil {
			return response, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// eventually polls check until it returns nil or timeout passes.
func eventually(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: not reached after %v: %w", what, timeout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollInterval):
		}
	}
}

// waitBrokers waits until every node lists every node as a broker.
func (c *cluster) waitBrokers(ctx context.Context, timeout time.Duration) error {
	return eventually(ctx, timeout, "every node lists every broker", func() error {
		if crashed := c.crashed(); len(crashed) > 0 {
			return fmt.Errorf("nodes %v exited", crashed)
		}
		for _, id := range c.ids() {
			response, err := c.metadata(ctx, id, "")
			if err != nil {
				return err
			}
			var brokers []int32
			for _, broker := range response.Brokers {
				brokers = append(brokers, broker.NodeID)
			}
			slices.Sort(brokers)
			if !slices.Equal(brokers, c.ids()) {
				return fmt.Errorf("node %d lists brokers %v", id, brokers)
			}
		}
		return nil
	})
}

// partitionView is one partition as Metadata describes it.
type partitionView struct {
	partition int32
	leader    int32
	replicas  []int32
	isr       []int32
	errorCode int16
}

// partitions returns topic's partitions as some node sees them, and the
// active controller's id.
func (c *cluster) partitions(ctx context.Context, topic string) ([]partitionView, int32, error) {
	response, err := c.anyMetadata(ctx, topic)
	if err != nil {
		return nil, -1, err
	}
	var views []partitionView
	for _, t := range response.Topics {
		for _, p := range t.Partitions {
			views = append(views, partitionView{partition: p.Partition, leader: p.Leader,
				replicas: p.Replicas, isr: p.ISR, errorCode: p.ErrorCode})
		}
	}
	slices.SortFunc(views, func(a, b partitionView) int { return int(a.partition - b.partition) })
	return views, response.ControllerID, nil
}

// waitFullISR waits until every partition of topic has a leader and all
// its replicas in sync.
func (c *cluster) waitFullISR(ctx context.Context, topic string, count int, timeout time.Duration) error {
	return eventually(ctx, timeout, "every partition of "+topic+" fully in sync", func() error {
		views, _, err := c.partitions(ctx, topic)
		if err != nil {
			return err
		}
		if len(views) != count {
			return fmt.Errorf("%d partitions of %d", len(views), count)
		}
		for _, view := range views {
			if view.leader < 0 || len(view.isr) != len(view.replicas) || len(view.replicas) != len(c.nodes) {
				return fmt.Errorf("partition %d: leader %d replicas %v isr %v", view.partition, view.leader, view.replicas, view.isr)
			}
		}
		return nil
	})
}
