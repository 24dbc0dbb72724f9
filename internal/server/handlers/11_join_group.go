package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 11, MinVersion: 0, MaxVersion: 9, Handle: handleJoinGroup})
}

func handleJoinGroup(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.JoinGroupRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = code
		resp.Generation = -1
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.JoinGroup(ctx, requestInfo(req), r, func(resp *kmsg.JoinGroupResponse) { respond(resp) })
	})
}
