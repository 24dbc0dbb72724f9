package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/metadata"
)

// BrokerRegistration (KIP-631): a broker announces its endpoints and rack
// to the active controller, which records them in the metadata log.
func init() {
	register(API{Key: 62, MinVersion: 0, MaxVersion: 3, Handle: handleBrokerRegistration})
}

func handleBrokerRegistration(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.BrokerRegistrationRequest)
	resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	resp.BrokerEpoch = -1
	if !env.Controller.IsActive() {
		resp.ErrorCode = kerr.NotController.Code
		respond(resp)
		return
	}
	reg := RegistrationFromRequest(r)
	ctx, cancel := context.WithTimeout(req.Ctx, 10*time.Second)
	defer cancel()
	epoch, err := env.Controller.RegisterBroker(ctx, reg)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		respond(resp)
		return
	}
	resp.BrokerEpoch = epoch
	respond(resp)
}

// RegistrationRequest builds the BrokerRegistration request for reg.
func RegistrationRequest(reg metadata.RegisterBroker, clusterID string) *kmsg.BrokerRegistrationRequest {
	r := kmsg.NewPtrBrokerRegistrationRequest()
	r.Version = 0
	r.BrokerID = reg.ID
	r.ClusterID = clusterID
	r.IncarnationID = reg.IncarnationID
	for _, ep := range reg.Endpoints {
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port, l.SecurityProtocol = ep.Listener, ep.Host, uint16(ep.Port), ep.SecurityProtocol
		r.Listeners = append(r.Listeners, l)
	}
	if reg.Rack != "" {
		rack := reg.Rack
		r.Rack = &rack
	}
	return r
}

// RegistrationFromRequest is the inverse of RegistrationRequest.
func RegistrationFromRequest(r *kmsg.BrokerRegistrationRequest) metadata.RegisterBroker {
	reg := metadata.RegisterBroker{ID: r.BrokerID, IncarnationID: r.IncarnationID}
	for _, l := range r.Listeners {
		reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{Listener: l.Name, Host: l.Host, Port: int32(l.Port), SecurityProtocol: l.SecurityProtocol})
	}
	if r.Rack != nil {
		reg.Rack = *r.Rack
	}
	return reg
}
