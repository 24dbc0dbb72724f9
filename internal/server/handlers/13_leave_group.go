package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 13, MinVersion: 0, MaxVersion: 5, Handle: handleLeaveGroup})
}

func handleLeaveGroup(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.LeaveGroupRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = code
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.LeaveGroup(ctx, requestInfo(req), r, func(resp *kmsg.LeaveGroupResponse) { respond(resp) })
	})
}
