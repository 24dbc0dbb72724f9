package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId for idempotent producers (no transactional id). v3+ lets a
// producer that hit an error bump its epoch (KIP-360). Transactional ids
// need the transaction coordinator, which is not part of Samsa yet: they are
// refused with an explicit error rather than half-served.
func init() {
	register(API{Key: 22, MinVersion: 0, MaxVersion: 5, Handle: handleInitProducerID})
}

func handleInitProducerID(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID = -1
	resp.ProducerEpoch = -1
	if r.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		respond(resp)
		return
	}
	if req.Version >= 3 && r.ProducerID >= 0 && r.ProducerEpoch >= 0 && r.ProducerEpoch < 32766 {
		// Epoch bump for a known idempotent producer (KIP-360).
		resp.ProducerID = r.ProducerID
		resp.ProducerEpoch = r.ProducerEpoch + 1
		respond(resp)
		return
	}
	ctx, cancel := context.WithTimeout(req.Ctx, 10*time.Second)
	defer cancel()
	id, err := env.ProducerIDs.Next(ctx)
	if err != nil {
		req.Log.Warn("allocating a producer id", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		respond(resp)
		return
	}
	resp.ProducerID = id
	resp.ProducerEpoch = 0
	respond(resp)
}
