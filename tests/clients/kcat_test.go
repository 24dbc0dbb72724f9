package clients

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kcatMessage is one line of `kcat -C -J` output.
type kcatMessage struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Tstype    string   `json:"tstype"`
	Ts        int64    `json:"ts"`
	Broker    int32    `json:"broker"`
	Headers   []string `json:"headers"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
}

func stringPointer(value string) *string { return &value }

// kcatConsume runs `kcat -C -e -J -Z` with extra args and parses every line.
func kcatConsume(t *testing.T, b *testBroker, args ...string) []kcatMessage {
	t.Helper()
	output := mustRun(t, nil, kcatPath, append([]string{"-b", b.addr, "-C", "-e", "-J", "-Z", "-q"}, args...)...)
	messages := []kcatMessage{}
	scanner := bufio.NewScanner(bytes.NewReader(output))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var message kcatMessage
		if err := json.Unmarshal([]byte(line), &message); err != nil {
			t.Fatalf("kcat %q: bad JSON line %q: %v", args, line, err)
		}
		messages = append(messages, message)
	}
	return messages
}

func TestKcatMetadata(t *testing.T) {
	requireKcat(t)
	b := startBroker(t)
	const topic = "kcat-meta"
	createTopic(t, b, topic, 3, nil)
	id := b.nodeID(t)

	text := string(mustRun(t, nil, kcatPath, "-b", b.addr, "-L", "-t", topic))
	var want strings.Builder
	fmt.Fprintf(&want, "Metadata for %s (from broker %d: %s/%d):\n", topic, id, b.addr, id)
	fmt.Fprintf(&want, " 1 brokers:\n  broker %d at %s (controller)\n", id, b.addr)
	fmt.Fprintf(&want, " 1 topics:\n  topic %q with 3 partitions:\n", topic)
	for partition := range 3 {
		fmt.Fprintf(&want, "    partition %d, leader %d, replicas: %d, isrs: %d\n", partition, id, id, id)
	}
	assertEqual(t, "kcat -L -t", strings.TrimSpace(text), strings.TrimSpace(want.String()))

	all := string(mustRun(t, nil, kcatPath, "-b", b.addr, "-L"))
	for _, line := range []string{
		fmt.Sprintf("broker %d at %s (controller)", id, b.addr),
		fmt.Sprintf("topic %q with 3 partitions:", topic),
	} {
		if !strings.Contains(all, line) {
			t.Errorf("kcat -L output lacks %q:\n%s", line, all)
		}
	}

	type replica struct {
		ID int32 `json:"id"`
	}
	type partition struct {
		Partition int32     `json:"partition"`
		Leader    int32     `json:"leader"`
		Replicas  []replica `json:"replicas"`
		Isrs      []replica `json:"isrs"`
	}
	type metadata struct {
		OriginatingBroker struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"originating_broker"`
		Query        map[string]string `json:"query"`
		ControllerID int32             `json:"controllerid"`
		Brokers      []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string      `json:"topic"`
			Partitions []partition `json:"partitions"`
		} `json:"topics"`
	}
	var got metadata
	output := mustRun(t, nil, kcatPath, "-b", b.addr, "-L", "-J", "-t", topic)
	if err := json.Unmarshal(output, &got); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, output)
	}
	var wantJSON metadata
	wantJSON.OriginatingBroker.ID, wantJSON.OriginatingBroker.Name = id, fmt.Sprintf("%s/%d", b.addr, id)
	wantJSON.Query = map[string]string{"topic": topic}
	wantJSON.ControllerID = id
	wantJSON.Brokers = append(wantJSON.Brokers, struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	}{id, b.addr})
	var partitions []partition
	for p := range int32(3) {
		partitions = append(partitions, partition{p, id, []replica{{id}}, []replica{{id}}})
	}
	wantJSON.Topics = append(wantJSON.Topics, struct {
		Topic      string      `json:"topic"`
		Partitions []partition `json:"partitions"`
	}{topic, partitions})
	assertEqual(t, "kcat -L -J", got, wantJSON)
}

func TestKcatProduceConsume(t *testing.T) {
	requireKcat(t)
	b := startBroker(t)
	const topic = "kcat-records"
	createTopic(t, b, topic, 1, nil)
	id := b.nodeID(t)

	before := time.Now().UnixMilli()
	input := "k0:v0\nk1:v1\nk2:\nk3:v3\nk4:value:with:colons\n"
	mustRun(t, []byte(input), kcatPath, "-b", b.addr, "-P", "-t", topic, "-p", "0", "-K:", "-Z",
		"-H", "h1=v1", "-H", "h2=v2")
	after := time.Now().UnixMilli()

	payloads := []*string{stringPointer("v0"), stringPointer("v1"), nil, stringPointer("v3"), stringPointer("value:with:colons")}
	var want []kcatMessage
	for i, payload := range payloads {
		want = append(want, kcatMessage{Topic: topic, Partition: 0, Offset: int64(i), Tstype: "create",
			Broker: id, Headers: []string{"h1", "v1", "h2", "v2"}, Key: stringPointer(fmt.Sprintf("k%d", i)), Payload: payload})
	}

	all := kcatConsume(t, b, "-t", topic)
	if len(all) == len(want) {
		for i := range all {
			if all[i].Ts < before || all[i].Ts > after {
				t.Errorf("record %d: create time %d outside the produce window [%d, %d]", i, all[i].Ts, before, after)
			}
			want[i].Ts = all[i].Ts
		}
	}
	assertEqual(t, "kcat -C from beginning", all, want)
	assertEqual(t, "kcat -C -o 2", kcatConsume(t, b, "-t", topic, "-o", "2"), want[2:])
	assertEqual(t, "kcat -C -o -2", kcatConsume(t, b, "-t", topic, "-o", "-2"), want[3:])
}

func TestKcatTimestamps(t *testing.T) {
	requireKcat(t)
	b := startBroker(t)
	const topic = "kcat-times"
	createTopic(t, b, topic, 1, nil)
	id := b.nodeID(t)
	base := baseTimestamp()
	var records []*kgo.Record
	var want []kcatMessage
	for i := range 5 {
		key, value := fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i)
		timestamp := base + 1000*int64(i)
		records = append(records, &kgo.Record{Topic: topic, Partition: 0, Key: []byte(key), Value: []byte(value),
			Timestamp: time.UnixMilli(timestamp)})
		want = append(want, kcatMessage{Topic: topic, Partition: 0, Offset: int64(i), Tstype: "create", Ts: timestamp,
			Broker: id, Key: stringPointer(key), Payload: stringPointer(value)})
	}
	produceSync(t, newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner())), records...)

	between := strconv.FormatInt(base+1500, 10)
	assertEqual(t, "kcat -C -o s@between", kcatConsume(t, b, "-t", topic, "-o", "s@"+between), want[2:])
	assertEqual(t, "kcat -C -o s@first", kcatConsume(t, b, "-t", topic, "-o", "s@"+strconv.FormatInt(base, 10)), want)

	for _, test := range []struct {
		timestamp int64
		offset    int64
	}{
		{base - 1, 0},
		{base, 0},
		{base + 1500, 2},
		{base + 4000, 4},
		{base + 4001, -1},
	} {
		query := fmt.Sprintf("%s:0:%d", topic, test.timestamp)
		output := strings.TrimSpace(string(mustRun(t, nil, kcatPath, "-b", b.addr, "-Q", "-t", query)))
		assertEqual(t, "kcat -Q -t "+query, output, fmt.Sprintf("%s [0] offset %d", topic, test.offset))
	}
	var got map[string]map[string]any
	output := mustRun(t, nil, kcatPath, "-b", b.addr, "-Q", "-J", "-t", topic+":0:"+between)
	if err := json.Unmarshal(output, &got); err != nil {
		t.Fatalf("kcat -Q -J: %v\n%s", err, output)
	}
	assertEqual(t, "kcat -Q -J", got, map[string]map[string]any{
		topic: {"topic": topic, "0": map[string]any{"partition": 0.0, "offset": 2.0}},
	})
}
