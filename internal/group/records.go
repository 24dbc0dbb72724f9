package group

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// Key versions of __consumer_offsets records.
const (
	keyVersionOffsetCommitV0 = 0
	keyVersionOffsetCommit   = 1
	keyVersionGroupMetadata  = 2
)

func offsetKey(groupID string, tp topicPartition) []byte {
	key := kmsg.NewOffsetCommitKey()
	key.Version = keyVersionOffsetCommit
	key.Group, key.Topic, key.Partition = groupID, tp.topic, tp.partition
	return key.AppendTo(nil)
}

// offsetValue encodes o: version 3, or 1 when it has an expire timestamp.
func offsetValue(o offset) []byte {
	value := kmsg.NewOffsetCommitValue()
	value.Version = 3
	if o.expireTimestamp >= 0 {
		value.Version = 1
		value.ExpireTimestamp = o.expireTimestamp
	}
	value.Offset, value.LeaderEpoch = o.offset, o.leaderEpoch
	value.Metadata, value.CommitTimestamp = o.metadata, o.commitTimestamp
	return value.AppendTo(nil)
}

func offsetRecord(groupID string, tp topicPartition, o offset) coordinator.Record {
	return coordinator.Record{Key: offsetKey(groupID, tp), Value: offsetValue(o)}
}

func offsetTombstone(groupID string, tp topicPartition) coordinator.Record {
	return coordinator.Record{Key: offsetKey(groupID, tp)}
}

func groupKey(groupID string) []byte {
	key := kmsg.NewGroupMetadataKey()
	key.Version = keyVersionGroupMetadata
	key.Group = groupID
	return key.AppendTo(nil)
}

func groupTombstone(groupID string) coordinator.Record {
	return coordinator.Record{Key: groupKey(groupID)}
}

// groupValue encodes g (version 3); assignments, when non-nil, replace the
// members' current ones.
func groupValue(g *group, assignments map[string][]byte) []byte {
	value := kmsg.NewGroupMetadataValue()
	value.Version = 3
	value.ProtocolType = g.protocolType
	value.Generation = g.generation
	if g.protocol != "" {
		protocol := g.protocol
		value.Protocol = &protocol
	}
	if g.leader != "" && len(g.members) > 0 {
		leader := g.leader
		value.Leader = &leader
	}
	value.CurrentStateTimestamp = g.stateTimestamp
	for _, m := range g.sortedMembers() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID = m.id, m.instanceID
		vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		if assignments != nil {
			vm.Assignment = assignments[m.id]
		}
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		value.Members = append(value.Members, vm)
	}
	return value.AppendTo(nil)
}

// storeGroup writes g's metadata record; after runs once it is durable or
// failed.
func (s *Shard) storeGroup(ctx coordinator.Context, g *group, assignments map[string][]byte, after func(error)) {
	record := coordinator.Record{Key: groupKey(g.id), Value: groupValue(g, assignments)}
	ctx.Write([]coordinator.Record{record}, func(err error) {
		if s.closed {
			return // pending requests were answered by Close
		}
		if err == nil && s.groups[g.id] == g {
			g.stored = true
		}
		after(err)
	})
}

// Replay applies one record of the partition while loading, in log order.
// Records of types this coordinator does not know (newer key versions) are
// skipped; a known record that does not decode is ErrInvalidRecord.
func (s *Shard) Replay(r coordinator.Record) error {
	if len(r.Key) < 2 {
		return fmt.Errorf("%w: key of %d bytes", ErrInvalidRecord, len(r.Key))
	}
	switch binary.BigEndian.Uint16(r.Key) {
	case keyVersionOffsetCommitV0, keyVersionOffsetCommit:
		return s.replayOffset(r)
	case keyVersionGroupMetadata:
		return s.replayGroup(r)
	default:
		return nil
	}
}

func (s *Shard) replayOffset(r coordinator.Record) error {
	var key kmsg.OffsetCommitKey
	if err := key.ReadFrom(r.Key); err != nil {
		return fmt.Errorf("%w: offset commit key: %v", ErrInvalidRecord, err)
	}
	tp := topicPartition{topic: key.Topic, partition: key.Partition}
	if r.Value == nil {
		if g := s.groups[key.Group]; g != nil {
			delete(g.offsets, tp)
			s.dropIfUnused(g)
		}
		return nil
	}
	var value kmsg.OffsetCommitValue
	if err := value.ReadFrom(r.Value); err != nil || value.Version < 0 || value.Version > 4 {
		return fmt.Errorf("%w: offset commit value of %s: %v", ErrInvalidRecord, key.Group, err)
	}
	o := offset{
		offset: value.Offset, leaderEpoch: -1, metadata: value.Metadata,
		commitTimestamp: value.CommitTimestamp, expireTimestamp: -1,
	}
	if value.Version >= 3 {
		o.leaderEpoch = value.LeaderEpoch
	}
	if value.Version == 1 {
		o.expireTimestamp = value.ExpireTimestamp
	}
	s.groupOrCreate(key.Group, -1).offsets[tp] = o
	return nil
}

func (s *Shard) replayGroup(r coordinator.Record) error {
	var key kmsg.GroupMetadataKey
	if err := key.ReadFrom(r.Key); err != nil {
		return fmt.Errorf("%w: group metadata key: %v", ErrInvalidRecord, err)
	}
	if r.Value == nil {
		if g := s.groups[key.Group]; g != nil {
			offsets := g.offsets
			fresh := s.resetGroup(key.Group)
			fresh.offsets = offsets
			s.dropIfUnused(fresh)
		}
		return nil
	}
	var value kmsg.GroupMetadataValue
	if err := value.ReadFrom(r.Value); err != nil || value.Version < 0 || value.Version > 4 {
		return fmt.Errorf("%w: group metadata value of %s: %v", ErrInvalidRecord, key.Group, err)
	}
	s.loadGroup(key.Group, &value)
	return nil
}

// groupOrCreate returns the group, creating an Empty one (stateTimestamp
// ms, -1 when unknown).
func (s *Shard) groupOrCreate(id string, stateTimestamp int64) *group {
	g := s.groups[id]
	if g == nil {
		g = newGroup(id, stateTimestamp)
		s.groups[id] = g
	}
	return g
}

// resetGroup replaces the group by a fresh Empty one with no state.
func (s *Shard) resetGroup(id string) *group {
	g := newGroup(id, -1)
	s.groups[id] = g
	return g
}

// loadGroup rebuilds a group from its metadata record: Stable with the
// recorded members, or Empty.
func (s *Shard) loadGroup(id string, value *kmsg.GroupMetadataValue) {
	var offsets map[topicPartition]offset
	if old := s.groups[id]; old != nil {
		offsets = old.offsets
	}
	g := s.resetGroup(id)
	if offsets != nil {
		g.offsets = offsets
	}
	g.stored = true
	g.protocolType = value.ProtocolType
	g.generation = value.Generation
	if value.Protocol != nil {
		g.protocol = *value.Protocol
	}
	if value.Version >= 2 {
		g.stateTimestamp = value.CurrentStateTimestamp
	}
	for _, vm := range value.Members {
		g.joinSeq++
		m := &member{
			id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			sessionTimeout: millis(vm.SessionTimeoutMillis), rebalanceTimeout: millis(vm.RebalanceTimeoutMillis),
			protocolType: g.protocolType, protocols: []protocol{{name: g.protocol, metadata: vm.Subscription}},
			assignment: vm.Assignment, joinSeq: g.joinSeq,
		}
		if value.Version < 1 || m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		if old := g.members[m.id]; old != nil {
			m.joinSeq = old.joinSeq
		}
		g.members[m.id] = m
		if m.instanceID != nil {
			g.instances[*m.instanceID] = m.id
		}
	}
	if value.Leader != nil && g.members[*value.Leader] != nil {
		g.leader = *value.Leader
	} else if members := g.sortedMembers(); len(members) > 0 {
		g.leader = members[0].id
	}
	if len(g.members) > 0 {
		g.state = stateStable
	}
	g.computeSubscribed()
}

// Loaded ends the replay: session timers of the loaded members and the
// periodic offset expiry are armed.
func (s *Shard) Loaded(ctx coordinator.Context) {
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g := s.groups[id]
		for _, m := range g.sortedMembers() {
			s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		}
	}
	s.scheduleExpiry(ctx)
}
