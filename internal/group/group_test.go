package group

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

func decodeGroupValue(t *testing.T, r coordinator.Record) (string, *kmsg.GroupMetadataValue) {
	t.Helper()
	var key kmsg.GroupMetadataKey
	if err := key.ReadFrom(r.Key); err != nil || key.Version != 2 {
		t.Fatalf("group key %x: %v", r.Key, err)
	}
	if r.Value == nil {
		return key.Group, nil
	}
	var value kmsg.GroupMetadataValue
	if err := value.ReadFrom(r.Value); err != nil {
		t.Fatalf("group value: %v", err)
	}
	return key.Group, &value
}

func TestJoinTwoMembersInitialDelayAndSync(t *testing.T) {
	h := newHarness(t)
	a, joinA := h.joinDynamic(joinSpec{client: "ca"})
	if !strings.HasPrefix(a, "ca-") || len(a) != len("ca-")+36 {
		t.Fatalf("member id %q", a)
	}
	h.loop.advance(time.Second)
	b, joinB := h.joinDynamic(joinSpec{client: "cb", protocols: consumerProtocols("roundrobin", "range")})
	// Initial delay 3s, extended once by 3s because b joined during it.
	h.loop.advance(4900 * time.Millisecond) // t = 5.9s
	if *joinA != nil || *joinB != nil {
		t.Fatalf("join answered during the initial delay")
	}
	if got := h.shard.DescribeGroup(h.loop, "g", false).State; got != "PreparingRebalance" {
		t.Fatalf("state %s", got)
	}
	h.loop.advance(100 * time.Millisecond) // t = 6s
	ra, rb := *joinA, *joinB
	if ra == nil || rb == nil {
		t.Fatalf("joins not answered")
	}
	if ra.ErrorCode != 0 || ra.Generation != 1 || ra.LeaderID != a || *ra.Protocol != "range" || *ra.ProtocolType != "consumer" {
		t.Fatalf("leader join %+v", ra)
	}
	if len(ra.Members) != 2 || ra.Members[0].MemberID != a || ra.Members[1].MemberID != b {
		t.Fatalf("leader members %+v", ra.Members)
	}
	if rb.ErrorCode != 0 || rb.Generation != 1 || rb.LeaderID != a || len(rb.Members) != 0 || rb.MemberID != b {
		t.Fatalf("follower join %+v", rb)
	}
	syncB := h.sync("g", b, 1, nil)
	if *syncB != nil {
		t.Fatalf("follower sync answered before the leader's")
	}
	if len(h.loop.records) != 0 {
		t.Fatalf("records before leader sync: %d", len(h.loop.records))
	}
	// Hold the leader's write to check answers wait for durability.
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 5, "g", a, 1
	req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: a, MemberAssignment: []byte("A")}, {MemberID: b, MemberAssignment: []byte("B")}}
	var syncA *kmsg.SyncGroupResponse
	h.shard.SyncGroup(h.loop, RequestInfo{}, req, func(r *kmsg.SyncGroupResponse) { syncA = r })
	if syncA != nil || *syncB != nil || len(h.loop.queued) != 1 {
		t.Fatalf("sync answered before the write completed")
	}
	h.loop.flush()
	if syncA == nil || syncA.ErrorCode != 0 || string(syncA.MemberAssignment) != "A" || *syncA.Protocol != "range" {
		t.Fatalf("leader sync %+v", syncA)
	}
	if (*syncB).ErrorCode != 0 || string((*syncB).MemberAssignment) != "B" {
		t.Fatalf("follower sync %+v", *syncB)
	}
	if len(h.loop.records) != 1 {
		t.Fatalf("records %d", len(h.loop.records))
	}
	name, value := decodeGroupValue(t, h.loop.records[0])
	if name != "g" || value.Version != 3 || value.Generation != 1 || *value.Protocol != "range" || *value.Leader != a ||
		value.ProtocolType != "consumer" || len(value.Members) != 2 || string(value.Members[1].Assignment) != "B" ||
		value.Members[0].SessionTimeoutMillis != 10000 || value.Members[0].RebalanceTimeoutMillis != 30000 ||
		value.Members[1].ClientID != "cb" || value.Members[1].ClientHost != "/10.0.0.1" ||
		value.CurrentStateTimestamp != h.loop.now.UnixMilli() {
		t.Fatalf("group record %+v", value)
	}
	d := h.shard.DescribeGroup(h.loop, "g", true)
	if d.State != "Stable" || d.Protocol != "range" || d.ProtocolType != "consumer" || len(d.Members) != 2 ||
		string(d.Members[1].MemberAssignment) != "B" || d.Members[0].ClientID != "ca" ||
		!reflect.DeepEqual(d.Members[0].ProtocolMetadata, subscription("t")) || d.AuthorizedOperations != 328 {
		t.Fatalf("describe %+v", d)
	}
	// Sync again when Stable returns the assignment.
	if r := *h.sync("g", b, 1, nil); r.ErrorCode != 0 || string(r.MemberAssignment) != "B" {
		t.Fatalf("stable sync %+v", r)
	}
}

func TestJoinErrors(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		spec joinSpec
		code int16
	}{
		{"empty group", joinSpec{group: "", noDefaults: true, version: 5, session: 10 * time.Second, ptype: "consumer", protocols: consumerProtocols("range")}, codeInvalidGroupID},
		{"short session", joinSpec{session: time.Second}, codeInvalidSessionTimeout},
		{"long session", joinSpec{session: time.Hour}, codeInvalidSessionTimeout},
		{"unknown member", joinSpec{member: "nobody"}, codeUnknownMemberID},
		{"no protocol type", joinSpec{ptype: "", noDefaults: true, version: 5, group: "g", session: 10 * time.Second, protocols: consumerProtocols("range")}, codeInconsistentGroupProtocol},
		{"no protocols", joinSpec{protocols: []kmsg.JoinGroupRequestProtocol{}}, codeInconsistentGroupProtocol},
		{"metadata too large", joinSpec{protocols: []kmsg.JoinGroupRequestProtocol{{Name: "x", Metadata: make([]byte, DefaultMaxMetadataBytes+1)}}}, codeInvalidRequest},
	}
	for _, c := range cases {
		r := *h.join(c.spec)
		if r == nil || r.ErrorCode != c.code || r.Generation != -1 {
			t.Fatalf("%s: %+v, want code %d", c.name, r, c.code)
		}
	}
	if got := h.shard.ListGroups(nil, nil); len(got) != 0 {
		t.Fatalf("failed joins left groups: %+v", got)
	}
	ids := h.stableGroup(1)
	if r := *h.join(joinSpec{ptype: "connect"}); r.ErrorCode != codeInconsistentGroupProtocol {
		t.Fatalf("other protocol type: %+v", r)
	}
	if r := *h.join(joinSpec{protocols: consumerProtocols("sticky")}); r.ErrorCode != codeInconsistentGroupProtocol {
		t.Fatalf("no common protocol: %+v", r)
	}
	// group.max.size 1: a second member is refused.
	h.shard.cfg.MaxSize = 1
	if r := *h.join(joinSpec{version: 3}); r.ErrorCode != codeGroupMaxSizeReached || r.MemberID != "" {
		t.Fatalf("max size: %+v", r)
	}
	if r := *h.join(joinSpec{}); r.ErrorCode != codeGroupMaxSizeReached {
		t.Fatalf("max size, v9: %+v", r)
	}
	// Members waiting to rejoin with their id are bounded by the max size too.
	if r := *h.join(joinSpec{group: "p"}); r.ErrorCode != codeMemberIDRequired {
		t.Fatalf("pending under max size: %+v", r)
	}
	if r := *h.join(joinSpec{group: "p"}); r.ErrorCode != codeGroupMaxSizeReached {
		t.Fatalf("pending over max size: %+v", r)
	}
	if code := h.heartbeat("g", ids[0], 1); code != 0 {
		t.Fatalf("heartbeat after refused joins: %d", code)
	}
	// JoinGroup v0-6 answer a missing protocol as "".
	r := *h.join(joinSpec{version: 5, member: "nobody"})
	if r.Protocol == nil || *r.Protocol != "" || r.Version != 5 {
		t.Fatalf("v5 error response %+v", r)
	}
}

func TestHeartbeatErrors(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(2)
	checks := []struct {
		group, member string
		generation    int32
		code          int16
	}{
		{"", ids[0], 1, codeInvalidGroupID},
		{"other", ids[0], 1, codeUnknownMemberID},
		{"g", "nobody", 1, codeUnknownMemberID},
		{"g", ids[0], 2, codeIllegalGeneration},
		{"g", ids[0], 0, codeIllegalGeneration},
		{"g", ids[1], 1, codeNone},
	}
	for _, c := range checks {
		if got := h.heartbeat(c.group, c.member, c.generation); got != c.code {
			t.Fatalf("heartbeat %+v: %d", c, got)
		}
	}
	// A third member starts a rebalance.
	h.join(joinSpec{version: 3})
	if got := h.heartbeat("g", ids[1], 1); got != codeRebalanceInProgress {
		t.Fatalf("heartbeat during rebalance: %d", got)
	}
	if r := *h.sync("g", ids[1], 1, nil); r.ErrorCode != codeRebalanceInProgress {
		t.Fatalf("sync during rebalance: %+v", r)
	}
}

func TestSessionExpiryEvictsAndRebalances(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(2)
	for i := 0; i < 2; i++ {
		h.loop.advance(4 * time.Second)
		if code := h.heartbeat("g", ids[0], 1); code != 0 {
			t.Fatalf("heartbeat %d: %d", i, code)
		}
	}
	h.loop.advance(3 * time.Second)
	// ids[1] has been silent for 11s > 10s session.
	d := h.shard.DescribeGroup(h.loop, "g", false)
	if d.State != "PreparingRebalance" || len(d.Members) != 1 || d.Members[0].MemberID != ids[0] {
		t.Fatalf("after expiry %+v", d)
	}
	if code := h.heartbeat("g", ids[1], 1); code != codeUnknownMemberID {
		t.Fatalf("expired heartbeat %d", code)
	}
	// The survivor rejoins: every member joined, generation 2 at once.
	r := *h.join(joinSpec{member: ids[0]})
	if r == nil || r.ErrorCode != 0 || r.Generation != 2 || r.LeaderID != ids[0] || len(r.Members) != 1 {
		t.Fatalf("rejoin %+v", r)
	}
}

func TestRebalanceTimeoutRemovesMemberNotRejoining(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(2)
	joinC := h.join(joinSpec{version: 3, client: "cc"}) // v3: no MEMBER_ID_REQUIRED
	joinA := h.join(joinSpec{member: ids[0]})
	for i := 0; i < 7; i++ { // 28s: ids[1] heartbeats but never rejoins
		h.loop.advance(4 * time.Second)
		if code := h.heartbeat("g", ids[1], 1); code != codeRebalanceInProgress {
			t.Fatalf("heartbeat %d", code)
		}
	}
	if *joinA != nil || *joinC != nil {
		t.Fatalf("join completed before the rebalance timeout")
	}
	h.loop.advance(2 * time.Second) // 30s rebalance timeout
	ra, rc := *joinA, *joinC
	if ra == nil || ra.Generation != 2 || ra.LeaderID != ids[0] || len(ra.Members) != 2 || rc == nil || rc.Generation != 2 {
		t.Fatalf("after timeout: %+v %+v", ra, rc)
	}
	if !strings.HasPrefix(rc.MemberID, "cc-") || ra.Members[1].MemberID != rc.MemberID {
		t.Fatalf("new member %+v", ra.Members)
	}
	if code := h.heartbeat("g", ids[1], 2); code != codeUnknownMemberID {
		t.Fatalf("removed member heartbeat %d", code)
	}
}

func TestMemberIDRequiredAndPendingExpiry(t *testing.T) {
	h := newHarness(t)
	r := *h.join(joinSpec{client: "x"})
	if r.ErrorCode != codeMemberIDRequired || !strings.HasPrefix(r.MemberID, "x-") || r.Generation != -1 || r.Protocol != nil {
		t.Fatalf("first join %+v", r)
	}
	if got := h.shard.ListGroups(nil, nil); len(got) != 1 || got[0].GroupState != "Empty" {
		t.Fatalf("groups %+v", got)
	}
	h.loop.advance(10 * time.Second) // the pending member's session passes
	if got := h.shard.ListGroups(nil, nil); len(got) != 0 {
		t.Fatalf("pending member kept the group: %+v", got)
	}
	if again := *h.join(joinSpec{member: r.MemberID}); again.ErrorCode != codeUnknownMemberID {
		t.Fatalf("expired pending rejoin %+v", again)
	}
	if len(h.loop.records) != 0 {
		t.Fatalf("records written: %d", len(h.loop.records))
	}
}

func TestStaticMemberRejoinWithoutRebalance(t *testing.T) {
	h := newHarness(t)
	joinA := h.join(joinSpec{instance: strp("ia"), client: "ca"})
	joinB := h.join(joinSpec{instance: strp("ib"), client: "cb"})
	h.loop.advance(6 * time.Second)
	a, b := (*joinA).MemberID, (*joinB).MemberID
	if !strings.HasPrefix(a, "ia-") || (*joinA).LeaderID != a || *(*joinA).Members[0].InstanceID != "ia" {
		t.Fatalf("static join %+v", *joinA)
	}
	h.sync("g", b, 1, nil)
	h.sync("g", a, 1, map[string]string{a: "A", b: "B"})
	records := len(h.loop.records)
	// ib restarts: a new member id, same generation, no rebalance.
	rb := *h.join(joinSpec{instance: strp("ib"), client: "cb", version: 5})
	if rb == nil || rb.ErrorCode != 0 || rb.Generation != 1 || rb.MemberID == b || rb.LeaderID != a || len(rb.Members) != 0 {
		t.Fatalf("static rejoin %+v", rb)
	}
	if d := h.shard.DescribeGroup(h.loop, "g", false); d.State != "Stable" || d.Members[1].MemberID != rb.MemberID {
		t.Fatalf("after static rejoin %+v", d)
	}
	if len(h.loop.records) != records+1 {
		t.Fatalf("static rejoin wrote %d records", len(h.loop.records)-records)
	}
	_, value := decodeGroupValue(t, h.loop.records[len(h.loop.records)-1])
	if value.Members[1].MemberID != rb.MemberID || *value.Members[1].InstanceID != "ib" || string(value.Members[1].Assignment) != "B" {
		t.Fatalf("record after static rejoin %+v", value.Members[1])
	}
	if r := *h.sync("g", rb.MemberID, 1, nil); r.ErrorCode != 0 || string(r.MemberAssignment) != "B" {
		t.Fatalf("sync of the new id %+v", r)
	}
	// The old id is fenced when it names its instance.
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = "g", b, 1, strp("ib")
	var code int16
	h.shard.Heartbeat(h.loop, RequestInfo{}, req, func(r *kmsg.HeartbeatResponse) { code = r.ErrorCode })
	if code != codeFencedInstanceID {
		t.Fatalf("old id heartbeat %d", code)
	}
	if code := h.heartbeat("g", b, 1); code != codeUnknownMemberID {
		t.Fatalf("old id without instance %d", code)
	}
	// The static leader rejoining with v9 learns it leads but skips the assignor.
	ra := *h.join(joinSpec{instance: strp("ia"), client: "ca"})
	if ra.ErrorCode != 0 || ra.LeaderID != ra.MemberID || !ra.SkipAssignment || len(ra.Members) != 2 || ra.Generation != 1 {
		t.Fatalf("static leader rejoin %+v", ra)
	}
}

func TestLeaveBatched(t *testing.T) {
	h := newHarness(t)
	joinS := h.join(joinSpec{instance: strp("is"), version: 5})
	ids := []string{}
	var pend []**kmsg.JoinGroupResponse
	for i := 0; i < 2; i++ {
		id, p := h.joinDynamic(joinSpec{})
		ids = append(ids, id)
		pend = append(pend, p)
	}
	h.loop.advance(6 * time.Second)
	s := (*joinS).MemberID
	h.sync("g", s, 1, map[string]string{})
	resp := h.leave(5, "g",
		kmsg.LeaveGroupRequestMember{MemberID: ids[0]},
		kmsg.LeaveGroupRequestMember{InstanceID: strp("is")},
		kmsg.LeaveGroupRequestMember{MemberID: "nobody"},
		kmsg.LeaveGroupRequestMember{MemberID: ids[1], InstanceID: strp("is")},
	)
	want := []int16{0, 0, codeUnknownMemberID, codeUnknownMemberID}
	for i, m := range resp.Members {
		if m.ErrorCode != want[i] {
			t.Fatalf("leave member %d: %+v", i, resp.Members)
		}
	}
	if resp.ErrorCode != 0 || len(resp.Members) != 4 || *resp.Members[1].InstanceID != "is" {
		t.Fatalf("leave %+v", resp)
	}
	d := h.shard.DescribeGroup(h.loop, "g", false)
	if d.State != "PreparingRebalance" || len(d.Members) != 1 || d.Members[0].MemberID != ids[1] {
		t.Fatalf("after leave %+v", d)
	}
	// v0 reports the member error at the top.
	if r := h.leave(0, "g", kmsg.LeaveGroupRequestMember{MemberID: "nobody"}); r.ErrorCode != codeUnknownMemberID {
		t.Fatalf("v0 leave %+v", r)
	}
	if r := h.leave(1, "none", kmsg.LeaveGroupRequestMember{MemberID: "x"}); r.ErrorCode != codeUnknownMemberID {
		t.Fatalf("v1 unknown group %+v", r)
	}
	before := len(h.loop.records)
	if r := h.leave(2, "g", kmsg.LeaveGroupRequestMember{MemberID: ids[1]}); r.ErrorCode != 0 {
		t.Fatalf("last leave %+v", r)
	}
	d = h.shard.DescribeGroup(h.loop, "g", false)
	if d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after last leave %+v", d)
	}
	if len(h.loop.records) != before+1 {
		t.Fatalf("empty group record missing")
	}
	_, value := decodeGroupValue(t, h.loop.records[len(h.loop.records)-1])
	if value.Generation != 2 || len(value.Members) != 0 || value.Protocol != nil || value.ProtocolType != "consumer" {
		t.Fatalf("empty group record %+v", value)
	}
}

func TestOffsetCommitAndFetch(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(2)
	resp := h.commit(commitReq("g", ids[0], 1, "t", 0, 10, "t", 1, 11, "t", 2, 12, "nope", 0, 1, "u", 0, 5))
	if got, want := commitCodes(resp), []int16{0, 0, codeUnknownTopicOrPartition, codeUnknownTopicOrPartition, 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("member commit codes %v", got)
	}
	if resp.Version != 8 || resp.Topics[0].Partitions[2].Partition != 2 {
		t.Fatalf("commit response %+v", resp)
	}
	var key kmsg.OffsetCommitKey
	var value kmsg.OffsetCommitValue
	last := h.loop.records[len(h.loop.records)-1]
	if err := key.ReadFrom(last.Key); err != nil || key.Version != 1 || key.Group != "g" || key.Topic != "u" {
		t.Fatalf("key %+v %v", key, err)
	}
	if err := value.ReadFrom(last.Value); err != nil || value.Version != 3 || value.Offset != 5 || value.LeaderEpoch != 4 ||
		value.Metadata != "m" || value.CommitTimestamp != h.loop.now.UnixMilli() {
		t.Fatalf("value %+v %v", value, err)
	}
	bad := []struct {
		name string
		req  *kmsg.OffsetCommitRequest
		code int16
	}{
		{"wrong generation", commitReq("g", ids[0], 2, "t", 0, 1), codeIllegalGeneration},
		{"unknown member", commitReq("g", "nobody", 1, "t", 0, 1), codeUnknownMemberID},
		{"simple commit to a live group", commitReq("g", "", -1, "t", 0, 1), codeUnknownMemberID},
		{"member commit to unknown group", commitReq("x", "m", 3, "t", 0, 1), codeIllegalGeneration},
	}
	for _, c := range bad {
		if got := commitCodes(h.commit(c.req)); got[0] != c.code {
			t.Fatalf("%s: %v", c.name, got)
		}
	}
	big := commitReq("g", ids[1], 1, "t", 0, 99, "t", 1, 98)
	big.Topics[0].Partitions[0].Metadata = strp(strings.Repeat("x", OffsetMetadataMaxBytes+1))
	if got := commitCodes(h.commit(big)); !reflect.DeepEqual(got, []int16{codeOffsetMetadataTooLarge, 0}) {
		t.Fatalf("metadata too large %v", got)
	}
	fetch := h.shard.OffsetFetch(h.loop, RequestInfo{}, "g", []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}, {Topic: "v", Partitions: []int32{3}}}, true)
	p := fetch.Topics[0].Partitions
	if fetch.ErrorCode != 0 || p[0].Offset != 10 || p[0].LeaderEpoch != 4 || *p[0].Metadata != "m" || p[1].Offset != 98 {
		t.Fatalf("fetch %+v", fetch)
	}
	if q := fetch.Topics[1].Partitions[0]; q.Offset != -1 || q.LeaderEpoch != -1 || *q.Metadata != "" || q.Partition != 3 {
		t.Fatalf("fetch missing %+v", q)
	}
	all := h.shard.OffsetFetch(h.loop, RequestInfo{}, "g", nil, false)
	if len(all.Topics) != 2 || all.Topics[0].Topic != "t" || len(all.Topics[0].Partitions) != 2 || all.Topics[1].Partitions[0].Offset != 5 {
		t.Fatalf("fetch all %+v", all)
	}
	if none := h.shard.OffsetFetch(h.loop, RequestInfo{}, "none", nil, false); len(none.Topics) != 0 || none.ErrorCode != 0 {
		t.Fatalf("fetch unknown group %+v", none)
	}
	// A simple commit creates an Empty group with no protocol type.
	simple := commitReq("simple", "", -1, "t", 0, 7)
	simple.Version, simple.RetentionTimeMillis = 2, 60000
	if got := commitCodes(h.commit(simple)); got[0] != 0 {
		t.Fatalf("simple commit %v", got)
	}
	value = kmsg.OffsetCommitValue{}
	if err := value.ReadFrom(h.loop.records[len(h.loop.records)-1].Value); err != nil || value.Version != 1 ||
		value.ExpireTimestamp != h.loop.now.UnixMilli()+60000 {
		t.Fatalf("v2 commit value %+v", value)
	}
	groups := h.shard.ListGroups(nil, nil)
	if len(groups) != 2 || groups[1].Group != "simple" || groups[1].GroupState != "Empty" || groups[1].ProtocolType != "" {
		t.Fatalf("groups %+v", groups)
	}
}

func TestCommitDuringCompletingRebalance(t *testing.T) {
	h := newHarness(t)
	id, pending := h.joinDynamic(joinSpec{})
	h.loop.advance(3 * time.Second)
	if (*pending).Generation != 1 {
		t.Fatalf("join %+v", *pending)
	}
	if got := commitCodes(h.commit(commitReq("g", id, 1, "t", 0, 1))); got[0] != codeRebalanceInProgress {
		t.Fatalf("commit while completing %v", got)
	}
}

func TestDescribeAndListFilters(t *testing.T) {
	h := newHarness(t)
	h.stableGroup(1)
	h.commit(commitReq("s", "", -1, "t", 0, 1))
	d := h.shard.DescribeGroup(h.loop, "unknown", false)
	if d.State != "Dead" || d.ErrorCode != 0 || d.ProtocolType != "" || len(d.Members) != 0 || d.AuthorizedOperations != -2147483648 {
		t.Fatalf("describe unknown %+v", d)
	}
	names := func(groups []kmsg.ListGroupsResponseGroup) []string {
		out := []string{}
		for _, g := range groups {
			out = append(out, g.Group+":"+g.GroupState+":"+g.GroupType)
		}
		return out
	}
	cases := []struct {
		states, types []string
		want          []string
	}{
		{nil, nil, []string{"g:Stable:classic", "s:Empty:classic"}},
		{[]string{"stable"}, nil, []string{"g:Stable:classic"}},
		{[]string{"Empty", "Dead"}, nil, []string{"s:Empty:classic"}},
		{nil, []string{"Classic"}, []string{"g:Stable:classic", "s:Empty:classic"}},
		{nil, []string{"consumer"}, []string{}},
	}
	for _, c := range cases {
		if got := names(h.shard.ListGroups(c.states, c.types)); !reflect.DeepEqual(got, c.want) {
			t.Fatalf("list %v %v: %v", c.states, c.types, got)
		}
	}
}

func TestDeleteGroup(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(1)
	h.commit(commitReq("g", ids[0], 1, "t", 0, 1, "t", 1, 2))
	if code := h.deleteGroup("g"); code != codeNonEmptyGroup {
		t.Fatalf("delete non-empty %d", code)
	}
	if code := h.deleteGroup("nope"); code != codeGroupIDNotFound {
		t.Fatalf("delete unknown %d", code)
	}
	h.leave(3, "g", kmsg.LeaveGroupRequestMember{MemberID: ids[0]})
	before := len(h.loop.records)
	if code := h.deleteGroup("g"); code != 0 {
		t.Fatalf("delete %d", code)
	}
	tombs := h.loop.records[before:]
	if len(tombs) != 3 || tombs[0].Value != nil || tombs[2].Value != nil {
		t.Fatalf("tombstones %+v", tombs)
	}
	if name, v := decodeGroupValue(t, tombs[2]); name != "g" || v != nil {
		t.Fatalf("group tombstone")
	}
	if d := h.shard.DescribeGroup(h.loop, "g", false); d.State != "Dead" {
		t.Fatalf("after delete %+v", d)
	}
	if f := h.shard.OffsetFetch(h.loop, RequestInfo{}, "g", nil, false); len(f.Topics) != 0 {
		t.Fatalf("offsets after delete %+v", f)
	}
	if code := h.deleteGroup("g"); code != codeGroupIDNotFound {
		t.Fatalf("delete twice %d", code)
	}
}

func TestOffsetDelete(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(1) // subscribed to "t"
	h.commit(commitReq("g", ids[0], 1, "t", 0, 1, "u", 0, 2))
	del := func(group string, parts ...kmsg.OffsetDeleteRequestTopic) *kmsg.OffsetDeleteResponse {
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group, req.Topics = group, parts
		var got *kmsg.OffsetDeleteResponse
		h.shard.OffsetDelete(h.loop, RequestInfo{}, req, func(r *kmsg.OffsetDeleteResponse) { got = r })
		h.loop.flush()
		return got
	}
	topic := func(name string, ps ...int32) kmsg.OffsetDeleteRequestTopic {
		t := kmsg.OffsetDeleteRequestTopic{Topic: name}
		for _, p := range ps {
			t.Partitions = append(t.Partitions, kmsg.OffsetDeleteRequestTopicPartition{Partition: p})
		}
		return t
	}
	if r := del("nope", topic("t", 0)); r.ErrorCode != codeGroupIDNotFound || len(r.Topics) != 0 {
		t.Fatalf("unknown group %+v", r)
	}
	before := len(h.loop.records)
	r := del("g", topic("t", 0), topic("u", 0), topic("zz", 0))
	if r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != codeGroupSubscribedToTopic ||
		r.Topics[1].Partitions[0].ErrorCode != 0 || r.Topics[2].Partitions[0].ErrorCode != codeUnknownTopicOrPartition {
		t.Fatalf("offset delete %+v", r)
	}
	if len(h.loop.records) != before+1 || h.loop.records[before].Value != nil {
		t.Fatalf("tombstones %d", len(h.loop.records)-before)
	}
	f := h.shard.OffsetFetch(h.loop, RequestInfo{}, "g", nil, false)
	if len(f.Topics) != 1 || f.Topics[0].Topic != "t" {
		t.Fatalf("offsets after delete %+v", f)
	}
	// Once empty, the last offset can go; as in Kafka the group stays
	// (Empty) until the next expiry sweep removes it.
	h.leave(3, "g", kmsg.LeaveGroupRequestMember{MemberID: ids[0]})
	if r := del("g", topic("t", 0)); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("empty group offset delete %+v", r)
	}
	if d := h.shard.DescribeGroup(h.loop, "g", false); d.State != "Empty" {
		t.Fatalf("group right after its last offset was deleted %+v", d)
	}
	h.shard.ExpireOffsets(h.loop)
	h.loop.flush()
	if d := h.shard.DescribeGroup(h.loop, "g", false); d.State != "Dead" {
		t.Fatalf("group after the expiry sweep %+v", d)
	}
	if name, v := decodeGroupValue(t, h.loop.records[len(h.loop.records)-1]); name != "g" || v != nil {
		t.Fatalf("group tombstone missing")
	}
}

func TestOffsetsExpireForEmptyGroup(t *testing.T) {
	h := newHarness(t)
	h.shard.Loaded(h.loop) // arms the sweep
	ids := h.stableGroup(1)
	h.commit(commitReq("g", ids[0], 1, "t", 0, 1))
	h.leave(3, "g", kmsg.LeaveGroupRequestMember{MemberID: ids[0]})
	h.commit(commitReq("simple", "", -1, "u", 0, 3))
	emptyAt := h.loop.now
	h.loop.advance(DefaultOffsetsRetention - time.Minute)
	if f := h.shard.OffsetFetch(h.loop, RequestInfo{}, "g", nil, false); len(f.Topics) != 1 {
		t.Fatalf("offsets expired early")
	}
	before := len(h.loop.records)
	h.loop.advance(OffsetsRetentionCheckInterval + time.Minute)
	if !h.loop.now.After(emptyAt.Add(DefaultOffsetsRetention)) {
		t.Fatalf("clock")
	}
	if got := h.shard.ListGroups(nil, nil); len(got) != 0 {
		t.Fatalf("groups after expiry %+v", got)
	}
	// g: offset + group tombstone; simple: offset + group tombstone.
	if len(h.loop.records) != before+4 {
		t.Fatalf("expiry wrote %d records", len(h.loop.records)-before)
	}
	for _, r := range h.loop.records[before:] {
		if r.Value != nil {
			t.Fatalf("non-tombstone written by expiry")
		}
	}
	if _, ok := h.loop.timers[expireKey]; !ok {
		t.Fatalf("sweep not rearmed: %v", h.loop.timerKeys())
	}
}

// observe is every answer a client could see about the shard's groups.
func observe(h *harness) []any {
	var out []any
	groups := h.shard.ListGroups(nil, nil)
	out = append(out, groups)
	for _, g := range groups {
		out = append(out, h.shard.DescribeGroup(h.loop, g.Group, true), h.shard.OffsetFetch(h.loop, RequestInfo{}, g.Group, nil, false))
	}
	return out
}

func TestReplayRebuildsState(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(2)
	h.commit(commitReq("g", ids[0], 1, "t", 0, 10, "t", 1, 11, "u", 0, 3))
	h.commit(commitReq("g", ids[1], 1, "t", 0, 12))
	h.commit(commitReq("s", "", -1, "u", 0, 1))
	h.commit(commitReq("gone", "", -1, "u", 0, 1))
	if code := h.deleteGroup("gone"); code != 0 {
		t.Fatalf("delete %d", code)
	}
	joinS := h.join(joinSpec{group: "static", instance: strp("i1")})
	h.loop.advance(3 * time.Second)
	h.sync("static", (*joinS).MemberID, 1, map[string]string{(*joinS).MemberID: "S"})
	h.heartbeat("g", ids[0], 1)
	h.heartbeat("g", ids[1], 1)
	// e: a group that became Empty after its member left.
	joinE := h.join(joinSpec{group: "e", version: 3})
	h.loop.advance(3 * time.Second)
	h.leave(3, "e", kmsg.LeaveGroupRequestMember{MemberID: (*joinE).MemberID})

	fresh := &harness{t: t, loop: newLoop(t), shard: NewShard(7, testConfig()), cfg: testConfig()}
	fresh.loop.now = h.loop.now
	for i, r := range h.loop.records {
		if err := fresh.shard.Replay(r); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	fresh.shard.Loaded(fresh.loop)
	if got, want := observe(fresh), observe(h); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed state differs:\n got %+v\nwant %+v", got, want)
	}
	// Loaded members keep their generation and get session timers.
	if code := fresh.heartbeat("g", ids[0], 1); code != 0 {
		t.Fatalf("heartbeat after load %d", code)
	}
	fresh.loop.advance(11 * time.Second)
	// Both sessions have passed: the members are gone and the group is
	// Empty at generation 2, written to the log.
	if d := fresh.shard.DescribeGroup(fresh.loop, "g", false); d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after sessions on load %+v", d)
	}
	last := fresh.loop.records[len(fresh.loop.records)-1]
	if name, v := decodeGroupValue(t, last); name != "g" || v.Generation != 2 || len(v.Members) != 0 {
		t.Fatalf("record after expiry on load %+v", v)
	}
}

func TestWriteFailureLeavesStateUnchanged(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup(1)
	h.commit(commitReq("g", ids[0], 1, "t", 0, 10))
	before := observe(h)
	h.loop.failWrites = coordinator.ErrNotCoordinator
	if got := commitCodes(h.commit(commitReq("g", ids[0], 1, "t", 0, 20, "t", 1, 21))); !reflect.DeepEqual(got, []int16{codeNotCoordinator, codeNotCoordinator}) {
		t.Fatalf("failed commit codes %v", got)
	}
	h.loop.failWrites = errors.New("disk on fire")
	if got := commitCodes(h.commit(commitReq("new", "", -1, "t", 0, 1))); got[0] != codeCoordinatorNotAvailable {
		t.Fatalf("failed simple commit %v", got)
	}
	if code := h.deleteGroup("new"); code != codeGroupIDNotFound {
		t.Fatalf("failed commit created the group: %d", code)
	}
	if after := observe(h); !reflect.DeepEqual(after, before) {
		t.Fatalf("state changed:\n%+v\n%+v", after, before)
	}
	// A failed leader sync fails the syncs and rebalances.
	r := *h.join(joinSpec{member: ids[0]}) // leader rejoin: generation 2
	if r.Generation != 2 {
		t.Fatalf("rejoin %+v", r)
	}
	s := *h.sync("g", ids[0], 2, map[string]string{ids[0]: "x"})
	if s.ErrorCode != codeCoordinatorNotAvailable {
		t.Fatalf("failed sync %+v", s)
	}
	if d := h.shard.DescribeGroup(h.loop, "g", false); d.State != "PreparingRebalance" {
		t.Fatalf("after failed sync %+v", d)
	}
}

func TestCloseFailsPendingRequests(t *testing.T) {
	h := newHarness(t)
	_, pending := h.joinDynamic(joinSpec{})
	h.shard.Close()
	if *pending == nil || (*pending).ErrorCode != codeNotCoordinator {
		t.Fatalf("pending join after close %+v", *pending)
	}
	if code := h.heartbeat("g", "x", 1); code != codeNotCoordinator {
		t.Fatalf("heartbeat after close %d", code)
	}
	h.loop.advance(time.Minute) // timers are inert
}

func TestJoinGroupV0NoMemberIDRequired(t *testing.T) {
	h := newHarness(t)
	r := h.join(joinSpec{v0: true})
	h.loop.advance(3 * time.Second)
	if *r == nil || (*r).ErrorCode != 0 || (*r).Generation != 1 || (*r).Version != 0 || *(*r).Protocol != "range" {
		t.Fatalf("v0 join %+v", *r)
	}
}

func TestPendingSyncTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t)
	a, ja := h.joinDynamic(joinSpec{})
	b, jb := h.joinDynamic(joinSpec{})
	h.loop.advance(6 * time.Second)
	if (*ja).Generation != 1 || (*jb).Generation != 1 {
		t.Fatalf("joins")
	}
	h.sync("g", a, 1, map[string]string{a: "A", b: "B"})
	// b never syncs; it heartbeats, but the rebalance timeout (30s) evicts it.
	for i := 0; i < 8; i++ {
		h.loop.advance(4 * time.Second)
		h.heartbeat("g", a, 1)
		h.heartbeat("g", b, 1)
	}
	d := h.shard.DescribeGroup(h.loop, "g", false)
	if len(d.Members) != 1 || d.Members[0].MemberID != a || d.State != "PreparingRebalance" {
		t.Fatalf("after sync timeout %+v", d)
	}
}
