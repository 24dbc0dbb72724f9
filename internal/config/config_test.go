package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseProperties(t *testing.T) {
	text := "# comment\n! bang comment\n\n  a=1\nb : two words  \nc three\nd\\=x=y\n" +
		"long = first \\\n    second\\\n third\ne=tab\\there\\u0041\\\\\nf=\ng:=h\r\nlast=end\\"
	properties, err := ParseProperties(text)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, property := range properties {
		got[property.Key] = property.Value
	}
	want := map[string]string{
		"a": "1", "b": "two words  ", "c": "three", "d=x": "y",
		"long": "first secondthird", "e": "tab\there" + "A\\", "f": "", "g": "=h", "last": "end",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if properties[0].Line != 4 {
		t.Fatalf("line of first property = %d, want 4", properties[0].Line)
	}
	if _, err := ParseProperties("x=\\u12"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad unicode escape: %v", err)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	broker, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if broker.NodeID != 1 || !broker.HasRole("broker") || !broker.HasRole("controller") {
		t.Fatalf("identity: %+v", broker)
	}
	wantAdvertised := []Listener{{Name: "PLAINTEXT", Host: "localhost", Port: 9092}}
	if !reflect.DeepEqual(broker.AdvertisedListeners, wantAdvertised) {
		t.Fatalf("advertised = %+v", broker.AdvertisedListeners)
	}
	if !reflect.DeepEqual(broker.Voters, []Voter{{ID: 1, Host: "localhost", Port: 9093}}) {
		t.Fatalf("voters = %+v", broker.Voters)
	}
	if broker.RetentionMs != 168*3600*1000 || broker.RetentionBytes != -1 || broker.SegmentBytes != 1073741824 {
		t.Fatalf("retention: %d %d %d", broker.RetentionMs, broker.RetentionBytes, broker.SegmentBytes)
	}
	if broker.MessageMaxBytes != 1048588 || broker.OffsetsTopicReplicationFactor != 3 || broker.OffsetsTopicNumPartitions != 50 {
		t.Fatalf("limits: %+v", broker)
	}
	if !reflect.DeepEqual(broker.LogDirs, []string{"./data"}) || broker.MetadataLogDir != "./data" {
		t.Fatalf("dirs: %v %q", broker.LogDirs, broker.MetadataLogDir)
	}
	listener, ok := broker.ControllerListener()
	if !ok || listener.Port != 9093 {
		t.Fatalf("controller listener = %+v %v", listener, ok)
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "node.id=2\nnum.partitions=3\nlog.dir=/from/file\ncontroller.quorum.voters=2@localhost:9093\nmessage.max.bytes=10\n")
	env := []string{"PATH=/bin", "SAMSA_NUM_PARTITIONS=4", "SAMSA_MESSAGE_MAX_BYTES=20"}
	broker, err := Load(path, []string{"message.max.bytes=30"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if broker.NodeID != 2 || broker.NumPartitions != 4 || broker.MessageMaxBytes != 30 {
		t.Fatalf("got node %d partitions %d max %d", broker.NodeID, broker.NumPartitions, broker.MessageMaxBytes)
	}
	if !reflect.DeepEqual(broker.LogDirs, []string{"/from/file"}) {
		t.Fatalf("log.dir synonym: %v", broker.LogDirs)
	}
	broker, err = Load(path, []string{"log.dirs=/a,/b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(broker.LogDirs, []string{"/a", "/b"}) {
		t.Fatalf("log.dirs wins over log.dir: %v", broker.LogDirs)
	}
}

func TestRejections(t *testing.T) {
	cases := []struct {
		name      string
		file      string
		overrides []string
		env       []string
		mention   string
	}{
		{name: "unknown file key", file: "num.partitions=1\nno.such.key=1\n", mention: "no.such.key"},
		{name: "unknown override", overrides: []string{"bogus=1"}, mention: "bogus"},
		{name: "override without equals", overrides: []string{"num.partitions"}, mention: "num.partitions"},
		{name: "bad int", overrides: []string{"num.partitions=abc"}, mention: "num.partitions"},
		{name: "zero partitions", overrides: []string{"num.partitions=0"}, mention: "num.partitions"},
		{name: "int overflow", overrides: []string{"message.max.bytes=99999999999"}, mention: "message.max.bytes"},
		{name: "bad bool", env: []string{"SAMSA_AUTO_CREATE_TOPICS_ENABLE=yes"}, mention: "auto.create.topics.enable"},
		{name: "bad voters", overrides: []string{"controller.quorum.voters=x@y"}, mention: "controller.quorum.voters"},
		{name: "bad listener", overrides: []string{"listeners=PLAINTEXT:9092"}, mention: "listeners"},
		{name: "bad roles", overrides: []string{"process.roles=queen"}, mention: "process.roles"},
		{name: "voter missing self", overrides: []string{"node.id=5"}, mention: "controller.quorum.voters"},
		{name: "unmapped listener", overrides: []string{"listeners=PLAINTEXT://:9092,CONTROLLER://:9093,FOO://:1"}, mention: "FOO"},
		{name: "broker-only with a voter id", overrides: []string{"process.roles=broker", "listeners=PLAINTEXT://:9092"}, mention: "broker-only node needs an id of its own"},
		{name: "broker-only with a controller listener", overrides: []string{"process.roles=broker", "node.id=4"}, mention: "must not include the controller listener CONTROLLER"},
		{name: "controller-only with a client listener", overrides: []string{"process.roles=controller"}, mention: "may only include controller listeners"},
		{name: "controller role without voter", overrides: []string{"process.roles=controller", "node.id=2", "listeners=CONTROLLER://:9093"}, mention: "does not include node.id 2"},
		{name: "empty roles", overrides: []string{"process.roles="}, mention: "process.roles"},
		{name: "bad timestamp type", overrides: []string{"log.message.timestamp.type=Now"}, mention: "log.message.timestamp.type"},
	}
	for _, testCase := range cases {
		t.Run(testCase.name, func(t *testing.T) {
			path := ""
			if testCase.file != "" {
				path = writeFile(t, testCase.file)
			}
			_, err := Load(path, testCase.overrides, testCase.env)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), testCase.mention) {
				t.Fatalf("err = %v, want ErrInvalidConfig mentioning %q", err, testCase.mention)
			}
		})
	}
	for _, roles := range [][]string{
		{"process.roles=controller", "listeners=CONTROLLER://:9093"},
		{"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://:9092"},
	} {
		if _, err := Load("", roles, nil); err != nil {
			t.Fatalf("%v: %v", roles, err)
		}
	}
	if _, err := Load("", []string{"x.y=1"}, nil); !errors.Is(err, ErrUnknownConfig) {
		t.Fatalf("unknown key should wrap ErrUnknownConfig: %v", err)
	}
}

func TestRetentionPrecedence(t *testing.T) {
	cases := []struct {
		overrides []string
		want      int64
	}{
		{nil, 168 * 3600000},
		{[]string{"log.retention.hours=1"}, 3600000},
		{[]string{"log.retention.hours=1", "log.retention.minutes=2"}, 120000},
		{[]string{"log.retention.hours=1", "log.retention.minutes=2", "log.retention.ms=5"}, 5},
		{[]string{"log.retention.ms=-1"}, -1},
		{[]string{"log.retention.hours=-5"}, -1},
	}
	for _, testCase := range cases {
		broker, err := Load("", testCase.overrides, nil)
		if err != nil {
			t.Fatal(err)
		}
		if broker.RetentionMs != testCase.want {
			t.Fatalf("%v: retention %d, want %d", testCase.overrides, broker.RetentionMs, testCase.want)
		}
		topic, err := broker.ResolveTopic(nil)
		if err != nil || topic.RetentionMs != testCase.want {
			t.Fatalf("%v: topic retention %d (%v), want %d", testCase.overrides, topic.RetentionMs, err, testCase.want)
		}
	}
}

func findEntry(t *testing.T, entries []Entry, name string) Entry {
	t.Helper()
	for _, entry := range entries {
		if entry.Name == name {
			return entry
		}
	}
	t.Fatalf("no entry %s", name)
	return Entry{}
}

func TestDescribeBroker(t *testing.T) {
	broker, err := Load("", []string{"num.partitions=3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := broker.Describe()
	if len(entries) != len(brokerDefinitions) {
		t.Fatalf("%d entries, want %d", len(entries), len(brokerDefinitions))
	}
	partitions := findEntry(t, entries, "num.partitions")
	if *partitions.Value != "3" || partitions.Source != kmsg.ConfigSourceStaticBrokerConfig || partitions.IsDefault || !partitions.ReadOnly {
		t.Fatalf("num.partitions = %+v", partitions)
	}
	wantSynonyms := []Synonym{{Name: "num.partitions", Value: stringPointer("3"), Source: kmsg.ConfigSourceStaticBrokerConfig}, {Name: "num.partitions", Value: stringPointer("1"), Source: kmsg.ConfigSourceDefaultConfig}}
	if !reflect.DeepEqual(partitions.Synonyms, wantSynonyms) {
		t.Fatalf("synonyms = %+v", partitions.Synonyms)
	}
	retention := findEntry(t, entries, "log.retention.ms")
	if retention.Value != nil || retention.Source != kmsg.ConfigSourceDefaultConfig || retention.ReadOnly {
		t.Fatalf("log.retention.ms = %+v", retention)
	}
	password := findEntry(t, entries, "ssl.keystore.password")
	if !password.Sensitive || password.Type != kmsg.ConfigTypePassword {
		t.Fatalf("password = %+v", password)
	}
	dynamic, err := broker.WithDynamic(map[string]string{"message.max.bytes": "77"}, map[string]string{"message.max.bytes": "66", "log.retention.ms": "9"})
	if err != nil {
		t.Fatal(err)
	}
	if dynamic.MessageMaxBytes != 77 || dynamic.RetentionMs != 9 || dynamic.NumPartitions != 3 {
		t.Fatalf("dynamic: %d %d %d", dynamic.MessageMaxBytes, dynamic.RetentionMs, dynamic.NumPartitions)
	}
	maxBytes := findEntry(t, dynamic.Describe(), "message.max.bytes")
	if maxBytes.Source != kmsg.ConfigSourceDynamicBrokerConfig || len(maxBytes.Synonyms) != 3 || maxBytes.Synonyms[1].Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("dynamic message.max.bytes = %+v", maxBytes)
	}
	if _, err := broker.WithDynamic(map[string]string{"num.partitions": "2"}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("static-only key altered dynamically: %v", err)
	}
}

func TestTopicConfigs(t *testing.T) {
	if err := ValidateTopicConfigs(map[string]string{"retention.ms": "100", "cleanup.policy": "compact, delete", "compression.type": "ZSTD"}); err != nil {
		t.Fatal(err)
	}
	bad := []map[string]string{
		{"retention.msx": "1"},
		{"retention.ms": "-2"},
		{"cleanup.policy": "shred"},
		{"cleanup.policy": ""},
		{"message.timestamp.type": "createtime"},
		{"compression.type": "brotli"},
		{"min.cleanable.dirty.ratio": "1.5"},
		{"max.message.bytes": "x"},
	}
	for _, configs := range bad {
		err := ValidateTopicConfigs(configs)
		for key := range configs {
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), key) {
				t.Fatalf("%v: err = %v", configs, err)
			}
		}
	}
	broker, err := Load("", []string{"log.roll.hours=2", "message.max.bytes=500", "log.cleanup.policy=compact"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := broker.ResolveTopic(map[string]string{"cleanup.policy": "delete,compact,delete", "segment.bytes": "4096"})
	if err != nil {
		t.Fatal(err)
	}
	if topic.CleanupPolicy != "compact,delete" || !topic.Compact || !topic.Delete || topic.SegmentBytes != 4096 ||
		topic.SegmentMs != 7200000 || topic.MaxMessageBytes != 500 || topic.TimestampType != "CreateTime" || topic.MinInsyncReplicas != 1 {
		t.Fatalf("topic = %+v", topic)
	}
	if _, err := broker.ResolveTopic(map[string]string{"nope": "1"}); !errors.Is(err, ErrUnknownConfig) {
		t.Fatalf("unknown override: %v", err)
	}
}

func TestDescribeTopicSources(t *testing.T) {
	broker, err := Load("", []string{"log.retention.hours=1", "message.max.bytes=500"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := broker.DescribeTopic(map[string]string{"max.message.bytes": "900"})
	if len(entries) != len(topicDefinitions) {
		t.Fatalf("%d entries", len(entries))
	}
	retention := findEntry(t, entries, "retention.ms")
	wantRetention := []Synonym{
		{Name: "log.retention.hours", Value: stringPointer("1"), Source: kmsg.ConfigSourceStaticBrokerConfig},
		{Name: "log.retention.hours", Value: stringPointer("168"), Source: kmsg.ConfigSourceDefaultConfig},
	}
	if *retention.Value != "3600000" || retention.Source != kmsg.ConfigSourceStaticBrokerConfig || !reflect.DeepEqual(retention.Synonyms, wantRetention) {
		t.Fatalf("retention.ms = %+v %+v", retention, retention.Synonyms)
	}
	maxBytes := findEntry(t, entries, "max.message.bytes")
	if *maxBytes.Value != "900" || maxBytes.Source != kmsg.ConfigSourceDynamicTopicConfig || len(maxBytes.Synonyms) != 3 {
		t.Fatalf("max.message.bytes = %+v", maxBytes)
	}
	segment := findEntry(t, entries, "segment.bytes")
	if *segment.Value != "1073741824" || segment.Source != kmsg.ConfigSourceDefaultConfig || !segment.IsDefault {
		t.Fatalf("segment.bytes = %+v", segment)
	}
}

func TestApplyIncremental(t *testing.T) {
	current := map[string]string{"retention.ms": "5", "cleanup.policy": "delete"}
	result, err := ApplyIncremental(current, []AlterOp{
		{Name: "retention.ms", Op: OpDelete},
		{Name: "segment.bytes", Op: OpSet, Value: "1000"},
		{Name: "cleanup.policy", Op: OpAppend, Value: "compact,delete"},
		{Name: "leader.replication.throttled.replicas", Op: OpAppend, Value: "0:1"},
		{Name: "cleanup.policy", Op: OpSubtract, Value: "delete"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"segment.bytes": "1000", "cleanup.policy": "compact", "leader.replication.throttled.replicas": "0:1"}
	if !reflect.DeepEqual(result, want) {
		t.Fatalf("result = %v", result)
	}
	if current["retention.ms"] != "5" {
		t.Fatal("current was modified")
	}
	if _, err := ApplyIncremental(nil, []AlterOp{{Name: "retention.ms", Op: OpAppend, Value: "1"}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("append to non-list: %v", err)
	}
	if _, err := ApplyIncremental(nil, []AlterOp{{Name: "nope", Op: OpSet, Value: "1"}}); !errors.Is(err, ErrUnknownConfig) {
		t.Fatalf("unknown: %v", err)
	}
}

func FuzzParseProperties(f *testing.F) {
	f.Add("a=b\\\n c\n#x\n\\u0041:\\t")
	f.Add("\\")
	f.Add("k\\u")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = ParseProperties(text)
	})
}

func TestUnknownEnvIgnoredAndReported(t *testing.T) {
	env := []string{"SAMSA_BOGUS=1", "SAMSA_NUM_PARTITIONS=4", "HOME=/root"}
	b, err := Load("", nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if b.NumPartitions != 4 {
		t.Fatalf("num.partitions = %d, want 4 from SAMSA_NUM_PARTITIONS", b.NumPartitions)
	}
	if got := IgnoredEnv(env); len(got) != 1 || got[0] != "SAMSA_BOGUS" {
		t.Fatalf("IgnoredEnv = %q, want [SAMSA_BOGUS]", got)
	}
}
