package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AllocateProducerIds (KIP-730): brokers get blocks of producer ids from the
// active controller, durable in the metadata log.
func init() {
	register(API{Key: 67, MinVersion: 0, MaxVersion: 0, Handle: handleAllocateProducerIDs})
}

func handleAllocateProducerIDs(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.AllocateProducerIDsRequest)
	resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	if !env.Controller.IsActive() {
		resp.ErrorCode = kerr.NotController.Code
		respond(resp)
		return
	}
	ctx, cancel := context.WithTimeout(req.Ctx, 10*time.Second)
	defer cancel()
	first, count, err := env.Controller.AllocateProducerIDs(ctx, r.BrokerID)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		respond(resp)
		return
	}
	resp.ProducerIDStart, resp.ProducerIDLen = first, count
	respond(resp)
}
