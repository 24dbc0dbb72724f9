package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

func init() {
	register(API{Key: 15, MinVersion: 0, MaxVersion: 5, Handle: handleDescribeGroups})
}

func handleDescribeGroups(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DescribeGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	resp.Groups = make([]kmsg.DescribeGroupsResponseGroup, len(r.Groups))
	g := newGather(len(r.Groups), func() { respond(resp) })
	for i, name := range r.Groups {
		onGroup(env, name, func(code int16) {
			d := kmsg.NewDescribeGroupsResponseGroup()
			d.Group = name
			d.ErrorCode = code
			g.finish(func() { resp.Groups[i] = d })
		}, func(ctx coordinator.Context, s *group.Shard) {
			d := s.DescribeGroup(ctx, name, r.IncludeAuthorizedOperations)
			g.finish(func() { resp.Groups[i] = d })
		})
	}
}
