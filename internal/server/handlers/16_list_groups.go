package handlers

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
	"samsa/internal/group"
)

// ListGroups lists the groups this broker coordinates (admin clients ask
// every broker), v4+ filtered by state, v5+ by type.
func init() {
	register(API{Key: 16, MinVersion: 0, MaxVersion: 5, Handle: handleListGroups})
}

func handleListGroups(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ListGroupsRequest)
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	shards := env.Groups.Shards()
	g := newGather(len(shards), func() {
		sort.Slice(resp.Groups, func(i, j int) bool { return resp.Groups[i].Group < resp.Groups[j].Group })
		respond(resp)
	})
	for _, sh := range shards {
		err := sh.Do(func(_ coordinator.Context, s *group.Shard) {
			found := s.ListGroups(r.StatesFilter, r.TypesFilter)
			g.finish(func() { resp.Groups = append(resp.Groups, found...) })
		})
		if err != nil {
			// A shard still loading: Kafka answers COORDINATOR_LOAD_IN_PROGRESS.
			code := coordinatorErrorCode(err)
			g.finish(func() { resp.ErrorCode = code })
		}
	}
}
