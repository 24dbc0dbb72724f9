package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// sortedMembers returns the members in join order.
func (g *group) sortedMembers() []*member {
	out := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].joinSeq < out[j].joinSeq })
	return out
}

// awaitingJoin counts the members with a pending JoinGroup.
func (g *group) awaitingJoin() int {
	n := 0
	for _, m := range g.members {
		if m.joinWaiter != nil {
			n++
		}
	}
	return n
}

// supportCount counts the members that support protocol name.
func (g *group) supportCount(name string) int {
	n := 0
	for _, m := range g.members {
		if m.hasProtocol(name) {
			n++
		}
	}
	return n
}

func (m *member) hasProtocol(name string) bool {
	for _, p := range m.protocols {
		if p.name == name {
			return true
		}
	}
	return false
}

// supportsProtocols reports whether a member with protocolType and
// protocols may join: the first one names a type and protocols, later ones
// match the type and share a protocol with every member.
func (g *group) supportsProtocols(protocolType string, protocols []protocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supportCount(p.name) == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol picks, among the protocols every member supports, the one
// with the most votes, each member voting for its most preferred one; ties
// go to the earliest joined member's preference.
func (g *group) selectProtocol() string {
	members := g.sortedMembers()
	if len(members) == 0 {
		return ""
	}
	var candidates []string
	for _, p := range members[0].protocols {
		if g.supportCount(p.name) == len(members) {
			candidates = append(candidates, p.name)
		}
	}
	votes := make(map[string]int, len(candidates))
	for _, m := range members {
		for _, p := range m.protocols {
			if contains(candidates, p.name) {
				votes[p.name]++
				break
			}
		}
	}
	best := ""
	for _, name := range candidates {
		if best == "" || votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// electJoinedLeader keeps the leader if it rejoined, else elects the first
// member that did; false when nobody rejoined.
func (g *group) electJoinedLeader() bool {
	if m := g.members[g.leader]; m != nil && m.joinWaiter != nil {
		return true
	}
	for _, m := range g.sortedMembers() {
		if m.joinWaiter != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

// computeSubscribed parses the consumer members' subscriptions; nil when
// the group is not a consumer group or a subscription does not parse.
func (g *group) computeSubscribed() {
	g.subscribed = nil
	if g.protocolType != "consumer" || g.protocol == "" {
		return
	}
	topics := make(map[string]bool)
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	g.subscribed = topics
}

// validateMember checks a member id against the group, and the instance
// id against the member it maps to.
func (g *group) validateMember(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		current, ok := g.instances[*instanceID]
		if !ok {
			return codeUnknownMemberID
		}
		if current != memberID {
			return codeFencedInstanceID
		}
		return codeNone
	}
	if g.members[memberID] == nil {
		return codeUnknownMemberID
	}
	return codeNone
}

// resetAssignments clears the assignments and fails pending syncs.
func (s *Shard) resetAssignments(g *group, code int16) {
	for _, m := range g.sortedMembers() {
		m.assignment = nil
		if m.syncWaiter != nil {
			waiter := m.syncWaiter
			m.syncWaiter = nil
			waiter(syncResult{code: code})
		}
	}
}

// answerRemoved fails the requests a removed member is waiting on.
func (s *Shard) answerRemoved(m *member) {
	if m.joinWaiter != nil {
		waiter := m.joinWaiter
		m.joinWaiter = nil
		waiter(errorJoin("", codeUnknownMemberID))
	}
	if m.syncWaiter != nil {
		waiter := m.syncWaiter
		m.syncWaiter = nil
		waiter(syncResult{code: codeUnknownMemberID})
	}
}

// dropMember takes m out of the group without rebalancing.
func (s *Shard) dropMember(ctx coordinator.Context, g *group, m *member) {
	delete(g.members, m.id)
	if m.instanceID != nil && g.instances[*m.instanceID] == m.id {
		delete(g.instances, *m.instanceID)
	}
	delete(g.pendingSync, m.id)
	ctx.Cancel(heartbeatKey(g.id, m.id))
	if g.leader == m.id {
		g.leader = ""
		if members := g.sortedMembers(); len(members) > 0 {
			g.leader = members[0].id
		}
	}
}

// removeMember removes m (left, expired or fenced out) and rebalances.
func (s *Shard) removeMember(ctx coordinator.Context, g *group, m *member) {
	s.answerRemoved(m)
	s.dropMember(ctx, g, m)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		s.maybePrepareRebalance(ctx, g)
	case statePreparingRebalance:
		s.tryCompleteJoin(ctx, g)
	}
}

// schedule arms a timer whose callback is skipped once the shard closed.
func (s *Shard) schedule(ctx coordinator.Context, key string, d time.Duration, fn func(coordinator.Context)) {
	ctx.Schedule(key, d, func(c coordinator.Context) {
		if !s.closed {
			fn(c)
		}
	})
}

// scheduleHeartbeat (re)arms m's session timer.
func (s *Shard) scheduleHeartbeat(ctx coordinator.Context, g *group, m *member, d time.Duration) {
	if d <= 0 {
		d = s.cfg.MinSessionTimeout
	}
	id := m.id
	s.schedule(ctx, heartbeatKey(g.id, id), d, func(c coordinator.Context) {
		if s.groups[g.id] == g && g.members[id] == m {
			s.sessionExpired(c, g, m)
		}
	})
}

// sessionExpired removes m unless it waits in a join or sync (then it is
// alive; a new member waits in a join at most NewMemberJoinTimeout).
func (s *Shard) sessionExpired(ctx coordinator.Context, g *group, m *member) {
	if (m.joinWaiter != nil && !m.isNew) || m.syncWaiter != nil {
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		return
	}
	s.removeMember(ctx, g, m)
}

// dropIfUnused forgets a group that holds nothing (never written).
func (s *Shard) dropIfUnused(g *group) {
	if s.groups[g.id] == g && g.unused() {
		delete(s.groups, g.id)
	}
}

// forgetGroup removes a deleted group and its timers.
func (s *Shard) forgetGroup(ctx coordinator.Context, g *group) {
	if s.groups[g.id] != g {
		return
	}
	delete(s.groups, g.id)
	ctx.Cancel(joinKey(g.id))
	ctx.Cancel(syncKey(g.id))
	for id := range g.pending {
		ctx.Cancel(heartbeatKey(g.id, id))
	}
	for id := range g.members {
		ctx.Cancel(heartbeatKey(g.id, id))
	}
}
