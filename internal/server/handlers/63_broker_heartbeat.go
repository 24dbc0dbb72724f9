package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// BrokerHeartbeat (KIP-631): brokers keep their session with the active
// controller alive; a broker that stops is fenced and loses its
// leaderships. WantShutdown asks for a controlled shutdown.
func init() {
	register(API{Key: 63, MinVersion: 0, MaxVersion: 1, Handle: handleBrokerHeartbeat})
}

func handleBrokerHeartbeat(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.BrokerHeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	if !env.Controller.IsActive() {
		resp.ErrorCode = kerr.NotController.Code
		respond(resp)
		return
	}
	ctx, cancel := context.WithTimeout(req.Ctx, 10*time.Second)
	defer cancel()
	res, err := env.Controller.BrokerHeartbeat(ctx, controller.HeartbeatRequest{
		BrokerID: r.BrokerID, BrokerEpoch: r.BrokerEpoch, WantFence: r.WantFence, WantShutdown: r.WantShutdown,
		CurrentMetadataOffset: r.CurrentMetadataOffset,
	})
	if err != nil {
		resp.ErrorCode = errorCode(err)
		respond(resp)
		return
	}
	resp.IsFenced, resp.ShouldShutdown = res.IsFenced, res.ShouldShutdown
	resp.IsCaughtUp = true
	respond(resp)
}
