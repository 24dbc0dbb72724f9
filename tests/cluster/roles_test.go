package cluster

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cliTimeout bounds one run of the samsa CLI.
const cliTimeout = 60 * time.Second

// startRolesCluster starts controllers controller-only nodes (ids
// 1..controllers, the quorum's voters) and brokers broker-only nodes (the
// next ids), waits until every broker lists exactly the brokers, and stops
// them all at the test's end.
func startRolesCluster(t *testing.T, controllers, brokers int) *testCluster {
	t.Helper()
	ports := freePorts(t, controllers+brokers)
	root := t.TempDir()
	c := &testCluster{t: t}
	var voters []string
	for i := range controllers + brokers {
		node := &testNode{
			t:              t,
			id:             int32(i + 1),
			addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])),
			dataDir:        filepath.Join(root, fmt.Sprintf("node-%d", i+1)),
			logPath:        filepath.Join(root, fmt.Sprintf("node-%d.log", i+1)),
			controllerOnly: i < controllers,
		}
		if node.controllerOnly {
			node.controllerAddr = node.addr
			voters = append(voters, fmt.Sprintf("%d@%s", node.id, node.addr))
		}
		c.nodes = append(c.nodes, node)
	}
	for _, node := range c.nodes {
		if node.controllerOnly {
			node.args = serveArgs(controllerOnlyConfig(node, strings.Join(voters, ",")))
		} else {
			node.args = serveArgs(brokerOnlyConfig(node, strings.Join(voters, ","), 2))
		}
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
	c.waitReady(c.running()...)
	return c
}

func controllerOnlyConfig(node *testNode, voters string) []string {
	return []string{
		"node.id=" + strconv.Itoa(int(node.id)),
		"process.roles=controller",
		"listeners=CONTROLLER://" + node.addr,
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters=" + voters,
		"log.dirs=" + node.dataDir,
	}
}

func brokerOnlyConfig(node *testNode, voters string, replication int) []string {
	return []string{
		"node.id=" + strconv.Itoa(int(node.id)),
		"process.roles=broker",
		"listeners=PLAINTEXT://" + node.addr,
		"advertised.listeners=PLAINTEXT://" + node.addr,
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"controller.quorum.voters=" + voters,
		"log.dirs=" + node.dataDir,
		"num.partitions=2",
		"default.replication.factor=" + strconv.Itoa(replication),
		"offsets.topic.replication.factor=" + strconv.Itoa(replication),
		"min.insync.replicas=2",
		"replica.lag.time.max.ms=5000",
		"group.initial.rebalance.delay.ms=0",
	}
}

// addBrokerOnly starts a new broker-only node (the next id, in no voter
// list) joining the running cluster, and waits until every broker lists it.
func (c *testCluster) addBrokerOnly() *testNode {
	c.t.Helper()
	var voters []string
	for _, node := range c.nodes {
		if node.controllerAddr != "" {
			voters = append(voters, fmt.Sprintf("%d@%s", node.id, node.controllerAddr))
		}
	}
	first := c.nodes[0]
	node := &testNode{
		t:       c.t,
		id:      int32(len(c.nodes) + 1),
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(freePorts(c.t, 1)[0])),
		dataDir: filepath.Join(filepath.Dir(first.dataDir), fmt.Sprintf("node-%d", len(c.nodes)+1)),
		logPath: filepath.Join(filepath.Dir(first.logPath), fmt.Sprintf("node-%d.log", len(c.nodes)+1)),
	}
	node.args = serveArgs(brokerOnlyConfig(node, strings.Join(voters, ","), 3))
	c.nodes = append(c.nodes, node)
	node.launch()
	c.waitReady(c.running()...)
	return node
}

// describeControllers asks node id for the controllers (DescribeCluster
// v1, EndpointType 2) and returns their ids and the active one.
func (c *testCluster) describeControllers(id int32) ([]int32, int32, error) {
	request := kmsg.NewPtrDescribeClusterRequest()
	request.EndpointType = 2
	response, err := c.node(id).request(request)
	if err != nil {
		return nil, -1, err
	}
	described := response.(*kmsg.DescribeClusterResponse)
	if err := kerr.ErrorForCode(described.ErrorCode); err != nil {
		return nil, -1, err
	}
	var ids []int32
	for _, broker := range described.Brokers {
		ids = append(ids, broker.NodeID)
	}
	slices.Sort(ids)
	return ids, described.ControllerID, nil
}

// activeController waits until broker node id names a running active
// controller among want and returns it.
func (c *testCluster) activeController(id int32, want []int32) int32 {
	c.t.Helper()
	var active int32
	c.eventually(failoverTimeout, "an active controller", func() error {
		ids, controller, err := c.describeControllers(id)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, want) {
			return fmt.Errorf("controllers %v, want %v", ids, want)
		}
		if controller < 0 || !c.node(controller).isRunning() {
			return fmt.Errorf("active controller %d", controller)
		}
		active = controller
		return nil
	})
	return active
}

// produceValues produces prefix-0..prefix-(count-1) with acks=all and
// returns the values per partition in offset order.
func produceValues(t *testing.T, client *kgo.Client, topic, prefix string, count int) map[int32][]string {
	t.Helper()
	var records []*kgo.Record
	for i := range count {
		records = append(records, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i))})
	}
	produced := produceSync(t, client, records...)
	slices.SortFunc(produced, func(a, b *kgo.Record) int { return int(a.Offset - b.Offset) })
	byPartition := map[int32][]string{}
	for _, record := range produced {
		byPartition[record.Partition] = append(byPartition[record.Partition], string(record.Value))
	}
	return byPartition
}

// expectValues consumes topic from the start and checks it holds exactly want.
func (c *testCluster) expectValues(topic string, want map[int32][]string) {
	c.t.Helper()
	total := 0
	for _, values := range want {
		total += len(values)
	}
	got := map[int32][]string{}
	for _, record := range c.consumeAll(topic, total) {
		got[record.Partition] = append(got[record.Partition], string(record.Value))
	}
	for partition, values := range want {
		assertEqual(c.t, fmt.Sprintf("%s/%d values", topic, partition), got[partition], values)
	}
	assertEqual(c.t, fmt.Sprintf("%s partitions", topic), len(got), len(want))
}

// TestControllerOnlyAndBrokerOnlyNodes: three controller-only nodes form
// the quorum and two broker-only nodes serve clients. Metadata lists only
// the brokers; records flow through a replicated topic; after kill -9 of
// the active controller the cluster still serves and creates topics.
func TestControllerOnlyAndBrokerOnlyNodes(t *testing.T) {
	c := startRolesCluster(t, 3, 2)
	brokers := []int32{4, 5}
	active := c.activeController(4, []int32{1, 2, 3})
	assertEqual(t, "brokers", c.running(), brokers)
	c.checkControllerListener(active)

	c.createTopic("roles", 2, 2, nil)
	client := c.client()
	want := produceValues(t, client, "roles", "before", 40)
	c.expectValues("roles", want)

	c.kill(active)
	next := c.activeController(4, []int32{1, 2, 3})
	if next == active {
		t.Fatalf("the killed controller %d is still active", active)
	}
	c.createTopic("after-failover", 2, 2, nil)
	c.expectValues("after-failover", produceValues(t, client, "after-failover", "after", 20))
	for partition, values := range produceValues(t, client, "roles", "later", 20) {
		want[partition] = append(want[partition], values...)
	}
	c.expectValues("roles", want)
	for _, id := range brokers {
		listed, err := c.node(id).brokerIDs()
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, fmt.Sprintf("brokers in node %d's Metadata", id), listed, brokers)
		controller, err := c.controllerID(id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(brokers, controller) {
			t.Fatalf("node %d's Metadata names controller %d, not a broker", id, controller)
		}
	}
}

// checkControllerListener: a controller-only node answers ApiVersions with
// the controller APIs only and closes a connection that sends Metadata.
func (c *testCluster) checkControllerListener(id int32) {
	c.t.Helper()
	response, err := c.node(id).request(kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		c.t.Fatalf("ApiVersions from controller %d: %v", id, err)
	}
	var keys []int16
	for _, key := range response.(*kmsg.ApiVersionsResponse).ApiKeys {
		keys = append(keys, key.ApiKey)
	}
	assertEqual(c.t, "controller APIs", keys, []int16{18, 19, 20, 33, 37, 43, 44, 45, 46, 56, 60, 62, 63, 67})
	if _, err := c.node(id).metadata(); err == nil {
		c.t.Fatalf("controller-only node %d answered Metadata", id)
	}
}

// TestAddBrokerOnlyNodeAndReassign: a fourth, broker-only node (an id in
// no voter list) joins three combined nodes under an idempotent producer;
// `samsa cluster` lists it; `samsa topic reassign` moves a partition onto
// it, which then leads it with every acknowledged record in order.
func TestAddBrokerOnlyNodeAndReassign(t *testing.T) {
	c := startCluster(t)
	c.createTopic("grow", 2, 3, nil)
	producer := c.startProducer("grow")
	producer.waitAcked(clientTimeout, 200, 0, 50)

	added := c.addBrokerOnly()
	assertEqual(t, "brokers", c.running(), []int32{1, 2, 3, 4})
	cluster := runSamsa(t, "cluster", "-b", c.nodes[0].addr)
	for _, line := range []string{"Brokers: 4\n", fmt.Sprintf("\tId: 4\tHost: %s\tRack: null\n", added.addr), "Controllers (metadata quorum voters): 3\n"} {
		if !strings.Contains(cluster, line) {
			t.Fatalf("samsa cluster lacks %q:\n%s", line, cluster)
		}
	}
	request := kmsg.NewPtrDescribeClusterRequest()
	response, err := added.request(request)
	if err != nil {
		t.Fatal(err)
	}
	var described []int32
	for _, broker := range response.(*kmsg.DescribeClusterResponse).Brokers {
		described = append(described, broker.NodeID)
	}
	slices.Sort(described)
	assertEqual(t, "DescribeCluster brokers", described, []int32{1, 2, 3, 4})

	// Partition 0 moves off its leader onto node 4, which becomes leader.
	states := c.waitLeaders("grow", 2)
	target := append([]int32{4}, without(states[0].replicas, states[0].leader)...)
	replicas := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(target)), ","), "[]")
	bootstrap := strings.Join(c.addrs(1, 2, 3), ",")
	runSamsa(t, "topic", "reassign", "-b", bootstrap, "--topic", "grow", "--partition", "0", "--replicas", replicas)
	c.eventually(isrTimeout, "partition 0 moved onto node 4", func() error {
		moved, err := c.agreedPartitions("grow")
		if err != nil {
			return err
		}
		state := moved[0]
		if !slices.Equal(state.replicas, target) || state.leader != 4 || !slices.Contains(state.isr, 4) {
			return fmt.Errorf("partition 0: %+v, want replicas %v led by 4", state, target)
		}
		return nil
	})
	verify := runSamsa(t, "topic", "reassign", "-b", bootstrap, "--topic", "grow", "--partition", "0", "--replicas", replicas, "--verify")
	if !strings.Contains(verify, "Reassignment of partition grow-0 is complete.") {
		t.Fatalf("reassign --verify:\n%s", verify)
	}
	_, onPartition := producer.acked(0)
	producer.waitAcked(clientTimeout, 0, 0, onPartition+100)
	acked := producer.finish()
	c.verifyAcked("grow", acked)
	fetched, err := c.rawFetch(4, "grow", 0, 12)
	if err != nil || fetched.err != nil {
		t.Fatalf("fetch from node 4: %v %v", err, fetched.err)
	}
	last := acked[0][len(acked[0])-1].offset
	if fetched.highWatermark < last+1 {
		t.Fatalf("node 4's high watermark %d, last acknowledged offset %d", fetched.highWatermark, last)
	}
	// kill -9 and restart: the broker-only node comes back with its
	// metadata log (as a non-voter) and rejoins the ISR.
	c.kill(4)
	c.start(4)
	sorted := slices.Sorted(slices.Values(target))
	c.eventually(isrTimeout, "every replica of partition 0 in sync after node 4's restart", func() error {
		moved, err := c.agreedPartitions("grow")
		if err != nil {
			return err
		}
		if !slices.Equal(moved[0].isr, sorted) {
			return fmt.Errorf("partition 0: %+v", moved[0])
		}
		return nil
	})
	c.verifyAcked("grow", acked)
}

// TestInconsistentRolesExitTwo: role configurations Kafka refuses stop
// `samsa serve` with exit status 2 and a message naming the problem.
func TestInconsistentRolesExitTwo(t *testing.T) {
	cases := []struct {
		overrides []string
		message   string
	}{
		{[]string{"process.roles=broker", "node.id=1", "listeners=PLAINTEXT://127.0.0.1:0", "controller.quorum.voters=1@127.0.0.1:1"},
			"node.id 1 is one of the controller.quorum.voters"},
		{[]string{"process.roles=controller", "node.id=2", "listeners=CONTROLLER://127.0.0.1:0", "controller.quorum.voters=1@127.0.0.1:1"},
			"controller.quorum.voters (1@127.0.0.1:1) does not include node.id 2"},
		{[]string{"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0", "controller.quorum.voters=1@127.0.0.1:1"},
			"must not include the controller listener CONTROLLER"},
	}
	for _, testCase := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
		command := exec.CommandContext(ctx, samsaBinary, serveArgs(append(testCase.overrides, "log.dirs="+t.TempDir()))...)
		command.Env = nodeEnvironment()
		output, err := command.CombinedOutput()
		cancel()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 || !strings.Contains(string(output), testCase.message) {
			t.Errorf("%v: %v, output %q; want exit status 2 mentioning %q", testCase.overrides, err, output, testCase.message)
		}
	}
}

// runSamsa runs the samsa CLI and returns its standard output.
func runSamsa(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	command := exec.CommandContext(ctx, samsaBinary, args...)
	command.Env = nodeEnvironment()
	var stderr strings.Builder
	command.Stderr = &stderr
	output, err := command.Output()
	if err != nil {
		t.Fatalf("samsa %v: %v\n%s%s", args, err, output, stderr.String())
	}
	return string(output)
}
