package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coordinatorOf asks node id (over a fresh connection: no client cache)
// which broker coordinates group.
func (c *testCluster) coordinatorOf(id int32, group string) (int32, error) {
	request := kmsg.NewPtrFindCoordinatorRequest()
	request.CoordinatorKey = group
	request.CoordinatorKeys = []string{group}
	response, err := c.node(id).request(request)
	if err != nil {
		return 0, err
	}
	found := response.(*kmsg.FindCoordinatorResponse)
	if len(found.Coordinators) > 0 { // v4+
		coordinator := found.Coordinators[0]
		return coordinator.NodeID, kerr.ErrorForCode(coordinator.ErrorCode)
	}
	return found.NodeID, kerr.ErrorForCode(found.ErrorCode)
}

// committedOffsets returns the group's committed offsets of topic.
func (c *testCluster) committedOffsets(admin *kadm.Client, group, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	responses, err := admin.FetchOffsets(ctx, group)
	if err == nil {
		err = responses.Error()
	}
	if err != nil {
		return nil, err
	}
	offsets := make(map[int32]int64)
	responses.Each(func(response kadm.OffsetResponse) {
		if response.Topic == topic {
			offsets[response.Partition] = response.At
		}
	})
	return offsets, nil
}

// groupConsumer polls a franz-go group member, committing after every
// poll, until it holds want values.
type groupConsumer struct {
	t      *testing.T
	client *kgo.Client
	values map[string]int // value → times received
}

func (g *groupConsumer) consumeUntil(want []string) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout+clientTimeout)
	defer cancel()
	for !g.hasAll(want) {
		fetches := g.client.PollFetches(ctx)
		if ctx.Err() != nil {
			g.t.Fatalf("group consumer: %d of %d values after %v", g.count(want), len(want), failoverTimeout+clientTimeout)
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			g.t.Logf("group consumer %s/%d: %v (retrying)", topic, partition, err)
		})
		fetches.EachRecord(func(record *kgo.Record) { g.values[string(record.Value)]++ })
		if err := g.client.CommitUncommittedOffsets(ctx); err != nil {
			g.t.Logf("group consumer commit: %v (retried with the next poll)", err)
		}
	}
}

func (g *groupConsumer) hasAll(want []string) bool { return g.count(want) == len(want) }

func (g *groupConsumer) count(want []string) int {
	count := 0
	for _, value := range want {
		if g.values[value] > 0 {
			count++
		}
	}
	return count
}

// TestConsumerGroupSurvivesBrokerFailure: a franz-go group member consumes
// and commits; the broker coordinating the group is killed with SIGKILL.
// Another broker takes the group over (its __consumer_offsets partition has
// three replicas) with the committed offsets intact, and the member goes on
// consuming new records without receiving the committed ones again.
func TestConsumerGroupSurvivesBrokerFailure(t *testing.T) {
	c := startCluster(t)
	const topic, group, partitions, batch = "grouped", "survivors", 3, 300
	c.createTopic(topic, partitions, 3, nil)
	c.waitISR(topic, partitions, c.ids())
	producer := c.client(kgo.DefaultProduceTopic(topic))
	admin := c.admin()

	first := produceBatch(t, producer, "first", batch)
	member := &groupConsumer{t: t, values: make(map[string]int), client: c.client(
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))}
	member.consumeUntil(first)
	if err := member.client.CommitUncommittedOffsets(testContext(t, clientTimeout)); err != nil {
		t.Fatalf("commit before the failure: %v", err)
	}
	committed, err := c.committedOffsets(admin, group, topic)
	if err != nil {
		t.Fatalf("committed offsets before the failure: %v", err)
	}
	assertEqual(t, "offsets committed before the failure (sum)", sumOffsets(committed), int64(batch))

	coordinator, err := c.coordinatorOf(1, group)
	if err != nil {
		t.Fatalf("find coordinator: %v", err)
	}
	c.kill(coordinator)
	survivors := without(c.ids(), coordinator)
	var next int32
	c.eventually(failoverTimeout, "a surviving coordinator with the committed offsets", func() error {
		for _, id := range survivors {
			found, err := c.coordinatorOf(id, group)
			if err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
			if !slices.Contains(survivors, found) {
				return fmt.Errorf("node %d names coordinator %d", id, found)
			}
			next = found
		}
		// A fresh client: a long-lived one may keep dialing the dead
		// coordinator it cached.
		offsets, err := c.committedOffsets(c.admin(), group, topic)
		if err != nil {
			return err
		}
		if fmt.Sprint(offsets) != fmt.Sprint(committed) {
			return fmt.Errorf("committed offsets %v, before the failure %v", offsets, committed)
		}
		return nil
	})
	t.Logf("coordinator moved from node %d to node %d", coordinator, next)

	second := produceBatch(t, producer, "second", batch)
	member.consumeUntil(second)
	for value, times := range member.values {
		if times != 1 {
			t.Errorf("value %s received %d times", value, times)
		}
	}
	assertEqual(t, "distinct values received", len(member.values), 2*batch)
	if err := member.client.CommitUncommittedOffsets(testContext(t, clientTimeout)); err != nil {
		t.Fatalf("commit after the failure: %v", err)
	}
	committed, err = c.committedOffsets(c.admin(), group, topic)
	if err != nil {
		t.Fatalf("committed offsets after the failure: %v", err)
	}
	assertEqual(t, "offsets committed after the failure (sum)", sumOffsets(committed), int64(2*batch))
}

// produceBatch produces count keyed records whose values start with prefix
// and returns the values.
func produceBatch(t *testing.T, client *kgo.Client, prefix string, count int) []string {
	t.Helper()
	values := make([]string, count)
	records := make([]*kgo.Record, count)
	for i := range count {
		values[i] = fmt.Sprintf("%s-%04d", prefix, i)
		records[i] = &kgo.Record{Key: fmt.Appendf(nil, "key-%d", i%16), Value: []byte(values[i])}
	}
	produceSync(t, client, records...)
	return values
}

func sumOffsets(offsets map[int32]int64) int64 {
	var sum int64
	for _, offset := range offsets {
		sum += offset
	}
	return sum
}
