package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 47, MinVersion: 0, MaxVersion: 0, Handle: handleOffsetDelete})
}

func handleOffsetDelete(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.OffsetDeleteRequest)
	onGroup(env, r.Group, func(code int16) {
		resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = code
		respond(resp)
	}, func(ctx coordinator.Context, s *group.Shard) {
		s.OffsetDelete(ctx, requestInfo(req), r, func(resp *kmsg.OffsetDeleteResponse) { respond(resp) })
	})
}
