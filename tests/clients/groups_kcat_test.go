package clients

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// kcatGroupConsume runs kcat as a balanced (-G) consumer and parses its
// JSON lines.
func kcatGroupConsume(t *testing.T, b *testBroker, group, topic string, args ...string) []kcatMessage {
	t.Helper()
	all := append([]string{"-b", b.addr, "-G", group, "-J", "-q", "-X", "auto.offset.reset=earliest"}, args...)
	output := mustRun(t, nil, kcatPath, append(all, topic)...)
	messages := []kcatMessage{}
	scanner := bufio.NewScanner(bytes.NewReader(output))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || !strings.HasPrefix(line, "{") {
			continue
		}
		var message kcatMessage
		if err := json.Unmarshal([]byte(line), &message); err != nil {
			t.Fatalf("kcat -G: bad JSON line %q: %v", line, err)
		}
		messages = append(messages, message)
	}
	sort.Slice(messages, func(i, j int) bool {
		if messages[i].Partition != messages[j].Partition {
			return messages[i].Partition < messages[j].Partition
		}
		return messages[i].Offset < messages[j].Offset
	})
	return messages
}

// kcatViews reduces messages to partition, offset and payload.
func kcatViews(messages []kcatMessage) []kpGroupRecord {
	views := []kpGroupRecord{}
	for _, message := range messages {
		payload := ""
		if message.Payload != nil {
			payload = *message.Payload
		}
		views = append(views, kpGroupRecord{message.Partition, message.Offset, payload})
	}
	return views
}

// TestKcatBalancedConsumer: kcat -G consumes every record once, commits on
// exit, resumes after the commit, and with -e exits with nothing left.
func TestKcatBalancedConsumer(t *testing.T) {
	requireKcat(t)
	b := startGroupBroker(t)
	const topic, group = "kcat-group", "kcat-group"
	createTopic(t, b, topic, 3, nil)
	values := produceValues(t, b, topic, 3, 30, "kcat")
	type batch struct {
		values      []string
		firstOffset int64
	}
	want := func(batches ...batch) []kpGroupRecord {
		views := []kpGroupRecord{}
		for _, batch := range batches {
			for i, value := range batch.values {
				views = append(views, kpGroupRecord{int32(i % 3), batch.firstOffset + int64(i/3), value})
			}
		}
		sort.Slice(views, func(i, j int) bool {
			if views[i].Partition != views[j].Partition {
				return views[i].Partition < views[j].Partition
			}
			return views[i].Offset < views[j].Offset
		})
		return views
	}
	first := kcatGroupConsume(t, b, group, topic, "-c", fmt.Sprint(len(values)))
	assertEqual(t, "kcat -G -c 30", kcatViews(first), want(batch{values, 0}))

	more := produceValues(t, b, topic, 3, 6, "kcat-more")
	second := kcatGroupConsume(t, b, group, topic, "-c", fmt.Sprint(len(more)))
	assertEqual(t, "kcat -G after the commit", kcatViews(second), want(batch{more, 10}))

	rest := kcatGroupConsume(t, b, group, topic, "-e")
	assertEqual(t, "kcat -G -e with nothing left", kcatViews(rest), []kpGroupRecord{})

	other := kcatGroupConsume(t, b, "kcat-other-group", topic, "-e")
	assertEqual(t, "kcat -G -e in a new group", kcatViews(other), want(batch{values, 0}, batch{more, 10}))
}
