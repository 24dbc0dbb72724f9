package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"samsa/internal/testutil"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupFixture is a kfake cluster with topic "orders" (p0: 5 records at
// 1000..5000 ms, p1: 3 records at 1000..3000 ms) and topic "audit" (1 record).
type groupFixture struct {
	addr  string
	admin *kadm.Client
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	addr := startCluster(t, 2, "orders")
	client, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	f := &groupFixture{addr: addr, admin: kadm.NewClient(client)}
	if _, err := f.admin.CreateTopic(context.Background(), 1, 1, nil, "audit"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.produce(t, client, "orders", 0, int64(1000*(i+1)))
	}
	for i := range 3 {
		f.produce(t, client, "orders", 1, int64(1000*(i+1)))
	}
	f.produce(t, client, "audit", 0, 1000)
	return f
}

func (f *groupFixture) produce(t *testing.T, client *kgo.Client, topic string, partition int32, ms int64) {
	t.Helper()
	record := &kgo.Record{Topic: topic, Partition: partition, Value: []byte("v"), Timestamp: time.UnixMilli(ms)}
	if err := client.ProduceSync(context.Background(), record).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// commit commits offsets for an inactive group through the admin API.
func (f *groupFixture) commit(t *testing.T, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	var os kadm.Offsets
	for topic, partitions := range offsets {
		for p, at := range partitions {
			os.AddOffset(topic, p, at, -1)
		}
	}
	if err := f.admin.CommitAllOffsets(context.Background(), group, os); err != nil {
		t.Fatal(err)
	}
}

// committed returns the group's committed offsets as "topic/p=offset ..." sorted.
func (f *groupFixture) committed(t *testing.T, group string) string {
	t.Helper()
	responses, err := f.admin.FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, o := range responses.Sorted() {
		if o.At >= 0 {
			parts = append(parts, fmt.Sprintf("%s/%d=%d", o.Topic, o.Partition, o.At))
		}
	}
	return strings.Join(parts, " ")
}

// startMember joins group with client id clientID, consumes all 8 records of
// "orders", commits them and then commits audit/0=1 as well. It returns the
// consumer, closed at cleanup.
func (f *groupFixture) startMember(t *testing.T, group, clientID string) *kgo.Client {
	t.Helper()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.ClientID(clientID), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics("orders"), kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < 8; {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 8 records before the deadline", got)
		}
		got += fetches.NumRecords()
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	extra := map[string]map[int32]kgo.EpochOffset{"audit": {0: {Epoch: -1, Offset: 1}}}
	var commitErr error
	consumer.CommitOffsetsSync(ctx, extra, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		for _, topic := range resp.Topics {
			for _, p := range topic.Partitions {
				if p.ErrorCode != 0 && commitErr == nil {
					commitErr = fmt.Errorf("commit error code %d", p.ErrorCode)
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	return consumer
}

// align renders rows as columns padded to their widest cell plus two spaces,
// the last column unpadded.
func align(rows ...[]string) string {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			if i == len(row)-1 {
				b.WriteString(cell + "\n")
				continue
			}
			b.WriteString(cell + strings.Repeat(" ", widths[i]+2-len(cell)))
		}
	}
	return b.String()
}

func TestGroupDescribeInactive(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	f.commit(t, "idle", map[string]map[int32]int64{"orders": {0: 2, 1: 3}})
	want := "" +
		"GROUP  TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID\n" +
		"idle   orders  0          2               5               3    -            -     -\n" +
		"idle   orders  1          3               3               0    -            -     -\n"
	r := run(t, "", "group", "describe", b, "--group", "idle")
	if r.code != ExitOK || r.stdout != want || r.stderr != "Consumer group 'idle' has no active members.\n" {
		t.Fatalf("describe idle: exit %d\n%s\nstderr %q\nwant\n%s", r.code, r.stdout, r.stderr, want)
	}
	wantMembers := "GROUP  CONSUMER-ID  HOST  CLIENT-ID  #PARTITIONS\n"
	if got := mustRun(t, "", "group", "describe", b, "--group", "idle", "--members"); got != wantMembers {
		t.Fatalf("members of idle %q", got)
	}
	host, port, _ := strings.Cut(f.addr, ":")
	wantState := align([]string{"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"},
		[]string{"idle", host + ":" + port + " (0)", "-", "Empty", "0"})
	if got := mustRun(t, "", "group", "describe", b, "--group", "idle", "--state"); got != wantState {
		t.Fatalf("state of idle\n%s\nwant\n%s", got, wantState)
	}
	for _, args := range [][]string{{"--group", "nope"}, {"--group", "nope", "--members"}, {"--group", "nope", "--state"}} {
		r := run(t, "", append([]string{"group", "describe", b}, args...)...)
		if r.code != ExitError || r.stdout != "" || r.stderr != "Error: Consumer group 'nope' does not exist.\n" {
			t.Errorf("describe %v: %+v", args, r)
		}
	}
}

func TestGroupActiveMember(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	consumer := f.startMember(t, "active", "member-a")
	producer, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	f.produce(t, producer, "orders", 0, 6000)
	f.produce(t, producer, "orders", 0, 7000)

	described, err := f.admin.DescribeGroups(context.Background(), "active")
	if err != nil || len(described["active"].Members) != 1 {
		t.Fatalf("describe via kadm: %v %+v", err, described)
	}
	member := described["active"].Members[0]
	id, hostCell := member.MemberID, member.ClientHost
	want := align([]string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"},
		[]string{"active", "audit", "0", "1", "1", "0", "-", "-", "-"},
		[]string{"active", "orders", "0", "5", "7", "2", id, hostCell, "member-a"},
		[]string{"active", "orders", "1", "3", "3", "0", id, hostCell, "member-a"})
	r := run(t, "", "group", "describe", b, "--group", "active")
	if r.code != ExitOK || r.stdout != want || r.stderr != "" {
		t.Fatalf("describe active: exit %d stderr %q\n%s\nwant\n%s", r.code, r.stderr, r.stdout, want)
	}
	want = align([]string{"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"},
		[]string{"active", id, hostCell, "member-a", "2", "orders(0,1)"})
	if got := mustRun(t, "", "group", "describe", b, "--group", "active", "--members", "--verbose"); got != want {
		t.Fatalf("members\n%s\nwant\n%s", got, want)
	}
	want = align([]string{"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"},
		[]string{"active", id, hostCell, "member-a", "2"})
	if got := mustRun(t, "", "group", "describe", b, "--group", "active", "--members"); got != want {
		t.Fatalf("members\n%s\nwant\n%s", got, want)
	}
	want = align([]string{"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"},
		[]string{"active", f.addr + " (0)", "cooperative-sticky", "Stable", "1"})
	if got := mustRun(t, "", "group", "describe", b, "--group", "active", "--state"); got != want {
		t.Fatalf("state\n%s\nwant\n%s", got, want)
	}

	f.commit(t, "idle", map[string]map[int32]int64{"orders": {0: 1}})
	if got := mustRun(t, "", "group", "list", b); got != "active\nidle\n" {
		t.Fatalf("list %q", got)
	}
	if got := mustRun(t, "", "group", "list", b, "--state", "stable"); got != "active\n" {
		t.Fatalf("list stable %q", got)
	}
	if got := mustRun(t, "", "group", "list", b, "--state", "Empty", "--state", "Dead"); got != "idle\n" {
		t.Fatalf("list empty %q", got)
	}
	if got := mustRun(t, "", "group", "list", b, "--state", "Empty,Stable", "--verbose"); got != ""+
		"GROUP   STATE   PROTOCOL-TYPE\n"+
		"active  Stable  consumer\n"+
		"idle    Empty   -\n" {
		t.Fatalf("list verbose %q", got)
	}

	r = run(t, "", "group", "reset-offsets", b, "--group", "active", "--all-topics", "--to-earliest", "--execute")
	if r.code != ExitError || r.stdout != "" ||
		r.stderr != "Error: Assignments can only be reset if the group 'active' is inactive, but the current state is Stable.\n" {
		t.Fatalf("reset active: %+v", r)
	}
	r = run(t, "", "group", "delete", b, "--group", "active")
	if r.code != ExitError || r.stdout != "" || r.stderr != "Error: deletion of some consumer groups failed:\n"+
		"* Group 'active' could not be deleted due to: NON_EMPTY_GROUP: The group is not empty.\n" {
		t.Fatalf("delete active: %+v", r)
	}
	r = run(t, "", "group", "delete-offsets", b, "--group", "active", "--topic", "orders:1", "--topic", "audit")
	if r.code != ExitError || r.stdout != ""+
		"TOPIC   PARTITION  STATUS\n"+
		"audit   0          Successful\n"+
		"orders  1          Error: GROUP_SUBSCRIBED_TO_TOPIC: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.\n" ||
		r.stderr != "Error: some partitions failed: 1 of 2 offsets could not be deleted\n" {
		t.Fatalf("delete-offsets active: %+v", r)
	}
	if got := f.committed(t, "active"); got != "orders/0=5 orders/1=3" {
		t.Fatalf("commits after delete-offsets %q", got)
	}

	consumer.Close() // leaves the group
	if got := mustRun(t, "", "group", "list", b, "--state", "empty"); got != "active\nidle\n" {
		t.Fatalf("list after leave %q", got)
	}
	if got := mustRun(t, "", "group", "delete", b, "--group", "active", "--group", "idle"); got !=
		"Deletion of requested consumer groups ('active', 'idle') was successful.\n" {
		t.Fatalf("delete %q", got)
	}
	if got := mustRun(t, "", "group", "list", b); got != "" {
		t.Fatalf("list after delete %q", got)
	}
	r = run(t, "", "group", "delete", b, "--group", "active")
	if r.code != ExitError || r.stderr != "Error: deletion of some consumer groups failed:\n"+
		"* Group 'active' could not be deleted due to: Consumer group 'active' does not exist.\n" {
		t.Fatalf("delete deleted: %+v", r)
	}
}

func TestGroupDescribeIdleMember(t *testing.T) {
	f := newGroupFixture(t)
	b := "-b=" + f.addr
	for _, clientID := range []string{"member-a", "member-b"} {
		consumer, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.ClientID(clientID), kgo.ConsumerGroup("pair"),
			kgo.ConsumeTopics("audit"), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(consumer.Close)
	}
	var group kadm.DescribedGroup
	testutil.Poll(t, 30*time.Second, func() bool {
		described, err := f.admin.DescribeGroups(context.Background(), "pair")
		if err != nil {
			t.Fatal(err)
		}
		group = described["pair"]
		return group.State == "Stable" && len(group.Members) == 2 && len(group.AssignedPartitions().Sorted()) == 1
	})
	rows := [][]string{{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}}
	var idle []string
	for i := range group.Members {
		m := &group.Members[i]
		if len(memberAssignment(m)) == 1 {
			rows = append(rows, []string{"pair", "audit", "0", "-", "1", "-", m.MemberID, m.ClientHost, m.ClientID})
		} else {
			idle = []string{"pair", "-", "-", "-", "-", "-", m.MemberID, m.ClientHost, m.ClientID}
		}
	}
	if len(rows) != 2 || idle == nil {
		t.Fatalf("want one owner and one idle member: %+v", group.Members)
	}
	want := align(append(rows, idle)...)
	if got := mustRun(t, "", "group", "describe", b, "--group", "pair"); got != want {
		t.Fatalf("describe\n%s\nwant\n%s", got, want)
	}
}
