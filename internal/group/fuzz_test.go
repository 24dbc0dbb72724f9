package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// FuzzReplay feeds arbitrary key/value bytes to Replay, then exercises the
// loaded state: nothing may panic.
func FuzzReplay(f *testing.F) {
	okv := kmsg.NewOffsetCommitValue()
	okv.Version, okv.Offset, okv.Metadata = 3, 42, "meta"
	gv := kmsg.NewGroupMetadataValue()
	gv.Version, gv.ProtocolType, gv.Generation = 3, "consumer", 4
	protocol, leader, instance := "range", "m1", "i1"
	gv.Protocol, gv.Leader = &protocol, &leader
	member := kmsg.NewGroupMetadataValueMember()
	member.MemberID, member.InstanceID, member.SessionTimeoutMillis = "m1", &instance, 10000
	member.Subscription, member.Assignment = subscription("t"), []byte("a")
	gv.Members = append(gv.Members, member)
	f.Add(offsetKey("g", topicPartition{"t", 0}), okv.AppendTo(nil), false)
	f.Add(offsetKey("g", topicPartition{"t", 0}), []byte(nil), true)
	f.Add(groupKey("g"), gv.AppendTo(nil), false)
	f.Add(groupKey("g"), []byte(nil), true)
	f.Add([]byte{0, 2, 0xff, 0xff}, []byte{0, 3, 0, 0, 0, 8}, false)
	f.Add([]byte{0, 9, 1, 2}, []byte{1}, false)
	f.Add([]byte{}, []byte{}, false)
	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		h := newHarness(t)
		if tombstone {
			value = nil
		}
		// Load a known group first so tombstones and overwrites hit state.
		_ = h.shard.Replay(coordinator.Record{Key: groupKey("g"), Value: gv.AppendTo(nil)})
		_ = h.shard.Replay(coordinator.Record{Key: key, Value: value})
		h.shard.Loaded(h.loop)
		for _, g := range h.shard.ListGroups(nil, nil) {
			h.shard.DescribeGroup(h.loop, g.Group, true)
			h.shard.OffsetFetch(h.loop, RequestInfo{}, g.Group, nil, false)
			h.heartbeat(g.Group, "m1", 4)
			h.join(joinSpec{group: g.Group})
		}
		h.loop.advance(OffsetsRetentionCheckInterval)
		h.shard.ExpireOffsets(h.loop)
		h.loop.flush()
	})
}
