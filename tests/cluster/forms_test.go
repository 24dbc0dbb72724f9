package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterForms: every node's Metadata lists the three brokers at their
// advertised addresses and names the same controller, one of them;
// DescribeCluster from every node agrees, with one cluster id.
func TestClusterForms(t *testing.T) {
	c := startCluster(t)
	wantBrokers := make(map[int32]string)
	for _, node := range c.nodes {
		wantBrokers[node.id] = node.addr
	}
	var controller int32
	c.eventually(failoverTimeout, "every node names the same controller", func() error {
		return c.sameController(c.ids(), &controller)
	})
	if !slices.Contains(c.ids(), controller) {
		t.Fatalf("controller %d is not a node of %v", controller, c.ids())
	}
	for _, node := range c.nodes {
		response, err := node.metadata()
		if err != nil {
			t.Fatalf("node %d metadata: %v", node.id, err)
		}
		brokers := make(map[int32]string)
		for _, broker := range response.Brokers {
			brokers[broker.NodeID] = broker.Host + ":" + strconv.Itoa(int(broker.Port))
		}
		assertEqual(t, fmt.Sprintf("node %d Metadata brokers", node.id), brokers, wantBrokers)
		assertEqual(t, fmt.Sprintf("node %d Metadata controller", node.id), response.ControllerID, controller)
	}
	var clusterID string
	for _, node := range c.nodes {
		response, err := node.request(kmsg.NewPtrDescribeClusterRequest())
		if err != nil {
			t.Fatalf("node %d DescribeCluster: %v", node.id, err)
		}
		described := response.(*kmsg.DescribeClusterResponse)
		if err := kerr.ErrorForCode(described.ErrorCode); err != nil {
			t.Fatalf("node %d DescribeCluster: %v", node.id, err)
		}
		brokers := make(map[int32]string)
		for _, broker := range described.Brokers {
			brokers[broker.NodeID] = broker.Host + ":" + strconv.Itoa(int(broker.Port))
		}
		assertEqual(t, fmt.Sprintf("node %d DescribeCluster brokers", node.id), brokers, wantBrokers)
		assertEqual(t, fmt.Sprintf("node %d DescribeCluster controller", node.id), described.ControllerID, controller)
		if clusterID == "" {
			clusterID = described.ClusterID
		}
		assertEqual(t, fmt.Sprintf("node %d cluster id", node.id), described.ClusterID, clusterID)
	}
	if clusterID == "" {
		t.Errorf("empty cluster id")
	}
}

// sameController sets *controller when every node in ids reports the same
// running controller.
func (c *testCluster) sameController(ids []int32, controller *int32) error {
	var seen []int32
	for _, id := range ids {
		reported, err := c.controllerID(id)
		if err != nil {
			return err
		}
		seen = append(seen, reported)
	}
	if slices.Min(seen) != slices.Max(seen) || !slices.Contains(c.running(), seen[0]) {
		return fmt.Errorf("nodes %v report controllers %v; running %v", ids, seen, c.running())
	}
	*controller = seen[0]
	return nil
}

// TestLeadersSpreadEvenly: six partitions with three replicas each on three
// brokers: every broker leads two, every partition is on every broker and
// its whole replica set is in sync.
func TestLeadersSpreadEvenly(t *testing.T) {
	c := startCluster(t)
	const topic, partitions = "spread", 6
	c.createTopic(topic, partitions, 3, nil)
	states := c.waitISR(topic, partitions, c.ids())
	leaders := make(map[int32]int)
	for index, state := range states {
		leaders[state.leader]++
		replicas := slices.Sorted(slices.Values(state.replicas))
		assertEqual(t, fmt.Sprintf("partition %d replicas (sorted)", index), replicas, c.ids())
		if state.leader != state.replicas[0] {
			t.Errorf("partition %d: leader %d is not the preferred replica (replicas %v)", index, state.leader, state.replicas)
		}
	}
	counts := make([]int, 0, len(c.nodes))
	for _, id := range c.ids() {
		counts = append(counts, leaders[id])
	}
	if slices.Max(counts)-slices.Min(counts) > 1 {
		t.Errorf("leaders per broker %v (by id %v): spread by more than one", counts, c.ids())
	}
	// Preferred replicas rotate too, so a restart of the cluster keeps the
	// spread: first replicas per broker differ by at most one as well.
	firsts := make(map[int32]int)
	for _, state := range states {
		firsts[state.replicas[0]]++
	}
	if len(firsts) != len(c.nodes) {
		t.Errorf("preferred replicas %v: not every broker is first", firsts)
	}
	// A franz-go producer and consumer use the six leaders.
	client := c.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var records []*kgo.Record
	for partition := range int32(partitions) {
		records = append(records, &kgo.Record{Partition: partition, Value: []byte("p" + strconv.Itoa(int(partition)))})
	}
	produceSync(t, client, records...)
	consumed := c.consumeAll(topic, partitions)
	for _, record := range consumed {
		assertEqual(t, "record of partition "+strconv.Itoa(int(record.Partition)), string(record.Value), "p"+strconv.Itoa(int(record.Partition)))
	}
}

// TestControllerFailover: kill -9 the active controller; the survivors agree
// on a new one within a bounded time, stop listing the dead broker, and
// CreateTopics sent to either survivor works (a broker forwards it to the
// controller, as in KRaft); the new topic's leaders are survivors. The dead
// node rejoins after a restart.
func TestControllerFailover(t *testing.T) {
	c := startCluster(t)
	var controller int32
	c.eventually(failoverTimeout, "every node names the same controller", func() error {
		return c.sameController(c.ids(), &controller)
	})
	c.kill(controller)
	survivors := without(c.ids(), controller)
	var next int32
	c.eventually(failoverTimeout, fmt.Sprintf("survivors %v agree on a new controller", survivors), func() error {
		if err := c.sameController(survivors, &next); err != nil {
			return err
		}
		for _, id := range survivors {
			brokers, err := c.node(id).brokerIDs()
			if err != nil {
				return err
			}
			if !slices.Equal(brokers, survivors) {
				return fmt.Errorf("node %d lists brokers %v", id, brokers)
			}
		}
		return nil
	})
	if next == controller {
		t.Fatalf("controller still %d after it was killed", controller)
	}
	for _, id := range survivors {
		topic := fmt.Sprintf("after-failover-via-%d", id)
		request := kmsg.NewPtrCreateTopicsRequest()
		request.TimeoutMillis = 10000
		requestTopic := kmsg.NewCreateTopicsRequestTopic()
		requestTopic.Topic = topic
		requestTopic.NumPartitions = 2
		requestTopic.ReplicationFactor = 2 // only two brokers are alive
		request.Topics = append(request.Topics, requestTopic)
		response, err := c.node(id).request(request)
		if err != nil {
			t.Fatalf("CreateTopics via node %d: %v", id, err)
		}
		created := response.(*kmsg.CreateTopicsResponse)
		if len(created.Topics) != 1 {
			t.Fatalf("CreateTopics via node %d: %d topics in response", id, len(created.Topics))
		}
		if err := kerr.ErrorForCode(created.Topics[0].ErrorCode); err != nil {
			t.Fatalf("CreateTopics via node %d (controller %d): %v", id, next, err)
		}
		states := c.waitLeaders(topic, 2)
		for index, state := range states {
			assertEqual(t, fmt.Sprintf("%s/%d replicas (sorted)", topic, index), slices.Sorted(slices.Values(state.replicas)), survivors)
		}
		client := c.client(kgo.DefaultProduceTopic(topic))
		produceSync(t, client, &kgo.Record{Value: []byte("created after failover")})
		consumed := c.consumeAll(topic, 1)
		assertEqual(t, "consumed value", string(consumed[0].Value), "created after failover")
	}
	c.start(controller)
	c.eventually(failoverTimeout, "every node names the same controller after the restart", func() error {
		return c.sameController(c.ids(), &next)
	})
}
