package server_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

func TestCreateTopicsErrors(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	createTopic(t, c, "twice", 1, nil)
	cases := []struct {
		name string
		req  *kmsg.CreateTopicsRequest
		want int16
	}{
		{"exists", createTopicsRequest("twice", 1, nil, false), kerr.TopicAlreadyExists.Code},
		{"exists, validate only", createTopicsRequest("twice", 1, nil, true), kerr.TopicAlreadyExists.Code},
		{"bad config value", createTopicsRequest("badvalue", 1, map[string]string{"retention.ms": "soon"}, false), kerr.InvalidConfig.Code},
		{"unknown config", createTopicsRequest("unknownconfig", 1, map[string]string{"no.such.config": "1"}, false), kerr.InvalidConfig.Code},
		{"invalid name", createTopicsRequest("bad/name", 1, nil, false), kerr.InvalidTopicException.Code},
		{"validate only", createTopicsRequest("dryrun", 3, nil, true), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.roundTrip(tc.req).(*kmsg.CreateTopicsResponse)
			got := resp.Topics[0]
			if got.Topic != tc.req.Topics[0].Topic || got.ErrorCode != tc.want {
				t.Fatalf("%s: error %d, want %d (message %v)", got.Topic, got.ErrorCode, tc.want, deref(got.ErrorMessage))
			}
			if tc.want == 0 && got.NumPartitions != 3 {
				t.Fatalf("validate only: %d partitions, want 3", got.NumPartitions)
			}
		})
	}
	for _, name := range []string{"badvalue", "unknownconfig", "dryrun"} {
		if topicExists(t, c, name) {
			t.Errorf("topic %s exists, want it not created", name)
		}
	}
}

func TestMetadataInvalidTopicName(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	for _, version := range []int16{1, 4, 12} {
		resp := c.roundTrip(metadataRequest(version, true, "bad/name")).(*kmsg.MetadataResponse)
		if got := resp.Topics[0]; deref(got.Topic) != "bad/name" || got.ErrorCode != kerr.InvalidTopicException.Code {
			t.Fatalf("v%d: %s error %d, want %d", version, deref(got.Topic), got.ErrorCode, kerr.InvalidTopicException.Code)
		}
	}
}

// TestMetadataAutoCreate: v0-v3 always auto-create (when the broker
// allows it); v4+ only with allow_auto_topic_creation.
func TestMetadataAutoCreate(t *testing.T) {
	b := testutil.StartBroker(t)
	c := dial(t, b.Addr)
	cases := []struct {
		version int16
		allow   bool
		created bool
	}{
		{0, false, true},
		{1, false, true},
		{4, false, false},
		{4, true, true},
		{12, false, false},
		{12, true, true},
	}
	for i, tc := range cases {
		name := "auto-" + string(rune('a'+i))
		resp := c.roundTrip(metadataRequest(tc.version, tc.allow, name)).(*kmsg.MetadataResponse)
		got := resp.Topics[0]
		// The request that creates a topic gets LEADER_NOT_AVAILABLE, as
		// from Kafka; the next one sees its partitions.
		want := kerr.UnknownTopicOrPartition.Code
		if tc.created {
			want = kerr.LeaderNotAvailable.Code
		}
		if deref(got.Topic) != name || got.ErrorCode != want {
			t.Fatalf("v%d allow=%v: %s error %d, want %d", tc.version, tc.allow, deref(got.Topic), got.ErrorCode, want)
		}
		if tc.created {
			again := c.roundTrip(metadataRequest(tc.version, tc.allow, name)).(*kmsg.MetadataResponse).Topics[0]
			if again.ErrorCode != 0 || len(again.Partitions) != 1 || again.Partitions[0].Leader != 1 {
				t.Fatalf("v%d: auto-created topic on the next request: error %d partitions %+v, want one led by node 1", tc.version, again.ErrorCode, again.Partitions)
			}
		}
		if exists := topicExists(t, c, name); exists != tc.created {
			t.Fatalf("v%d allow=%v: topic exists = %v, want %v", tc.version, tc.allow, exists, tc.created)
		}
	}
}

func TestMetadataAutoCreateDisabled(t *testing.T) {
	b := testutil.StartBroker(t, "auto.create.topics.enable=false")
	c := dial(t, b.Addr)
	for _, version := range []int16{0, 4} {
		resp := c.roundTrip(metadataRequest(version, true, "never")).(*kmsg.MetadataResponse)
		if code := resp.Topics[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("v%d: error %d, want %d", version, code, kerr.UnknownTopicOrPartition.Code)
		}
	}
	if topicExists(t, c, "never") {
		t.Fatal("topic created with auto.create.topics.enable=false")
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
