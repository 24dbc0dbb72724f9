package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

// OffsetFetch v0-v9: v8+ batch several groups (each on its own shard);
// older versions name one group and get its offsets at the top level.
func init() {
	register(API{Key: 9, MinVersion: 0, MaxVersion: 9, Handle: handleOffsetFetch})
}

func handleOffsetFetch(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.OffsetFetchRequest)
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		topics := r.Topics
		if req.Version < 2 && topics == nil {
			topics = []kmsg.OffsetFetchRequestTopic{} // "all topics" arrived in v2
		}
		fetchGroupOffsets(env, req, r.Group, topics, r.RequireStable, func(g kmsg.OffsetFetchResponseGroup) {
			resp.ErrorCode = g.ErrorCode
			for _, t := range g.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
					if req.Version < 2 && g.ErrorCode != 0 {
						rp.ErrorCode = g.ErrorCode // v0-1 have no top-level error
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			respond(resp)
		})
		return
	}
	resp.Groups = make([]kmsg.OffsetFetchResponseGroup, len(r.Groups))
	g := newGather(len(r.Groups), func() { respond(resp) })
	for i, rg := range r.Groups {
		var topics []kmsg.OffsetFetchRequestTopic
		if rg.Topics != nil {
			topics = make([]kmsg.OffsetFetchRequestTopic, 0, len(rg.Topics))
			for _, t := range rg.Topics {
				topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
			}
		}
		fetchGroupOffsets(env, req, rg.Group, topics, r.RequireStable, func(res kmsg.OffsetFetchResponseGroup) {
			g.finish(func() { resp.Groups[i] = res })
		})
	}
}

// fetchGroupOffsets answers one group's offsets through done, on the
// group's shard or with the routing error.
func fetchGroupOffsets(env *Env, req *Request, groupID string, topics []kmsg.OffsetFetchRequestTopic, requireStable bool, done func(kmsg.OffsetFetchResponseGroup)) {
	onGroup(env, groupID, func(code int16) {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group = groupID
		g.ErrorCode = code
		done(g)
	}, func(ctx coordinator.Context, s *group.Shard) {
		g := s.OffsetFetch(ctx, requestInfo(req), groupID, topics, requireStable)
		g.Group = groupID
		done(g)
	})
}
