package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/config"
	"samsa/internal/controller"
)

// AlterConfigs replaces the whole set of dynamic configs of a resource.
// Topic resources only; dynamic broker configs are not supported yet and
// are refused with an explicit message.
func init() {
	register(API{Key: 33, MinVersion: 0, MaxVersion: 2, Handle: handleAlterConfigs})
}

func handleAlterConfigs(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		for _, res := range r.Resources {
			rr := kmsg.NewAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ErrorCode = res.ResourceType, res.ResourceName, code
			resp.Resources = append(resp.Resources, rr)
		}
		return resp
	}) {
		return
	}
	var reqs []controller.AlterConfig
	var idx []int
	for _, res := range r.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType = res.ResourceType
		rr.ResourceName = res.ResourceName
		if int8(res.ResourceType) != resourceTopic {
			rr.ErrorCode = kerr.InvalidRequest.Code
			msg := "only topic configs can be altered"
			rr.ErrorMessage = &msg
		} else {
			ac := controller.AlterConfig{ResourceType: int8(res.ResourceType), Name: res.ResourceName}
			for _, c := range res.Configs {
				op := config.AlterOp{Name: c.Name, Op: config.OpSet}
				if c.Value == nil {
					op.Op = config.OpDelete
				} else {
					op.Value = *c.Value
				}
				ac.Ops = append(ac.Ops, op)
			}
			reqs = append(reqs, ac)
			idx = append(idx, len(resp.Resources))
		}
		resp.Resources = append(resp.Resources, rr)
	}
	ctx, cancel := adminContext(req.Ctx, 30000)
	defer cancel()
	for i, res := range env.Controller.AlterConfigs(ctx, reqs, r.ValidateOnly) {
		rr := &resp.Resources[idx[i]]
		rr.ErrorCode = res.ErrorCode
		if res.ErrorMessage != "" {
			msg := res.ErrorMessage
			rr.ErrorMessage = &msg
		}
	}
	respond(resp)
}
