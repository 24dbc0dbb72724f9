package clients

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kpMember starts a kafka-python group member on topic.
func kpMember(t *testing.T, b *testBroker, topic, group, name string, config map[string]any) *memberProcess {
	t.Helper()
	if config == nil {
		config = map[string]any{}
	}
	if _, ok := config["auto_offset_reset"]; !ok {
		config["auto_offset_reset"] = "earliest"
	}
	return startMember(t, "kp_member.py", name, map[string]any{
		"bootstrap": b.addr, "topic": topic, "group": group, "config": config,
	})
}

// TestKafkaPythonGroupSplit: two members split a 4-partition topic 2+2 and
// consume every record exactly once between them; with five members one is
// idle and the others own one partition each.
func TestKafkaPythonGroupSplit(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic, group = "kp-split", "kp-split-group"
	createTopic(t, b, topic, 4, nil)

	first := kpMember(t, b, topic, group, "first", nil)
	second := kpMember(t, b, topic, group, "second", nil)
	waitBalanced(t, 4, []int{2, 2}, first, second)
	// Produce only once the group is balanced: until the second member
	// joins, the first legitimately owns every partition.
	values := produceValues(t, b, topic, 4, 200, "split")
	waitRecords(t, len(values), first, second)
	assertExactlyOnce(t, "records consumed by two members", recordValues(append(first.records(), second.records()...)), values)
	members := []*memberProcess{first, second}
	for i := 3; i <= 5; i++ {
		members = append(members, kpMember(t, b, topic, group, fmt.Sprintf("member-%d", i), nil))
	}
	waitBalanced(t, 4, []int{0, 1, 1, 1, 1}, members...)
	for _, member := range members {
		member.stop()
	}
}

// TestKafkaPythonGroupEviction: a member frozen with SIGSTOP is evicted
// after session_timeout_ms and the other member takes all partitions.
func TestKafkaPythonGroupEviction(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic, group = "kp-evict", "kp-evict-group"
	createTopic(t, b, topic, 4, nil)
	config := func() map[string]any {
		return map[string]any{"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}
	}
	survivor := kpMember(t, b, topic, group, "survivor", config())
	frozen := kpMember(t, b, topic, group, "frozen", config())
	waitBalanced(t, 4, []int{2, 2}, survivor, frozen)

	frozen.signal(syscall.SIGSTOP)
	waitMembers(t, "survivor owning all 4 partitions", groupWait, func() bool {
		owned, _ := survivor.assignment()
		return survivor.lastCallback() == "assigned" && len(owned) == 4
	}, survivor)
	frozen.signal(syscall.SIGCONT)
	// The thawed member learns it was fenced and rejoins: 2+2 again.
	waitBalanced(t, 4, []int{2, 2}, survivor, frozen)
	frozen.stop()
	survivor.stop()
}

// TestKafkaPythonGroupMaxPollInterval: a member that stops polling for
// longer than max_poll_interval_ms leaves the group (its heartbeat thread
// sends LeaveGroup) and the other member takes its partitions.
func TestKafkaPythonGroupMaxPollInterval(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic, group = "kp-maxpoll", "kp-maxpoll-group"
	createTopic(t, b, topic, 4, nil)
	config := func() map[string]any {
		return map[string]any{"max_poll_interval_ms": 5000, "session_timeout_ms": 10000, "heartbeat_interval_ms": 1000}
	}
	poller := kpMember(t, b, topic, group, "poller", config())
	sleeper := kpMember(t, b, topic, group, "sleeper", config())
	waitBalanced(t, 4, []int{2, 2}, poller, sleeper)

	sleeper.send("sleep 12")
	waitMembers(t, "poller owning all 4 partitions", groupWait, func() bool {
		owned, _ := poller.assignment()
		return poller.lastCallback() == "assigned" && len(owned) == 4
	}, poller)
	// Once it polls again the sleeper rejoins.
	waitMembers(t, "sleeper waking", groupWait, func() bool { return sleeper.countEvents("woke") == 1 }, sleeper)
	waitBalanced(t, 4, []int{2, 2}, poller, sleeper)
	sleeper.stop()
	poller.stop()
}

// TestKafkaPythonTwoGroups: two groups on one topic each get every record.
func TestKafkaPythonTwoGroups(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic = "kp-two-groups"
	createTopic(t, b, topic, 3, nil)
	values := produceValues(t, b, topic, 3, 300, "both")
	red := kpMember(t, b, topic, "red", "red", nil)
	blue := kpMember(t, b, topic, "blue", "blue", nil)
	waitRecords(t, len(values), red)
	waitRecords(t, len(values), blue)
	red.stop()
	blue.stop()
	assertExactlyOnce(t, "group red", recordValues(red.records()), values)
	assertExactlyOnce(t, "group blue", recordValues(blue.records()), values)
}

// kpGroupRecord is a record as py/kp_group.py prints it.
type kpGroupRecord struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Value     string `json:"value"`
}

// TestKafkaPythonGroupConsumer: subscribe/iterate reads every record once
// and commit() makes committed() exact; commit({tp: OffsetAndMetadata})
// then a new consumer resumes exactly there; max_poll_records bounds poll;
// a new group with the default auto_offset_reset (latest) sees only
// records produced after it joined.
func TestKafkaPythonGroupConsumer(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic, perPartition = "kp-group", 10
	createTopic(t, b, topic, 3, nil)
	client := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	var all []kpGroupRecord
	for partition := range int32(3) {
		for offset := range int64(perPartition) {
			value := fmt.Sprintf("p%d-%d", partition, offset)
			produceSync(t, client, &kgo.Record{Partition: partition, Value: []byte(value)})
			all = append(all, kpGroupRecord{partition, offset, value})
		}
	}
	var result struct {
		Subscribe struct {
			Records   []kpGroupRecord `json:"records"`
			Committed []int64         `json:"committed"`
		} `json:"subscribe"`
		Manual struct {
			FirstCount int             `json:"first_count"`
			Committed  []int64         `json:"committed"`
			Resumed    []kpGroupRecord `json:"resumed"`
			Listed     [][]any         `json:"listed"`
		} `json:"manual"`
		MaxPoll struct {
			MaxBatch int             `json:"max_batch"`
			Records  []kpGroupRecord `json:"records"`
		} `json:"max_poll"`
		Latest struct {
			Positions []int64         `json:"positions"`
			Records   []kpGroupRecord `json:"records"`
		} `json:"latest"`
	}
	runPython(t, "kp_group.py", map[string]any{"bootstrap": b.addr, "topic": topic, "per_partition": perPartition}, &result)

	assertEqual(t, "subscribe: records", result.Subscribe.Records, all)
	assertEqual(t, "subscribe: committed after commit()", result.Subscribe.Committed, []int64{10, 10, 10})

	assertEqual(t, "manual: first consumer's records", result.Manual.FirstCount, len(all))
	assertEqual(t, "manual: committed after commit(offsets)", result.Manual.Committed, []int64{4, 7, 10})
	assertEqual(t, "manual: list_consumer_group_offsets", result.Manual.Listed,
		[][]any{{0.0, 4.0, "meta-0"}, {1.0, 7.0, "meta-1"}, {2.0, 10.0, ""}})
	var resumed []kpGroupRecord
	resumed = append(resumed, all[4:10]...)
	resumed = append(resumed, all[17:20]...)
	assertEqual(t, "manual: records of the resumed consumer", result.Manual.Resumed, resumed)

	if result.MaxPoll.MaxBatch < 1 || result.MaxPoll.MaxBatch > 4 {
		t.Errorf("max_poll_records=4: largest poll returned %d records", result.MaxPoll.MaxBatch)
	}
	assertEqual(t, "max_poll_records: records", result.MaxPoll.Records, all)

	assertEqual(t, "latest: positions after joining", result.Latest.Positions, []int64{10, 10, 10})
	assertEqual(t, "latest: records", result.Latest.Records, []kpGroupRecord{{0, 10, "late-0"}, {1, 10, "late-1"}, {2, 10, "late-2"}})
}

// TestKafkaPythonGroupAdmin: KafkaAdminClient lists, describes (Stable,
// consumer/range, the member's subscription and assignment), lists the
// committed offsets with metadata, refuses to delete a group with a member
// (NonEmptyGroupError) and deletes it once empty.
func TestKafkaPythonGroupAdmin(t *testing.T) {
	requirePython(t, "kafka")
	b := startGroupBroker(t)
	const topic, group = "kp-group-admin", "kp-admin-group"
	createTopic(t, b, topic, 2, nil)
	type description struct {
		Group        string `json:"group"`
		ErrorCode    int    `json:"error_code"`
		State        string `json:"state"`
		ProtocolType string `json:"protocol_type"`
		Protocol     string `json:"protocol"`
		Members      []struct {
			ClientID     string   `json:"client_id"`
			Subscription []string `json:"subscription"`
			Assignment   [][]any  `json:"assignment"`
		} `json:"members"`
	}
	var result struct {
		Listed             [][]string  `json:"listed"`
		Described          description `json:"described"`
		Offsets            [][]any     `json:"offsets"`
		DeleteWhileActive  [][]string  `json:"delete_while_active"`
		DescribedEmpty     description `json:"described_empty"`
		DeleteEmpty        [][]string  `json:"delete_empty"`
		ListedAfterDelete  [][]string  `json:"listed_after_delete"`
		OffsetsAfterDelete any         `json:"offsets_after_delete"`
	}
	runPython(t, "kp_group_admin.py", map[string]any{"bootstrap": b.addr, "topic": topic, "group": group}, &result)

	assertEqual(t, "list_consumer_groups", result.Listed, [][]string{{group, "consumer"}})
	described := result.Described
	assertEqual(t, "describe: group, error, state, protocol",
		[]any{described.Group, described.ErrorCode, described.State, described.ProtocolType, described.Protocol},
		[]any{group, 0, "Stable", "consumer", "range"})
	if len(described.Members) != 1 {
		t.Fatalf("describe: %d members, want 1: %+v", len(described.Members), described.Members)
	}
	member := described.Members[0]
	assertEqual(t, "describe: member client id", member.ClientID, "admin-member")
	assertEqual(t, "describe: member subscription", member.Subscription, []string{topic})
	assertEqual(t, "describe: member assignment", member.Assignment, [][]any{{topic, []any{0.0, 1.0}}})
	assertEqual(t, "list_consumer_group_offsets", result.Offsets, [][]any{{topic, 0.0, 3.0, "m0"}, {topic, 1.0, 5.0, "m1"}})
	assertEqual(t, "delete_consumer_groups with a member", result.DeleteWhileActive, [][]string{{group, "NonEmptyGroupError"}})
	empty := result.DescribedEmpty
	assertEqual(t, "describe after close: state, protocol type, members",
		[]any{empty.ErrorCode, empty.State, empty.ProtocolType, len(empty.Members)}, []any{0, "Empty", "consumer", 0})
	assertEqual(t, "delete_consumer_groups when empty", result.DeleteEmpty, [][]string{{group, "NoError"}})
	assertEqual(t, "list_consumer_groups after delete", result.ListedAfterDelete, [][]string{})
	// Kafka answers OffsetFetch for an unknown group with no offsets, not
	// GROUP_ID_NOT_FOUND (kfake does the latter).
	assertEqual(t, "list_consumer_group_offsets after delete", result.OffsetsAfterDelete, 0.0)
}
