package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/config"
	"samsa/internal/controller"
)

// IncrementalAlterConfigs (KIP-339): SET, DELETE, APPEND and SUBTRACT on
// single configs of a topic.
func init() {
	register(API{Key: 44, MinVersion: 0, MaxVersion: 1, Handle: handleIncrementalAlterConfigs})
}

func handleIncrementalAlterConfigs(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		for _, res := range r.Resources {
			rr := kmsg.NewIncrementalAlterConfigsResponseResource()
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
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType = res.ResourceType
		rr.ResourceName = res.ResourceName
		if int8(res.ResourceType) != resourceTopic {
			rr.ErrorCode = kerr.InvalidRequest.Code
			msg := "only topic configs can be altered"
			rr.ErrorMessage = &msg
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		ac := controller.AlterConfig{ResourceType: int8(res.ResourceType), Name: res.ResourceName, Incremental: true}
		bad := false
		for _, c := range res.Configs {
			op := config.AlterOp{Name: c.Name}
			if c.Value != nil {
				op.Value = *c.Value
			}
			switch c.Op {
			case kmsg.IncrementalAlterConfigOpSet:
				op.Op = config.OpSet
			case kmsg.IncrementalAlterConfigOpDelete:
				op.Op = config.OpDelete
			case kmsg.IncrementalAlterConfigOpAppend:
				op.Op = config.OpAppend
			case kmsg.IncrementalAlterConfigOpSubtract:
				op.Op = config.OpSubtract
			default:
				bad = true
			}
			ac.Ops = append(ac.Ops, op)
		}
		if bad {
			rr.ErrorCode = kerr.InvalidRequest.Code
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		reqs = append(reqs, ac)
		idx = append(idx, len(resp.Resources))
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
