package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 20, MinVersion: 0, MaxVersion: 6, Handle: handleDeleteTopics})
}

func handleDeleteTopics(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		for _, n := range r.TopicNames {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			name := n
			rt.Topic, rt.ErrorCode = &name, code
			resp.Topics = append(resp.Topics, rt)
		}
		for _, t := range r.Topics {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}) {
		return
	}
	ctx, cancel := adminContext(req.Ctx, r.TimeoutMillis)
	defer cancel()

	var names []string
	var ids [][16]byte
	if req.Version >= 6 {
		for _, t := range r.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			} else {
				ids = append(ids, t.TopicID)
			}
		}
	} else {
		names = r.TopicNames
	}
	if !env.Config.DeleteTopicEnable {
		for _, n := range names {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			name := n
			rt.Topic = &name
			rt.ErrorCode = kerr.TopicDeletionDisabled.Code
			resp.Topics = append(resp.Topics, rt)
		}
		for _, id := range ids {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.TopicID = id
			rt.ErrorCode = kerr.TopicDeletionDisabled.Code
			resp.Topics = append(resp.Topics, rt)
		}
		respond(resp)
		return
	}
	for _, res := range env.Controller.DeleteTopics(ctx, names, ids) {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		if res.Name != "" {
			name := res.Name
			rt.Topic = &name
		}
		rt.TopicID = res.ID
		rt.ErrorCode = res.ErrorCode
		if res.ErrorMessage != "" && req.Version >= 5 {
			msg := res.ErrorMessage
			rt.ErrorMessage = &msg
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}
