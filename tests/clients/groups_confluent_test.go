package clients

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// cfMember starts a confluent-kafka group member on topic.
func cfMember(t *testing.T, b *testBroker, topic, group, name string, config map[string]any) *memberProcess {
	t.Helper()
	all := map[string]any{"auto.offset.reset": "earliest"}
	for key, value := range config {
		all[key] = value
	}
	return startMember(t, "cf_member.py", name, map[string]any{
		"bootstrap": b.addr, "topic": topic, "group": group, "config": all,
	})
}

// TestConfluentGroupStrategies: with range, roundrobin and
// cooperative-sticky two members split four partitions 2+2 and consume
// every record once. With cooperative-sticky the first member, owning all
// four, revokes only the partitions that move to the second (incremental),
// never everything.
func TestConfluentGroupStrategies(t *testing.T) {
	requirePython(t, "confluent_kafka")
	b := startGroupBroker(t)
	for _, strategy := range []string{"range", "roundrobin", "cooperative-sticky"} {
		t.Run(strategy, func(t *testing.T) {
			topic, group := "cf-"+strategy, "cf-group-"+strategy
			createTopic(t, b, topic, 4, nil)
			values := produceValues(t, b, topic, 4, 200, strategy)
			config := map[string]any{"partition.assignment.strategy": strategy}
			first := cfMember(t, b, topic, group, "first", config)
			waitBalanced(t, 4, []int{4}, first)
			waitRecords(t, len(values), first)
			second := cfMember(t, b, topic, group, "second", config)
			waitBalanced(t, 4, []int{2, 2}, first, second)
			more := produceValues(t, b, topic, 4, 200, strategy+"-more")
			waitRecords(t, len(values)+len(more), first, second)
			all := append(first.records(), second.records()...)
			assertExactlyOnce(t, "records", recordValues(all), append(values, more...))
			if strategy == "cooperative-sticky" {
				checkIncremental(t, first, second)
			}
			second.stop()
			first.stop()
		})
	}
}

// checkIncremental checks the first member's callbacks after it owned all
// four partitions: only revocations of partitions the second now owns.
func checkIncremental(t *testing.T, first, second *memberProcess) {
	t.Helper()
	secondOwns, _ := second.assignment()
	var revoked []int32
	for _, event := range first.events() {
		switch event.Event {
		case "revoked", "lost":
			if event.Event == "lost" || len(event.Partitions) == 4 {
				t.Errorf("cooperative-sticky: first member %s %v: want only the moving partitions revoked", event.Event, event.Partitions)
			}
			revoked = append(revoked, event.Partitions...)
		case "assigned":
			if len(revoked) > 0 && len(event.Partitions) > 0 {
				t.Errorf("cooperative-sticky: first member got %v assigned after revoking %v", event.Partitions, revoked)
			}
		}
	}
	assertEqual(t, "cooperative-sticky: partitions the first member revoked", sortedPartitions(revoked), secondOwns)
}

// TestConfluentGroupCommit: manual commit (commit(asynchronous=False),
// commit(offsets=...)) and auto commit give exact committed() values and a
// restarted consumer resumes exactly there.
func TestConfluentGroupCommit(t *testing.T) {
	requirePython(t, "confluent_kafka")
	b := startGroupBroker(t)
	const topic, perPartition = "cf-commit", 10
	createTopic(t, b, topic, 3, nil)
	client := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(topic))
	var all []kpGroupRecord
	for partition := range int32(3) {
		for offset := range int64(perPartition) {
			value := fmt.Sprintf("p%d-%d", partition, offset)
			produceSync(t, client, &kgo.Record{Partition: partition, Value: []byte(value)})
			all = append(all, kpGroupRecord{partition, offset, value})
		}
	}
	var result struct {
		Manual struct {
			FirstCount        int             `json:"first_count"`
			Committed         []int64         `json:"committed"`
			CommittedExplicit []int64         `json:"committed_explicit"`
			Resumed           []kpGroupRecord `json:"resumed"`
		} `json:"manual"`
		Auto struct {
			FirstCount int             `json:"first_count"`
			Committed  []int64         `json:"committed"`
			Resumed    []kpGroupRecord `json:"resumed"`
		} `json:"auto"`
	}
	runPython(t, "cf_group_commit.py", map[string]any{"bootstrap": b.addr, "topic": topic, "per_partition": perPartition}, &result)

	assertEqual(t, "manual: records first consumed", result.Manual.FirstCount, len(all))
	assertEqual(t, "manual: committed after commit()", result.Manual.Committed, []int64{10, 10, 10})
	assertEqual(t, "manual: committed after commit(offsets)", result.Manual.CommittedExplicit, []int64{4, 7, 10})
	var resumed []kpGroupRecord
	resumed = append(resumed, all[4:10]...)
	resumed = append(resumed, all[17:20]...)
	assertEqual(t, "manual: records after restart", result.Manual.Resumed, resumed)

	assertEqual(t, "auto: records first consumed", result.Auto.FirstCount, len(all))
	assertEqual(t, "auto: committed after close", result.Auto.Committed, []int64{10, 10, 10})
	assertEqual(t, "auto: records after restart", result.Auto.Resumed,
		[]kpGroupRecord{{0, 10, "later-0"}, {1, 10, "later-1"}, {2, 10, "later-2"}})
}

// TestConfluentStaticMembership: a static member (group.instance.id) killed
// and restarted within session.timeout.ms gets its partitions back without
// a rebalance: the group stays Stable with two members and the other
// member sees no callback.
func TestConfluentStaticMembership(t *testing.T) {
	requirePython(t, "confluent_kafka")
	b := startGroupBroker(t)
	const topic, group = "cf-static", "cf-static-group"
	createTopic(t, b, topic, 4, nil)
	config := func(instance string) map[string]any {
		return map[string]any{"group.instance.id": instance, "session.timeout.ms": 10000,
			"heartbeat.interval.ms": 500, "partition.assignment.strategy": "range"}
	}
	restarted := cfMember(t, b, topic, group, "restarted", config("instance-a"))
	steady := cfMember(t, b, topic, group, "steady", config("instance-b"))
	waitBalanced(t, 4, []int{2, 2}, restarted, steady)
	owned, _ := restarted.assignment()
	steadyEvents := len(nonRecordEvents(steady))

	restarted.killAndWait()
	again := cfMember(t, b, topic, group, "restarted-again", config("instance-a"))
	waitMembers(t, "restarted member assigned", groupWait, func() bool {
		_, ok := again.assignment()
		return ok
	}, again, steady)
	reowned, _ := again.assignment()
	assertEqual(t, "partitions of the restarted static member", reowned, owned)
	after := describeGroup(t, b, group)
	assertEqual(t, "state and members after the static restart", after, groupSummary{"Stable", 2})
	// Records still reach both members, and the steady one never saw a
	// rebalance callback.
	values := produceValues(t, b, topic, 4, 40, "static")
	waitRecords(t, len(values), again, steady)
	assertExactlyOnce(t, "records after the restart", recordValues(append(again.records(), steady.records()...)), values)
	assertEqual(t, "steady member's callbacks since the group was stable",
		len(nonRecordEvents(steady)), steadyEvents)
	again.stop()
	steady.stop()
}

// nonRecordEvents are the member's events other than records.
func nonRecordEvents(member *memberProcess) []memberEvent {
	return slices.DeleteFunc(member.events(), func(event memberEvent) bool { return event.Event == "record" })
}

// groupSummary is what the static-membership test compares from
// DescribeGroups (which carries no generation).
type groupSummary struct {
	State   string
	Members int
}

func describeGroup(t *testing.T, b *testBroker, group string) groupSummary {
	t.Helper()
	described, err := newAdmin(t, b).DescribeGroups(testContext(t, 30*time.Second), group)
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	info, ok := described[group]
	if !ok || info.Err != nil {
		t.Fatalf("describe group %s: %+v", group, info)
	}
	return groupSummary{State: info.State, Members: len(info.Members)}
}
