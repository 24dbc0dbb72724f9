package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 12, MinVersion: 0, MaxVersion: 4, Handle: handleHeartbeat})
}

func handleHeartbeat(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.HeartbeatRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = code
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.Heartbeat(ctx, requestInfo(req), r, func(resp *kmsg.HeartbeatResponse) { respond(resp) })
	})
}
