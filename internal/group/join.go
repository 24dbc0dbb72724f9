package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// joinResult is the outcome of a JoinGroup, independent of the version.
type joinResult struct {
	code           int16
	memberID       string
	generation     int32
	protocolType   string // "" when none
	protocol       string // "" when none
	leader         string
	members        []kmsg.JoinGroupResponseMember
	skipAssignment bool
}

// errorJoin is Kafka's error-only JoinGroup result.
func errorJoin(memberID string, code int16) *joinResult {
	return &joinResult{code: code, memberID: memberID, generation: -1}
}

func (r *joinResult) response(version int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.ErrorCode = r.code
	resp.Generation = r.generation
	resp.MemberID = r.memberID
	resp.LeaderID = r.leader
	resp.SkipAssignment = r.skipAssignment
	resp.Members = r.members
	if resp.Members == nil {
		resp.Members = []kmsg.JoinGroupResponseMember{}
	}
	if r.protocolType != "" {
		protocolType := r.protocolType
		resp.ProtocolType = &protocolType
	}
	// v7+ protocol is nullable; before, "" means none.
	if r.protocol != "" || version < 7 {
		protocol := r.protocol
		resp.Protocol = &protocol
	}
	return resp
}

// joinRequest is a validated JoinGroup.
type joinRequest struct {
	version          int16
	memberID         string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []protocol
}

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// JoinGroup handles JoinGroup v0-9; respond is called once, now or later.
func (s *Shard) JoinGroup(ctx coordinator.Context, info RequestInfo, req *kmsg.JoinGroupRequest, respond func(*kmsg.JoinGroupResponse)) {
	reply := func(r *joinResult) { respond(r.response(req.Version)) }
	if code := s.checkJoin(req); code != codeNone {
		reply(errorJoin(req.MemberID, code))
		return
	}
	j := &joinRequest{
		version: req.Version, memberID: req.MemberID, instanceID: req.InstanceID,
		clientID: info.ClientID, clientHost: info.ClientHost,
		sessionTimeout: millis(req.SessionTimeoutMillis), rebalanceTimeout: millis(req.RebalanceTimeoutMillis),
		protocolType: req.ProtocolType,
	}
	if req.Version == 0 || req.RebalanceTimeoutMillis <= 0 {
		j.rebalanceTimeout = j.sessionTimeout
	}
	for _, p := range req.Protocols {
		j.protocols = append(j.protocols, protocol{name: p.Name, metadata: p.Metadata})
	}
	g := s.groups[req.Group]
	if g == nil {
		if req.MemberID != "" {
			reply(errorJoin(req.MemberID, codeUnknownMemberID))
			return
		}
		g = newGroup(req.Group, ctx.Now().UnixMilli())
		s.groups[req.Group] = g
	}
	defer s.dropIfUnused(g)
	if !s.acceptJoiningMember(g, req.MemberID) {
		if m := g.members[req.MemberID]; m != nil {
			s.removeMember(ctx, g, m)
		}
		reply(errorJoin("", codeGroupMaxSizeReached))
		return
	}
	if req.MemberID == "" {
		s.joinNewMember(ctx, g, j, reply)
	} else {
		s.joinCurrentMember(ctx, g, j, reply)
	}
	s.tryCompleteJoin(ctx, g)
}

// checkJoin validates what does not need the group.
func (s *Shard) checkJoin(req *kmsg.JoinGroupRequest) int16 {
	if s.closed {
		return codeNotCoordinator
	}
	if req.Group == "" {
		return codeInvalidGroupID
	}
	session := millis(req.SessionTimeoutMillis)
	if session < s.cfg.MinSessionTimeout || session > s.cfg.MaxSessionTimeout {
		return codeInvalidSessionTimeout
	}
	size := 0
	for _, p := range req.Protocols {
		size += len(p.Metadata)
	}
	if size > s.cfg.MaxMetadataBytes {
		return codeInvalidRequest
	}
	return codeNone
}

// acceptJoiningMember is Kafka's group.max.size check; new members are
// also refused while MaxSize members wait for their MEMBER_ID_REQUIRED
// rejoin, which bounds a join storm.
func (s *Shard) acceptJoiningMember(g *group, memberID string) bool {
	if memberID == "" && len(g.pending) >= s.cfg.MaxSize {
		return false
	}
	m := g.members[memberID]
	switch g.state {
	case stateEmpty, stateDead:
		return true
	case statePreparingRebalance:
		return (m != nil && m.joinWaiter != nil) || g.awaitingJoin() < s.cfg.MaxSize
	default:
		return m != nil || len(g.members) < s.cfg.MaxSize
	}
}

func (s *Shard) joinNewMember(ctx coordinator.Context, g *group, j *joinRequest, reply func(*joinResult)) {
	if g.state == stateDead {
		reply(errorJoin("", codeCoordinatorNotAvailable))
		return
	}
	if !g.supportsProtocols(j.protocolType, j.protocols) {
		reply(errorJoin("", codeInconsistentGroupProtocol))
		return
	}
	if j.instanceID != nil {
		newID := newMemberID(*j.instanceID)
		if oldID, ok := g.instances[*j.instanceID]; ok {
			s.rejoinStaticMember(ctx, g, g.members[oldID], newID, j, reply)
			return
		}
		s.addMember(ctx, g, newID, j, reply)
		return
	}
	newID := newMemberID(j.clientID)
	if j.version >= 4 {
		g.pending[newID] = true
		s.schedule(ctx, heartbeatKey(g.id, newID), j.sessionTimeout, func(c coordinator.Context) {
			s.expirePending(c, g, newID)
		})
		reply(errorJoin(newID, codeMemberIDRequired))
		return
	}
	s.addMember(ctx, g, newID, j, reply)
}

func (s *Shard) joinCurrentMember(ctx coordinator.Context, g *group, j *joinRequest, reply func(*joinResult)) {
	if g.state == stateDead {
		reply(errorJoin(j.memberID, codeCoordinatorNotAvailable))
		return
	}
	if !g.supportsProtocols(j.protocolType, j.protocols) {
		reply(errorJoin(j.memberID, codeInconsistentGroupProtocol))
		return
	}
	if g.pending[j.memberID] && j.instanceID == nil {
		ctx.Cancel(heartbeatKey(g.id, j.memberID))
		s.addMember(ctx, g, j.memberID, j, reply)
		return
	}
	if code := g.validateMember(j.memberID, j.instanceID); code != codeNone {
		reply(errorJoin(j.memberID, code))
		return
	}
	m := g.members[j.memberID]
	switch g.state {
	case statePreparingRebalance:
		s.updateMemberAndRebalance(ctx, g, m, j, reply)
	case stateCompletingRebalance:
		if !m.matches(j.protocols) {
			s.updateMemberAndRebalance(ctx, g, m, j, reply)
			return
		}
		// A lost JoinGroup response: answer with the current generation.
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		reply(g.currentJoinResult(m, g.leader == m.id))
	case stateStable:
		if g.leader == m.id || !m.matches(j.protocols) {
			s.updateMemberAndRebalance(ctx, g, m, j, reply)
			return
		}
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		reply(g.currentJoinResult(m, false))
	default:
		reply(errorJoin(j.memberID, codeUnknownMemberID))
	}
}

// currentJoinResult is the current generation as seen by m; the leader's
// carries every member's metadata.
func (g *group) currentJoinResult(m *member, withMembers bool) *joinResult {
	r := &joinResult{
		memberID: m.id, generation: g.generation, protocolType: g.protocolType,
		protocol: g.protocol, leader: g.leader,
	}
	if withMembers {
		r.members = g.joinMembers()
	}
	return r
}

// joinMembers lists the members with their metadata of the selected protocol.
func (g *group) joinMembers() []kmsg.JoinGroupResponseMember {
	var out []kmsg.JoinGroupResponseMember
	for _, m := range g.sortedMembers() {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.InstanceID = m.instanceID
		jm.ProtocolMetadata = m.metadataFor(g.protocol)
		out = append(out, jm)
	}
	return out
}

// addMember adds a member awaiting its join response and rebalances.
func (s *Shard) addMember(ctx coordinator.Context, g *group, id string, j *joinRequest, reply func(*joinResult)) {
	m := &member{
		id: id, instanceID: j.instanceID, clientID: j.clientID, clientHost: j.clientHost,
		sessionTimeout: j.sessionTimeout, rebalanceTimeout: j.rebalanceTimeout,
		protocolType: j.protocolType, protocols: j.protocols, isNew: true, joinWaiter: reply,
	}
	if g.state == statePreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	if len(g.members) == 0 {
		g.protocolType = j.protocolType
	}
	g.joinSeq++
	m.joinSeq = g.joinSeq
	g.members[id] = m
	if g.leader == "" {
		g.leader = id
	}
	if m.instanceID != nil {
		g.instances[*m.instanceID] = id
	}
	delete(g.pending, id)
	s.scheduleHeartbeat(ctx, g, m, NewMemberJoinTimeout)
	s.maybePrepareRebalance(ctx, g)
}

// updateMemberAndRebalance records a rejoin of an existing member.
func (s *Shard) updateMemberAndRebalance(ctx coordinator.Context, g *group, m *member, j *joinRequest, reply func(*joinResult)) {
	m.protocols = j.protocols
	m.rebalanceTimeout = j.rebalanceTimeout
	m.sessionTimeout = j.sessionTimeout
	if m.joinWaiter != nil {
		m.joinWaiter(errorJoin(m.id, codeRebalanceInProgress))
	}
	m.joinWaiter = reply
	s.maybePrepareRebalance(ctx, g)
}

// rejoinStaticMember replaces the member id of a known group.instance.id
// (KIP-345): the old id is fenced; a Stable group whose protocol does not
// change keeps its assignment without a rebalance.
func (s *Shard) rejoinStaticMember(ctx coordinator.Context, g *group, m *member, newID string, j *joinRequest, reply func(*joinResult)) {
	oldID, oldLeader := m.id, g.leader
	oldProtocols, oldRebalance, oldSession := m.protocols, m.rebalanceTimeout, m.sessionTimeout
	s.replaceMemberID(ctx, g, m, newID)
	m.protocols, m.rebalanceTimeout, m.sessionTimeout = j.protocols, j.rebalanceTimeout, j.sessionTimeout
	m.joinWaiter = reply
	s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
	switch g.state {
	case stateStable:
		if g.selectProtocol() != g.protocol {
			s.maybePrepareRebalance(ctx, g)
			return
		}
		s.storeGroup(ctx, g, nil, func(err error) {
			if s.groups[g.id] != g || g.members[newID] != m || m.joinWaiter == nil || g.state != stateStable {
				return
			}
			waiter := m.joinWaiter
			m.joinWaiter = nil
			if err != nil {
				m.protocols, m.rebalanceTimeout, m.sessionTimeout = oldProtocols, oldRebalance, oldSession
				s.replaceMemberID(ctx, g, m, oldID)
				s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
				r := g.currentJoinResult(m, false)
				r.code, r.memberID, r.leader = writeErrorCode(err), "", oldLeader
				waiter(r)
				return
			}
			isLeader := g.leader == newID
			r := g.currentJoinResult(m, false)
			if j.version >= 9 {
				// The leader learns it leads but skips the assignor.
				if isLeader {
					r.members = g.joinMembers()
				}
				r.skipAssignment = isLeader
			} else {
				// The old leader id keeps a rejoined leader from assigning.
				r.leader = oldLeader
			}
			waiter(r)
		})
	case stateCompletingRebalance:
		s.maybePrepareRebalance(ctx, g)
	}
}

// replaceMemberID renames m, fencing requests waiting under the old id.
func (s *Shard) replaceMemberID(ctx coordinator.Context, g *group, m *member, newID string) {
	oldID := m.id
	if m.joinWaiter != nil {
		waiter := m.joinWaiter
		m.joinWaiter = nil
		waiter(errorJoin(oldID, codeFencedInstanceID))
	}
	if m.syncWaiter != nil {
		waiter := m.syncWaiter
		m.syncWaiter = nil
		waiter(syncResult{code: codeFencedInstanceID})
	}
	ctx.Cancel(heartbeatKey(g.id, oldID))
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	if g.leader == oldID {
		g.leader = newID
	}
	if m.instanceID != nil {
		g.instances[*m.instanceID] = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
}

// maybePrepareRebalance starts a rebalance unless one is under way.
func (s *Shard) maybePrepareRebalance(ctx coordinator.Context, g *group) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		s.prepareRebalance(ctx, g)
	}
}

func (s *Shard) prepareRebalance(ctx coordinator.Context, g *group) {
	if g.state == stateCompletingRebalance {
		s.resetAssignments(g, codeRebalanceInProgress)
	}
	ctx.Cancel(syncKey(g.id))
	clear(g.pendingSync)
	g.syncWriting = false
	wasEmpty := g.state == stateEmpty
	g.transition(statePreparingRebalance, ctx.Now())
	if wasEmpty {
		delay := s.cfg.InitialRebalanceDelay
		s.scheduleInitialJoin(ctx, g, delay, max(g.rebalanceTimeout()-delay, 0))
		return
	}
	g.initialDelay = false
	s.schedule(ctx, joinKey(g.id), g.rebalanceTimeout(), func(c coordinator.Context) {
		if s.groups[g.id] == g && g.state == statePreparingRebalance {
			s.completeJoin(c, g)
		}
	})
	s.tryCompleteJoin(ctx, g)
}

// scheduleInitialJoin is Kafka's InitialDelayedJoin: the first rebalance
// of an empty group waits, and waits again (up to the rebalance timeout)
// while new members keep arriving.
func (s *Shard) scheduleInitialJoin(ctx coordinator.Context, g *group, delay, remaining time.Duration) {
	g.initialDelay = true
	s.schedule(ctx, joinKey(g.id), delay, func(c coordinator.Context) {
		if s.groups[g.id] != g || g.state != statePreparingRebalance {
			return
		}
		if g.newMemberAdded && remaining > 0 {
			g.newMemberAdded = false
			next := min(s.cfg.InitialRebalanceDelay, remaining)
			s.scheduleInitialJoin(c, g, next, max(remaining-delay, 0))
			return
		}
		s.completeJoin(c, g)
	})
}

// tryCompleteJoin ends the join phase early once every member rejoined.
func (s *Shard) tryCompleteJoin(ctx coordinator.Context, g *group) {
	if g.state != statePreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	if g.awaitingJoin() == len(g.members) {
		s.completeJoin(ctx, g)
	}
}

// completeJoin ends the join phase: dynamic members that did not rejoin
// are removed, the next generation starts and every waiting member gets
// its JoinGroup response.
func (s *Shard) completeJoin(ctx coordinator.Context, g *group) {
	ctx.Cancel(joinKey(g.id))
	g.initialDelay = false
	for _, m := range g.sortedMembers() {
		if m.joinWaiter == nil && m.instanceID == nil {
			s.dropMember(ctx, g, m)
		}
	}
	if len(g.members) > 0 && !g.electJoinedLeader() {
		// Nobody rejoined (static members only): wait for their sessions.
		s.schedule(ctx, joinKey(g.id), g.rebalanceTimeout(), func(c coordinator.Context) {
			if s.groups[g.id] == g && g.state == statePreparingRebalance {
				s.completeJoin(c, g)
			}
		})
		return
	}
	g.generation++
	now := ctx.Now()
	if len(g.members) == 0 {
		g.protocol = ""
		g.subscribed = nil
		g.transition(stateEmpty, now)
		s.storeGroup(ctx, g, nil, func(error) {})
		return
	}
	g.protocol = g.selectProtocol()
	g.computeSubscribed()
	g.transition(stateCompletingRebalance, now)
	members := g.joinMembers()
	for _, m := range g.sortedMembers() {
		g.pendingSync[m.id] = true
		m.isNew = false
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		if m.joinWaiter == nil {
			continue
		}
		r := g.currentJoinResult(m, false)
		if m.id == g.leader {
			r.members = members
		}
		waiter := m.joinWaiter
		m.joinWaiter = nil
		waiter(r)
	}
	generation := g.generation
	s.schedule(ctx, syncKey(g.id), g.rebalanceTimeout(), func(c coordinator.Context) {
		s.expirePendingSync(c, g, generation)
	})
}

// expirePendingSync removes the members that did not SyncGroup within the
// rebalance timeout of their generation, and rebalances.
func (s *Shard) expirePendingSync(ctx coordinator.Context, g *group, generation int32) {
	if s.groups[g.id] != g || g.generation != generation || len(g.pendingSync) == 0 {
		return
	}
	if g.state != stateCompletingRebalance && g.state != stateStable {
		return
	}
	for _, m := range g.sortedMembers() {
		if g.pendingSync[m.id] {
			s.answerRemoved(m)
			s.dropMember(ctx, g, m)
		}
	}
	s.prepareRebalance(ctx, g)
}

// expirePending forgets a MEMBER_ID_REQUIRED member that never rejoined.
func (s *Shard) expirePending(ctx coordinator.Context, g *group, id string) {
	if s.groups[g.id] != g || !g.pending[id] {
		return
	}
	delete(g.pending, id)
	s.tryCompleteJoin(ctx, g)
	s.dropIfUnused(g)
}
