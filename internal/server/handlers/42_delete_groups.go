package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 42, MinVersion: 0, MaxVersion: 2, Handle: handleDeleteGroups})
}

func handleDeleteGroups(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DeleteGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	resp.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(r.Groups))
	g := newGather(len(r.Groups), func() { respond(resp) })
	for i, name := range r.Groups {
		result := func(code int16) {
			d := kmsg.NewDeleteGroupsResponseGroup()
			d.Group = name
			d.ErrorCode = code
			g.finish(func() { resp.Groups[i] = d })
		}
		onGroup(env, name, result, func(ctx coordinator.Context, s *group.Shard) {
			s.DeleteGroup(ctx, name, result)
		})
	}
}
