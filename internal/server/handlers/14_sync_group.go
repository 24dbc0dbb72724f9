package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 14, MinVersion: 0, MaxVersion: 5, Handle: handleSyncGroup})
}

func handleSyncGroup(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.SyncGroupRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.SyncGroup(ctx, requestInfo(req), r, func(resp *kmsg.SyncGroupResponse) { respond(resp) })
	})
}
