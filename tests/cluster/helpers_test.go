package cluster

import (
	"context"
	"fmt"
	"hash/crc32"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	failoverTimeout = 45 * time.Second // bound on a new leader or controller after a failure
	isrTimeout      = 45 * time.Second // bound on an ISR change (shrink after a death, expand after a restart)
	clientTimeout   = 60 * time.Second // bound on one client operation (flush, consume)
)

// testContext returns a context cancelled after timeout or at the test's end.
func testContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// client returns a franz-go client seeded with every node, closed at the
// test's end.
func (c *testCluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	// Seed with running nodes only: a client that starts on a dead seed
	// may spend its retries dialing it.
	var running []int32
	for _, id := range c.ids() {
		if c.node(id).isRunning() && !c.node(id).controllerOnly {
			running = append(running, id)
		}
	}
	client, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(c.addrs(running...)...),
		kgo.DialTimeout(2 * time.Second),
	}, opts...)...)
	if err != nil {
		c.t.Fatalf("kgo.NewClient: %v", err)
	}
	c.t.Cleanup(client.Close)
	return client
}

// admin returns a kadm client seeded with every node.
func (c *testCluster) admin() *kadm.Client {
	c.t.Helper()
	return kadm.NewClient(c.client())
}

// partitionState is one partition as a node's Metadata describes it.
type partitionState struct {
	leader      int32
	leaderEpoch int32
	replicas    []int32
	isr         []int32
}

// partitions returns topic's partitions as node id sees them; an error if
// the topic or a partition carries an error code.
func (c *testCluster) partitions(id int32, topic string) ([]partitionState, error) {
	response, err := c.node(id).metadata(topic)
	if err != nil {
		return nil, err
	}
	if len(response.Topics) != 1 {
		return nil, fmt.Errorf("node %d: %d topics in metadata of %q", id, len(response.Topics), topic)
	}
	described := response.Topics[0]
	if err := kerr.ErrorForCode(described.ErrorCode); err != nil {
		return nil, fmt.Errorf("node %d: topic %q: %w", id, topic, err)
	}
	states := make([]partitionState, len(described.Partitions))
	for _, partition := range described.Partitions {
		if partition.Partition < 0 || int(partition.Partition) >= len(states) {
			return nil, fmt.Errorf("node %d: topic %q: partition %d of %d", id, topic, partition.Partition, len(states))
		}
		if err := kerr.ErrorForCode(partition.ErrorCode); err != nil {
			return nil, fmt.Errorf("node %d: %s/%d: %w", id, topic, partition.Partition, err)
		}
		replicas, isr := slices.Clone(partition.Replicas), slices.Clone(partition.ISR)
		slices.Sort(isr)
		states[partition.Partition] = partitionState{partition.Leader, partition.LeaderEpoch, replicas, isr}
	}
	return states, nil
}

// createTopic creates topic through kadm and waits until every running
// node's Metadata shows each partition with a live leader.
func (c *testCluster) createTopic(topic string, partitions int32, replicationFactor int16, configs map[string]*string) {
	c.t.Helper()
	ctx := testContext(c.t, clientTimeout)
	responses, err := c.admin().CreateTopics(ctx, partitions, replicationFactor, configs, topic)
	if err == nil {
		err = responses.Error()
	}
	if err != nil {
		c.t.Fatalf("create topic %q: %v", topic, err)
	}
	c.waitLeaders(topic, int(partitions))
}

// waitLeaders waits until every running node's Metadata shows count
// partitions of topic, each led by a running node, and the nodes agree.
func (c *testCluster) waitLeaders(topic string, count int) []partitionState {
	c.t.Helper()
	var states []partitionState
	c.eventually(failoverTimeout, fmt.Sprintf("every partition of %q led by a running node", topic), func() error {
		var err error
		states, err = c.agreedPartitions(topic)
		if err != nil {
			return err
		}
		if len(states) != count {
			return fmt.Errorf("%d partitions, want %d", len(states), count)
		}
		for index, state := range states {
			if !slices.Contains(c.running(), state.leader) {
				return fmt.Errorf("partition %d led by %d, running %v", index, state.leader, c.running())
			}
		}
		return nil
	})
	return states
}

// agreedPartitions returns topic's partitions if every running node
// describes them the same way.
func (c *testCluster) agreedPartitions(topic string) ([]partitionState, error) {
	var first []partitionState
	running := c.running()
	for i, id := range running {
		states, err := c.partitions(id, topic)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = states
			continue
		}
		if !slices.EqualFunc(first, states, equalStates) {
			return nil, fmt.Errorf("node %d sees %v, node %d sees %v", running[0], first, id, states)
		}
	}
	return first, nil
}

func equalStates(a, b partitionState) bool {
	return a.leader == b.leader && a.leaderEpoch == b.leaderEpoch &&
		slices.Equal(a.replicas, b.replicas) && slices.Equal(a.isr, b.isr)
}

// waitISR waits until every partition of topic has exactly the ISR want
// (sorted) with a running leader, on every running node, and returns them.
func (c *testCluster) waitISR(topic string, count int, want []int32) []partitionState {
	c.t.Helper()
	var states []partitionState
	c.eventually(isrTimeout, fmt.Sprintf("ISR of every partition of %q is %v", topic, want), func() error {
		var err error
		states, err = c.agreedPartitions(topic)
		if err != nil {
			return err
		}
		if len(states) != count {
			return fmt.Errorf("%d partitions, want %d", len(states), count)
		}
		for index, state := range states {
			if !slices.Equal(state.isr, want) {
				return fmt.Errorf("partition %d: ISR %v", index, state.isr)
			}
			if !slices.Contains(c.running(), state.leader) {
				return fmt.Errorf("partition %d led by %d, running %v", index, state.leader, c.running())
			}
		}
		return nil
	})
	return states
}

// controllerID returns the controller id node id reports in Metadata.
func (c *testCluster) controllerID(id int32) (int32, error) {
	response, err := c.node(id).metadata()
	if err != nil {
		return 0, err
	}
	return response.ControllerID, nil
}

// without returns ids minus the excluded ones.
func without(ids []int32, excluded ...int32) []int32 {
	var kept []int32
	for _, id := range ids {
		if !slices.Contains(excluded, id) {
			kept = append(kept, id)
		}
	}
	return kept
}

// produceSync produces records and fails the test on any error.
func produceSync(t *testing.T, client *kgo.Client, records ...*kgo.Record) []*kgo.Record {
	t.Helper()
	results := client.ProduceSync(testContext(t, clientTimeout), records...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	produced := make([]*kgo.Record, len(results))
	for i, result := range results {
		produced[i] = result.Record
	}
	return produced
}

// consumeAll reads topic from the start with a fresh client until want
// records arrived, failing after clientTimeout.
func (c *testCluster) consumeAll(topic string, want int) []*kgo.Record {
	c.t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(c.addrs()...), kgo.DialTimeout(2*time.Second),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		c.t.Fatalf("kgo.NewClient: %v", err)
	}
	defer client.Close()
	ctx := testContext(c.t, clientTimeout)
	var records []*kgo.Record
	for len(records) < want {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("consume %q: %d of %d records after %v", topic, len(records), want, clientTimeout)
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			c.t.Logf("consume %s/%d: %v (retrying)", topic, partition, err)
		})
		records = append(records, fetches.Records()...)
	}
	if len(records) > want {
		c.t.Fatalf("consume %q: %d records, want %d", topic, len(records), want)
	}
	return records
}

// recordBatch encodes values as one uncompressed magic-2 batch.
func recordBatch(values ...string) []byte {
	now := time.Now().UnixMilli()
	var records []byte
	for index, value := range values {
		record := kmsg.Record{OffsetDelta: int32(index), Value: []byte(value)}
		body := record.AppendTo(nil)[1:] // without the 1-byte varint of Length 0
		record.Length = int32(len(body))
		records = record.AppendTo(records)
	}
	batch := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp:  now,
		MaxTimestamp:    now,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(len(values)),
		Records:         records,
	}
	encoded := batch.AppendTo(nil)
	const lengthEnd, crcStart, crcEnd = 12, 17, 21
	putInt32(encoded[8:lengthEnd], uint32(len(encoded)-lengthEnd))
	putInt32(encoded[crcStart:crcEnd], crc32.Checksum(encoded[crcEnd:], crc32.MakeTable(crc32.Castagnoli)))
	return encoded
}

func putInt32(destination []byte, value uint32) {
	destination[0], destination[1], destination[2], destination[3] = byte(value>>24), byte(value>>16), byte(value>>8), byte(value)
}

// rawProduce sends one Produce request for topic/partition with acks to
// node id and returns the partition's error code (nil: success).
func (c *testCluster) rawProduce(id int32, topic string, partition int32, acks int16, values ...string) error {
	request := kmsg.NewPtrProduceRequest()
	request.Acks = acks
	request.TimeoutMillis = 3000
	requestTopic := kmsg.NewProduceRequestTopic()
	requestTopic.Topic = topic
	requestPartition := kmsg.NewProduceRequestTopicPartition()
	requestPartition.Partition = partition
	requestPartition.Records = recordBatch(values...)
	requestTopic.Partitions = append(requestTopic.Partitions, requestPartition)
	request.Topics = append(request.Topics, requestTopic)
	// kgo rewrites a raw ProduceRequest's acks to the client's configured
	// acks, so the client is configured with the wanted ones.
	var opts []kgo.Opt
	switch acks {
	case 1:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case 0:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	response, err := c.node(id).request(request, opts...)
	if err != nil {
		return fmt.Errorf("produce to node %d: %w", id, err)
	}
	produced := response.(*kmsg.ProduceResponse)
	if len(produced.Topics) != 1 || len(produced.Topics[0].Partitions) != 1 {
		return fmt.Errorf("produce to node %d: malformed response %+v", id, produced)
	}
	return kerr.ErrorForCode(produced.Topics[0].Partitions[0].ErrorCode)
}

// assertEqual reports a test error unless got deep-equals want.
func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
