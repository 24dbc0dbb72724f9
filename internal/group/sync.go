package group

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// syncResult is the outcome of a SyncGroup, independent of the version.
type syncResult struct {
	code         int16
	protocolType string
	protocol     string
	assignment   []byte
}

func (r syncResult) response(version int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	resp.ErrorCode = r.code
	resp.MemberAssignment = r.assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	if r.code == codeNone {
		if r.protocolType != "" {
			protocolType := r.protocolType
			resp.ProtocolType = &protocolType
		}
		if r.protocol != "" {
			protocol := r.protocol
			resp.Protocol = &protocol
		}
	}
	return resp
}

// SyncGroup handles SyncGroup v0-5; respond is called once, now or later
// (followers wait for the leader's assignment to be written).
func (s *Shard) SyncGroup(ctx coordinator.Context, info RequestInfo, req *kmsg.SyncGroupRequest, respond func(*kmsg.SyncGroupResponse)) {
	reply := func(r syncResult) { respond(r.response(req.Version)) }
	g, code := s.checkSync(req)
	if code != codeNone {
		reply(syncResult{code: code})
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		reply(syncResult{code: codeUnknownMemberID})
	case statePreparingRebalance:
		reply(syncResult{code: codeRebalanceInProgress})
	case stateStable:
		delete(g.pendingSync, m.id)
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		reply(syncResult{protocolType: g.protocolType, protocol: g.protocol, assignment: m.assignment})
	case stateCompletingRebalance:
		s.syncCompleting(ctx, g, m, req, reply)
	default:
		reply(syncResult{code: codeCoordinatorNotAvailable})
	}
}

// checkSync validates a SyncGroup against the group.
func (s *Shard) checkSync(req *kmsg.SyncGroupRequest) (*group, int16) {
	if s.closed {
		return nil, codeNotCoordinator
	}
	if req.Group == "" {
		return nil, codeInvalidGroupID
	}
	g := s.groups[req.Group]
	if g == nil {
		return nil, codeUnknownMemberID
	}
	if g.state == stateDead {
		return nil, codeCoordinatorNotAvailable
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != codeNone {
		return nil, code
	}
	if req.Generation != g.generation {
		return nil, codeIllegalGeneration
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) ||
		(req.Protocol != nil && *req.Protocol != g.protocol) {
		return nil, codeInconsistentGroupProtocol
	}
	for _, a := range req.GroupAssignment {
		if len(a.MemberAssignment) > s.cfg.MaxMetadataBytes {
			return nil, codeInvalidRequest
		}
	}
	return g, codeNone
}

// syncCompleting parks m's sync; the leader's also writes the assignment,
// and every parked sync is answered once the write is durable.
func (s *Shard) syncCompleting(ctx coordinator.Context, g *group, m *member, req *kmsg.SyncGroupRequest, reply func(syncResult)) {
	if m.syncWaiter != nil {
		m.syncWaiter(syncResult{code: codeRebalanceInProgress})
	}
	m.syncWaiter = reply
	delete(g.pendingSync, m.id)
	s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
	if m.id != g.leader || g.syncWriting {
		return
	}
	assignments := make(map[string][]byte, len(g.members))
	for _, a := range req.GroupAssignment {
		if g.members[a.MemberID] != nil {
			assignments[a.MemberID] = a.MemberAssignment
		}
	}
	g.syncWriting = true
	generation := g.generation
	s.storeGroup(ctx, g, assignments, func(err error) {
		if s.groups[g.id] != g || g.generation != generation || g.state != stateCompletingRebalance {
			return
		}
		g.syncWriting = false
		if err != nil {
			s.resetAssignments(g, writeErrorCode(err))
			s.prepareRebalance(ctx, g)
			return
		}
		g.transition(stateStable, ctx.Now())
		for _, member := range g.sortedMembers() {
			member.assignment = assignments[member.id]
			if member.syncWaiter == nil {
				continue
			}
			waiter := member.syncWaiter
			member.syncWaiter = nil
			s.scheduleHeartbeat(ctx, g, member, member.sessionTimeout)
			waiter(syncResult{protocolType: g.protocolType, protocol: g.protocol, assignment: member.assignment})
		}
	})
}

// Heartbeat handles Heartbeat v0-4.
func (s *Shard) Heartbeat(ctx coordinator.Context, info RequestInfo, req *kmsg.HeartbeatRequest, respond func(*kmsg.HeartbeatResponse)) {
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.Version = req.Version
	resp.ErrorCode = s.heartbeat(ctx, req)
	respond(resp)
}

func (s *Shard) heartbeat(ctx coordinator.Context, req *kmsg.HeartbeatRequest) int16 {
	if s.closed {
		return codeNotCoordinator
	}
	if req.Group == "" {
		return codeInvalidGroupID
	}
	g := s.groups[req.Group]
	if g == nil {
		return codeUnknownMemberID
	}
	if g.state == stateDead {
		return codeCoordinatorNotAvailable
	}
	if code := g.validateMember(req.MemberID, req.InstanceID); code != codeNone {
		return code
	}
	if req.Generation != g.generation {
		return codeIllegalGeneration
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return codeUnknownMemberID
	case statePreparingRebalance:
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		return codeRebalanceInProgress
	default:
		s.scheduleHeartbeat(ctx, g, m, m.sessionTimeout)
		return codeNone
	}
}

// LeaveGroup handles LeaveGroup v0-5 (v3+ batched, by member id or
// group.instance.id; v0-2 report the first member error at the top).
func (s *Shard) LeaveGroup(ctx coordinator.Context, info RequestInfo, req *kmsg.LeaveGroupRequest, respond func(*kmsg.LeaveGroupResponse)) {
	resp := kmsg.NewPtrLeaveGroupResponse()
	resp.Version = req.Version
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	top := codeNone
	var results []kmsg.LeaveGroupResponseMember
	g := s.groups[req.Group]
	switch {
	case s.closed:
		top = codeNotCoordinator
	case req.Group == "":
		top = codeInvalidGroupID
	case g != nil && g.state == stateDead:
		top = codeCoordinatorNotAvailable
	default:
		for _, lm := range leaving {
			result := kmsg.NewLeaveGroupResponseMember()
			result.MemberID, result.InstanceID = lm.MemberID, lm.InstanceID
			result.ErrorCode = codeUnknownMemberID
			if g != nil {
				result.ErrorCode = s.leaveOne(ctx, g, lm)
			}
			results = append(results, result)
		}
	}
	if g != nil {
		s.dropIfUnused(g)
	}
	resp.ErrorCode = top
	if req.Version >= 3 {
		resp.Members = results
	} else if top == codeNone {
		for _, r := range results {
			if r.ErrorCode != codeNone {
				resp.ErrorCode = r.ErrorCode
				break
			}
		}
	}
	respond(resp)
}

func (s *Shard) leaveOne(ctx coordinator.Context, g *group, lm kmsg.LeaveGroupRequestMember) int16 {
	if lm.MemberID == "" {
		if lm.InstanceID == nil {
			return codeUnknownMemberID
		}
		id, ok := g.instances[*lm.InstanceID]
		if !ok {
			return codeUnknownMemberID
		}
		s.removeMember(ctx, g, g.members[id])
		return codeNone
	}
	if g.pending[lm.MemberID] {
		delete(g.pending, lm.MemberID)
		ctx.Cancel(heartbeatKey(g.id, lm.MemberID))
		s.tryCompleteJoin(ctx, g)
		return codeNone
	}
	if code := g.validateMember(lm.MemberID, lm.InstanceID); code != codeNone {
		return code
	}
	s.removeMember(ctx, g, g.members[lm.MemberID])
	return codeNone
}
