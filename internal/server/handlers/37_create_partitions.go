package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

func init() {
	register(API{Key: 37, MinVersion: 0, MaxVersion: 3, Handle: handleCreatePartitions})
}

func handleCreatePartitions(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		for _, t := range r.Topics {
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}) {
		return
	}
	ctx, cancel := adminContext(req.Ctx, r.TimeoutMillis)
	defer cancel()

	seen := map[string]int{}
	for _, t := range r.Topics {
		seen[t.Topic]++
	}
	var reqs []controller.CreatePartitions
	for _, t := range r.Topics {
		if seen[t.Topic] > 1 {
			continue
		}
		cp := controller.CreatePartitions{Topic: t.Topic, Count: t.Count}
		for _, a := range t.Assignment {
			cp.Assignment = append(cp.Assignment, a.Replicas)
		}
		reqs = append(reqs, cp)
	}
	results := map[string]controller.Result{}
	for _, res := range env.Controller.CreatePartitions(ctx, reqs, r.ValidateOnly) {
		results[res.Name] = res
	}
	for _, t := range r.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		if seen[t.Topic] > 1 {
			rt.ErrorCode = kerr.InvalidRequest.Code
		} else {
			res := results[t.Topic]
			rt.ErrorCode = res.ErrorCode
			if res.ErrorMessage != "" {
				msg := res.ErrorMessage
				rt.ErrorMessage = &msg
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}
