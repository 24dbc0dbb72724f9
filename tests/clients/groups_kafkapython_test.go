package clients

import (
	"fmt"
	"syscall"
	"testing"
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
	values := produceValues(t, b, topic, 4, 200, "split")

	first := kpMember(t, b, topic, group, "first", nil)
	second := kpMember(t, b, topic, group, "second", nil)
	waitBalanced(t, 4, []int{2, 2}, first, second)
	waitRecords(t, len(values), first, second)
	assertExactlyOnce(t, "records consumed by two members", recordValues(append(first.records(), second.records()...)), values)
	for _, member := range []*memberProcess{first, second} {
		owned, _ := member.assignment()
		for _, record := range member.records() {
			if !contains32(owned, record.Partition) {
				t.Errorf("member %s consumed partition %d outside its final assignment %v", member.name, record.Partition, owned)
				break
			}
		}
	}

	members := []*memberProcess{first, second}
	for i := 3; i <= 5; i++ {
		members = append(members, kpMember(t, b, topic, group, fmt.Sprintf("member-%d", i), nil))
	}
	waitBalanced(t, 4, []int{0, 1, 1, 1, 1}, members...)
	for _, member := range members {
		member.stop()
	}
}

func contains32(values []int32, value int32) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
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
