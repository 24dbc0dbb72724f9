package clients

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const etlWait = 55 * time.Second // deadline for one ETL run

// tally counts how often each value was consumed by a group.
type tally struct {
	mu struct {
		sync.Mutex
		counts  map[string]int
		unique  int
		total   int
		changed chan struct{}
	}
}

func newTally() *tally {
	counted := &tally{}
	counted.mu.counts = make(map[string]int)
	counted.mu.changed = make(chan struct{})
	return counted
}

func (c *tally) add(records []*kgo.Record) {
	if len(records) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, record := range records {
		value := string(record.Value)
		if c.mu.counts[value] == 0 {
			c.mu.unique++
		}
		c.mu.counts[value]++
		c.mu.total++
	}
	close(c.mu.changed)
	c.mu.changed = make(chan struct{})
}

// waitUnique waits until at least want distinct values were consumed.
func (c *tally) waitUnique(ctx context.Context, want int) error {
	for {
		c.mu.Lock()
		unique, changed := c.mu.unique, c.mu.changed
		c.mu.Unlock()
		if unique >= want {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d distinct records consumed: %w", unique, want, ctx.Err())
		}
	}
}

// check reports values consumed other than exactly once.
func (c *tally) check(t *testing.T, what string, values []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for value, count := range c.mu.counts {
		for range count {
			got = append(got, value)
		}
	}
	assertExactlyOnce(t, what, got, values)
}

// etlMember is one franz-go group member consuming in its own goroutine:
// poll, tally, commit, then allow the rebalance the poll blocked.
type etlMember struct {
	client   *kgo.Client
	once     sync.Once
	assigned chan struct{}      // closed once the member owns partitions
	stop     context.CancelFunc // ends the member after its current poll
	done     chan error
}

func startETLMember(t *testing.T, ctx context.Context, b *testBroker, group, topic, balancer string, counted *tally) *etlMember {
	t.Helper()
	member := &etlMember{done: make(chan error, 1), assigned: make(chan struct{})}
	balancers := map[string]kgo.GroupBalancer{
		"range": kgo.RangeBalancer(), "roundrobin": kgo.RoundRobinBalancer(), "sticky": kgo.StickyBalancer(),
		"cooperative-sticky": kgo.CooperativeStickyBalancer(),
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.Balancers(balancers[balancer]), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.SessionTimeout(10*time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			if len(assigned[topic]) > 0 {
				member.once.Do(func() { close(member.assigned) })
			}
		}))
	if err != nil {
		t.Errorf("kgo member: %v", err) // not Fatalf: called off the test goroutine
		member.done <- err
		close(member.assigned)
		member.stop = func() {}
		return member
	}
	pollContext, stop := context.WithCancel(ctx)
	member.client, member.stop = client, stop
	go func() { member.done <- member.run(ctx, pollContext, counted) }()
	return member
}

func (m *etlMember) run(ctx, pollContext context.Context, counted *tally) error {
	defer m.client.Close()
	for pollContext.Err() == nil {
		fetches := m.client.PollRecords(pollContext, 1000)
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("fetch %s[%d]: %w", topic, partition, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		counted.add(fetches.Records())
		if err := m.client.CommitUncommittedOffsets(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		m.client.AllowRebalance()
	}
	return nil
}

// waitAssigned waits until the member first owns partitions.
func (m *etlMember) waitAssigned(t *testing.T, ctx context.Context, group string) {
	select {
	case <-m.assigned:
	case <-ctx.Done():
		t.Errorf("%s: a member got no partitions: %v", group, ctx.Err())
	}
}

// finish stops the member and returns its error.
func (m *etlMember) finish(t *testing.T) {
	t.Helper()
	m.stop()
	if err := <-m.done; err != nil {
		t.Errorf("member: %v", err)
	}
}

// etlBalancers are franz-go's four balancers: three eager, one cooperative.
var etlBalancers = []string{"range", "roundrobin", "sticky", "cooperative-sticky"}

// TestFranzGoGroupETL: one group per franz-go balancer (range, roundrobin,
// sticky: eager; cooperative-sticky), each on its own 6-partition topic, consume 20000 records produced in five
// chunks; while each chunk is produced and consumed a member joins (twice)
// or leaves (twice). Members commit what they polled before allowing a
// rebalance, so each group consumes every record exactly once and its
// committed offsets end at the log end.
func TestFranzGoGroupETL(t *testing.T) {
	b := startGroupBroker(t)
	const partitions, count = 6, 20000
	ctx := testContext(t, etlWait)
	var wait sync.WaitGroup
	for _, balancer := range etlBalancers {
		topic, group := "fg-etl-"+balancer, "fg-etl-group-"+balancer
		createTopic(t, b, topic, partitions, nil)
		wait.Add(1)
		go func() {
			defer wait.Done()
			churnGroup(t, ctx, b, group, topic, balancer, count)
		}()
	}
	wait.Wait()
	for _, balancer := range etlBalancers {
		checkCommittedAtEnd(t, b, "fg-etl-group-"+balancer, "fg-etl-"+balancer, partitions)
	}
}

// checkCommittedAtEnd checks that group committed the log end of every
// partition of topic.
func checkCommittedAtEnd(t *testing.T, b *testBroker, group, topic string, partitions int32) {
	ends, err := newAdmin(t, b).ListEndOffsets(testContext(t, 30*time.Second), topic)
	if err != nil {
		t.Errorf("end offsets: %v", err)
		return
	}
	committed, err := newAdmin(t, b).FetchOffsets(testContext(t, 30*time.Second), group)
	if err != nil {
		t.Errorf("fetch offsets: %v", err)
		return
	}
	for partition := range partitions {
		end, _ := ends.Lookup(topic, partition)
		offset, _ := committed.Lookup(topic, partition)
		if offset.At != end.Offset {
			t.Errorf("%s: partition %d committed %d, log end %d", group, partition, offset.At, end.Offset)
		}
	}
}

// produceETL writes values round-robin over the topic's partitions in
// synchronous batches.
func produceETL(ctx context.Context, b *testBroker, topic string, values []string) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return err
	}
	defer client.Close()
	const batch = 250
	for start := 0; start < len(values); start += batch {
		var records []*kgo.Record
		for _, value := range values[start:min(start+batch, len(values))] {
			records = append(records, &kgo.Record{Value: []byte(value)})
		}
		if err := client.ProduceSync(ctx, records...).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

// churnGroup starts two members, then produces count records in five
// chunks; during the chunks a third and a fourth member join (each waited
// for until it owns partitions) and then the first and second leave. It
// checks every record was consumed exactly once. It runs in its own
// goroutine, so it reports with t.Errorf only.
func churnGroup(t *testing.T, ctx context.Context, b *testBroker, group, topic, balancer string, count int) {
	counted := newTally()
	start := func() *etlMember { return startETLMember(t, ctx, b, group, topic, balancer, counted) }
	members := []*etlMember{start(), start()}
	for _, member := range members {
		member.waitAssigned(t, ctx, group)
	}
	actions := []string{"join", "join", "leave", "leave", ""}
	chunk := count / len(actions)
	var values []string
	for i, action := range actions {
		first := len(values)
		for j := first; j < first+chunk; j++ {
			values = append(values, fmt.Sprintf("%s-%05d", group, j))
		}
		produced := make(chan error, 1)
		go func() { produced <- produceETL(ctx, b, topic, values[first:]) }()
		switch action {
		case "join":
			member := start()
			members = append(members, member)
			member.waitAssigned(t, ctx, group)
		case "leave":
			members[i-2].finish(t)
		}
		if err := <-produced; err != nil {
			t.Errorf("%s: produce chunk %d: %v", group, i, err)
			break
		}
		if err := counted.waitUnique(ctx, len(values)); err != nil {
			t.Errorf("%s: chunk %d: %v", group, i, err)
			break
		}
	}
	for _, member := range members[2:] {
		member.finish(t)
	}
	counted.check(t, group, values)
}

// TestFranzGoGroupCommitSurvivesKill9: offsets a group member commits
// survive kill -9 of the broker; a new member of the group resumes exactly
// there.
func TestFranzGoGroupCommitSurvivesKill9(t *testing.T) {
	b := startGroupBroker(t)
	const topic, group = "fg-group-restart", "fg-restart-group"
	createTopic(t, b, topic, 2, nil)
	values := produceValues(t, b, topic, 2, 100, "before")

	member := newClient(t, b, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	consumed := pollGroup(t, member, len(values))
	sort.Strings(consumed)
	sorted := append([]string(nil), values...)
	sort.Strings(sorted)
	assertEqual(t, "records before the crash", consumed, sorted)
	commits := map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 30}, 1: {Epoch: -1, Offset: 45}}}
	ctx := testContext(t, 30*time.Second)
	var commitErr error
	member.CommitOffsetsSync(ctx, commits, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, response *kmsg.OffsetCommitResponse, err error) {
		commitErr = commitError(response, err)
	})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}
	member.Close()

	b.kill9AndRestart()
	committed, err := newAdmin(t, b).FetchOffsets(testContext(t, 30*time.Second), group)
	if err != nil {
		t.Fatalf("fetch offsets after restart: %v", err)
	}
	var offsets []int64
	for partition := range int32(2) {
		offset, _ := committed.Lookup(topic, partition)
		offsets = append(offsets, offset.At)
	}
	assertEqual(t, "committed offsets after kill -9", offsets, []int64{30, 45})

	after := produceValues(t, b, topic, 2, 10, "after")
	// Partition 0 holds before-0, -2, ... at offsets 0..49; 1 the odd ones.
	var want []string
	for offset := 30; offset < 50; offset++ {
		want = append(want, fmt.Sprintf("before-%d", 2*offset))
	}
	for offset := 45; offset < 50; offset++ {
		want = append(want, fmt.Sprintf("before-%d", 2*offset+1))
	}
	want = append(want, after...)
	resumed := newClient(t, b, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	got := pollGroup(t, resumed, len(want))
	sort.Strings(got)
	sort.Strings(want)
	assertEqual(t, "records after the restart", got, want)
}

// pollGroup polls a group member until it has want records.
func pollGroup(t *testing.T, client *kgo.Client, want int) []string {
	t.Helper()
	ctx := testContext(t, groupWait)
	var values []string
	for len(values) < want {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group poll: %d records of %d: %v", len(values), want, ctx.Err())
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			t.Fatalf("group poll %s[%d]: %v", topic, partition, err)
		})
		for _, record := range fetches.Records() {
			values = append(values, string(record.Value))
		}
	}
	if len(values) != want {
		t.Fatalf("group poll: %d records, want %d", len(values), want)
	}
	return values
}

// commitError is the request error or the first partition error.
func commitError(response *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, topic := range response.Topics {
		for _, partition := range topic.Partitions {
			if err := kerr.ErrorForCode(partition.ErrorCode); err != nil {
				return fmt.Errorf("%s[%d]: %w", topic.Topic, partition.Partition, err)
			}
		}
	}
	return nil
}
