package group

import (
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// DescribeGroup answers DescribeGroups v0-5 for one group. An unknown group
// is Dead with no error (Kafka). Member metadata and assignments are shown
// only when the group is Stable.
func (s *Shard) DescribeGroup(ctx coordinator.Context, groupID string, includeAuthorizedOps bool) kmsg.DescribeGroupsResponseGroup {
	res := kmsg.NewDescribeGroupsResponseGroup()
	res.Group = groupID
	res.Members = []kmsg.DescribeGroupsResponseGroupMember{}
	if includeAuthorizedOps {
		res.AuthorizedOperations = groupAuthorizedOperations
	}
	if s.closed {
		res.ErrorCode = codeNotCoordinator
		return res
	}
	g := s.groups[groupID]
	if g == nil {
		res.State = stateDead.String()
		return res
	}
	res.State = g.state.String()
	res.ProtocolType = g.protocolType
	stable := g.state == stateStable
	if stable {
		res.Protocol = g.protocol
	}
	for _, m := range g.sortedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID = m.id, m.instanceID
		dm.ClientID, dm.ClientHost = m.clientID, m.clientHost
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			dm.ProtocolMetadata = nonNil(m.metadataFor(g.protocol))
			dm.MemberAssignment = nonNil(m.assignment)
		}
		res.Members = append(res.Members, dm)
	}
	return res
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ListGroups lists the live groups, filtered by state (v4+) and type (v5+,
// "classic" for every group here); filters match case-insensitively.
func (s *Shard) ListGroups(statesFilter []string, typesFilter []string) []kmsg.ListGroupsResponseGroup {
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []kmsg.ListGroupsResponseGroup{}
	for _, id := range ids {
		g := s.groups[id]
		if g.state == stateDead || !matchesFilter(statesFilter, g.state.String()) || !matchesFilter(typesFilter, "classic") {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType = id, g.protocolType
		lg.GroupState, lg.GroupType = g.state.String(), "classic"
		out = append(out, lg)
	}
	return out
}

func matchesFilter(filter []string, value string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if strings.EqualFold(f, value) {
			return true
		}
	}
	return false
}

// DeleteGroup deletes an Empty group: tombstones for its offsets and its
// metadata, answered once durable (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND).
func (s *Shard) DeleteGroup(ctx coordinator.Context, groupID string, respond func(errorCode int16)) {
	g := s.groups[groupID]
	switch {
	case s.closed:
		respond(codeNotCoordinator)
		return
	case g == nil || g.state == stateDead:
		respond(codeGroupIDNotFound)
		return
	case g.state != stateEmpty:
		respond(codeNonEmptyGroup)
		return
	}
	var records []coordinator.Record
	for _, tp := range sortedPartitions(g.offsets) {
		records = append(records, offsetTombstone(g.id, tp))
	}
	records = append(records, groupTombstone(g.id))
	oldTimestamp := g.stateTimestamp
	g.transition(stateDead, ctx.Now())
	ctx.Write(records, func(err error) {
		if err != nil {
			if g.state == stateDead {
				g.state, g.stateTimestamp = stateEmpty, oldTimestamp
			}
			respond(writeErrorCode(err))
			return
		}
		s.forgetGroup(ctx, g)
		respond(codeNone)
	})
}

// Close is the loss of leadership: pending joins and syncs fail with
// NOT_COORDINATOR, and every later call or timer is refused.
func (s *Shard) Close() {
	s.closed = true
	for _, g := range s.groups {
		for _, m := range g.sortedMembers() {
			if m.joinWaiter != nil {
				waiter := m.joinWaiter
				m.joinWaiter = nil
				waiter(errorJoin(m.id, codeNotCoordinator))
			}
			if m.syncWaiter != nil {
				waiter := m.syncWaiter
				m.syncWaiter = nil
				waiter(syncResult{code: codeNotCoordinator})
			}
		}
	}
}
