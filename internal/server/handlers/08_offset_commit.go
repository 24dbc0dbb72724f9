package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 8, MinVersion: 0, MaxVersion: 9, Handle: handleOffsetCommit})
}

func handleOffsetCommit(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.OffsetCommitRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.OffsetCommit(ctx, requestInfo(req), r, func(resp *kmsg.OffsetCommitResponse) { respond(resp) })
	})
}
