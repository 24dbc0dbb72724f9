package group

import (
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// loop is a fake coordinator.Context: a manual clock, records written in
// order (completed by flush, or failed with failWrites), and timers fired
// in deadline order by advance.
type loop struct {
	t          *testing.T
	now        time.Time
	records    []coordinator.Record
	queued     []queuedWrite
	failWrites error
	timers     map[string]*fakeTimer
	seq        int
}

type queuedWrite struct {
	records []coordinator.Record
	after   func(error)
}

type fakeTimer struct {
	at  time.Time
	seq int
	fn  func(coordinator.Context)
}

func newLoop(t *testing.T) *loop {
	return &loop{t: t, now: time.Unix(1_700_000_000, 0), timers: make(map[string]*fakeTimer)}
}

func (l *loop) Now() time.Time { return l.now }

func (l *loop) Write(records []coordinator.Record, after func(error)) {
	l.queued = append(l.queued, queuedWrite{records: records, after: after})
}

func (l *loop) Schedule(key string, d time.Duration, fn func(coordinator.Context)) {
	l.seq++
	l.timers[key] = &fakeTimer{at: l.now.Add(d), seq: l.seq, fn: fn}
}

func (l *loop) Cancel(key string) { delete(l.timers, key) }

// flush completes the queued writes in order (bounded: callbacks may queue
// more).
func (l *loop) flush() {
	for i := 0; len(l.queued) > 0; i++ {
		if i > 10000 {
			l.t.Fatal("flush: writes keep coming")
		}
		w := l.queued[0]
		l.queued = l.queued[1:]
		if l.failWrites != nil {
			w.after(l.failWrites)
			continue
		}
		l.records = append(l.records, w.records...)
		w.after(nil)
	}
}

// advance moves the clock by d, firing due timers in order.
func (l *loop) advance(d time.Duration) {
	end := l.now.Add(d)
	for i := 0; ; i++ {
		if i > 10000 {
			l.t.Fatal("advance: timers keep firing")
		}
		key, next := "", (*fakeTimer)(nil)
		for k, tm := range l.timers {
			if tm.at.After(end) {
				continue
			}
			if next == nil || tm.at.Before(next.at) || (tm.at.Equal(next.at) && tm.seq < next.seq) {
				key, next = k, tm
			}
		}
		if next == nil {
			break
		}
		delete(l.timers, key)
		if next.at.After(l.now) {
			l.now = next.at
		}
		next.fn(l)
		l.flush()
	}
	l.now = end
}

func (l *loop) timerKeys() []string {
	var keys []string
	for k := range l.timers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// harness drives one shard on a loop.
type harness struct {
	t     *testing.T
	loop  *loop
	shard *Shard
	cfg   Config
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.PartitionCount = func(topic string) (int32, bool) {
		switch topic {
		case "t":
			return 2, true
		case "u":
			return 1, true
		}
		return 0, false
	}
	return cfg
}

func newHarness(t *testing.T) *harness {
	cfg := testConfig()
	return &harness{t: t, loop: newLoop(t), shard: NewShard(7, cfg), cfg: cfg}
}

func subscription(topics ...string) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	return meta.AppendTo(nil)
}

// joinSpec is one JoinGroup.
type joinSpec struct {
	version    int16
	group      string
	member     string
	instance   *string
	client     string
	session    time.Duration
	rebalance  time.Duration
	ptype      string
	protocols  []kmsg.JoinGroupRequestProtocol
	noDefaults bool
	v0         bool
}

func strp(s string) *string { return &s }

func consumerProtocols(names ...string) []kmsg.JoinGroupRequestProtocol {
	var out []kmsg.JoinGroupRequestProtocol
	for _, n := range names {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = n, subscription("t")
		out = append(out, p)
	}
	return out
}

// join sends a JoinGroup; the returned pointer is set when answered.
func (h *harness) join(spec joinSpec) **kmsg.JoinGroupResponse {
	if !spec.noDefaults {
		if spec.version == 0 && !spec.v0 {
			spec.version = 9
		}
		if spec.group == "" {
			spec.group = "g"
		}
		if spec.client == "" {
			spec.client = "client"
		}
		if spec.session == 0 {
			spec.session = 10 * time.Second
		}
		if spec.rebalance == 0 {
			spec.rebalance = 30 * time.Second
		}
		if spec.ptype == "" {
			spec.ptype = "consumer"
		}
		if spec.protocols == nil {
			spec.protocols = consumerProtocols("range")
		}
	}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.MemberID, req.InstanceID = spec.version, spec.group, spec.member, spec.instance
	req.SessionTimeoutMillis = int32(spec.session.Milliseconds())
	req.RebalanceTimeoutMillis = int32(spec.rebalance.Milliseconds())
	req.ProtocolType, req.Protocols = spec.ptype, spec.protocols
	var got *kmsg.JoinGroupResponse
	out := &got
	answered := false
	h.shard.JoinGroup(h.loop, RequestInfo{ClientID: spec.client, ClientHost: "/10.0.0.1", Version: spec.version}, req,
		func(resp *kmsg.JoinGroupResponse) {
			if answered {
				h.t.Fatalf("JoinGroup answered twice")
			}
			answered = true
			*out = resp
		})
	h.loop.flush()
	return out
}

// joinDynamic runs the v4+ MEMBER_ID_REQUIRED round trip and returns the
// member id and the pending second join.
func (h *harness) joinDynamic(spec joinSpec) (string, **kmsg.JoinGroupResponse) {
	first := *h.join(spec)
	if first == nil || first.ErrorCode != codeMemberIDRequired {
		h.t.Fatalf("first join: %+v, want MEMBER_ID_REQUIRED", first)
	}
	spec.member = first.MemberID
	return first.MemberID, h.join(spec)
}

func (h *harness) sync(group, member string, generation int32, assignments map[string]string) **kmsg.SyncGroupResponse {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 5, group, member, generation
	for id, a := range assignments {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, []byte(a)
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	var got *kmsg.SyncGroupResponse
	out := &got
	h.shard.SyncGroup(h.loop, RequestInfo{Version: 5}, req, func(resp *kmsg.SyncGroupResponse) {
		if *out != nil {
			h.t.Fatalf("SyncGroup answered twice")
		}
		*out = resp
	})
	h.loop.flush()
	return out
}

func (h *harness) heartbeat(group, member string, generation int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 4, group, member, generation
	var code int16 = -100
	h.shard.Heartbeat(h.loop, RequestInfo{Version: 4}, req, func(resp *kmsg.HeartbeatResponse) { code = resp.ErrorCode })
	return code
}

func (h *harness) commit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	var got *kmsg.OffsetCommitResponse
	h.shard.OffsetCommit(h.loop, RequestInfo{Version: req.Version}, req, func(resp *kmsg.OffsetCommitResponse) {
		if got != nil {
			h.t.Fatalf("OffsetCommit answered twice")
		}
		got = resp
	})
	h.loop.flush()
	if got == nil {
		h.t.Fatalf("OffsetCommit not answered")
	}
	return got
}

// commitReq builds an OffsetCommit v8 of partition offsets "topic", p, offset.
func commitReq(group, member string, generation int32, parts ...any) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 8, group, member, generation
	for i := 0; i+2 < len(parts); i += 3 {
		topic, partition, offset := parts[i].(string), parts[i+1].(int), parts[i+2].(int)
		if len(req.Topics) == 0 || req.Topics[len(req.Topics)-1].Topic != topic {
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = topic
			req.Topics = append(req.Topics, rt)
		}
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = int32(partition), int64(offset), 4
		p.Metadata = strp("m")
		last := &req.Topics[len(req.Topics)-1]
		last.Partitions = append(last.Partitions, p)
	}
	return req
}

func commitCodes(resp *kmsg.OffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func (h *harness) leave(version int16, group string, members ...kmsg.LeaveGroupRequestMember) *kmsg.LeaveGroupResponse {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version, req.Group = version, group
	if version < 3 {
		req.MemberID = members[0].MemberID
	} else {
		req.Members = members
	}
	var got *kmsg.LeaveGroupResponse
	h.shard.LeaveGroup(h.loop, RequestInfo{Version: version}, req, func(resp *kmsg.LeaveGroupResponse) { got = resp })
	h.loop.flush()
	return got
}

func (h *harness) deleteGroup(group string) int16 {
	var code int16 = -100
	h.shard.DeleteGroup(h.loop, group, func(c int16) { code = c })
	h.loop.flush()
	return code
}

// stableGroup builds group "g" with n dynamic members (v9), leader first,
// synced to Stable with assignment "a<i>"; returns the member ids.
func (h *harness) stableGroup(n int) []string {
	var ids []string
	var pending []**kmsg.JoinGroupResponse
	for i := 0; i < n; i++ {
		id, p := h.joinDynamic(joinSpec{})
		ids = append(ids, id)
		pending = append(pending, p)
	}
	h.loop.advance(h.cfg.InitialRebalanceDelay * 2)
	for i, p := range pending {
		if *p == nil || (*p).ErrorCode != 0 || (*p).Generation != 1 {
			h.t.Fatalf("member %d join: %+v", i, *p)
		}
	}
	assignments := map[string]string{}
	for i, id := range ids {
		assignments[id] = "a" + string(rune('0'+i))
	}
	var syncs []**kmsg.SyncGroupResponse
	for i := len(ids) - 1; i >= 0; i-- {
		var a map[string]string
		if i == 0 {
			a = assignments
		}
		syncs = append(syncs, h.sync("g", ids[i], 1, a))
	}
	for _, s := range syncs {
		if *s == nil || (*s).ErrorCode != 0 {
			h.t.Fatalf("sync: %+v", *s)
		}
	}
	return ids
}
