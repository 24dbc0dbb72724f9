package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/coordinator"
)

// FindCoordinator v0-v5 (v4+ batched). Key type 0 is a consumer group; the
// transaction coordinator (key type 1) does not exist yet and is refused
// with a non-retriable error, consistently with InitProducerId.
func init() {
	register(API{Key: 10, MinVersion: 0, MaxVersion: 5, Handle: handleFindCoordinator})
}

func handleFindCoordinator(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := r.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{r.CoordinatorKey}
	}
	for _, key := range keys {
		c := findCoordinator(env, req, int8(r.CoordinatorType), key)
		if req.Version < 4 {
			resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
			resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
			break
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	respond(resp)
}

func findCoordinator(env *Env, req *Request, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key = key
	c.NodeID, c.Port = -1, -1
	fail := func(code int16, msg string) kmsg.FindCoordinatorResponseCoordinator {
		c.ErrorCode = code
		if msg != "" {
			c.ErrorMessage = &msg
		}
		return c
	}
	switch keyType {
	case 0:
	case 1:
		return fail(kerr.TransactionalIDAuthorizationFailed.Code, "transactions are not supported by this broker yet")
	default:
		return fail(kerr.InvalidRequest.Code, "unsupported coordinator key type")
	}
	if err := ensureOffsetsTopic(env, req.Ctx); err != nil {
		return fail(kerr.CoordinatorNotAvailable.Code, "")
	}
	img := env.Image()
	t := img.Topics[OffsetsTopic]
	if t == nil || len(t.Partitions) == 0 {
		return fail(kerr.CoordinatorNotAvailable.Code, "")
	}
	p := t.Partitions[coordinator.PartitionFor(key, int32(len(t.Partitions)))]
	b := img.Brokers[p.Leader]
	if p.Leader < 0 || b == nil || b.Fenced {
		return fail(kerr.CoordinatorNotAvailable.Code, "")
	}
	ep, ok := endpointFor(b, req.Listener)
	if !ok {
		return fail(kerr.CoordinatorNotAvailable.Code, "")
	}
	c.NodeID, c.Host, c.Port = b.ID, ep.Host, ep.Port
	return c
}
