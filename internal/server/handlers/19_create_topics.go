package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

func init() {
	register(API{Key: 19, MinVersion: 0, MaxVersion: 7, Handle: handleCreateTopics})
}

func handleCreateTopics(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		for _, t := range r.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode, rt.NumPartitions, rt.ReplicationFactor = t.Topic, code, -1, -1
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
	var reqs []controller.CreateTopic
	for _, t := range r.Topics {
		if seen[t.Topic] > 1 {
			continue
		}
		ct := controller.CreateTopic{Name: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor, Configs: map[string]string{}}
		if len(t.ReplicaAssignment) > 0 {
			ct.Assignment = map[int32][]int32{}
			for _, a := range t.ReplicaAssignment {
				ct.Assignment[a.Partition] = a.Replicas
			}
		}
		for _, c := range t.Configs {
			if c.Value != nil {
				ct.Configs[c.Name] = *c.Value
			}
		}
		reqs = append(reqs, ct)
	}
	results := map[string]controller.CreateTopicResult{}
	if len(reqs) > 0 {
		for _, res := range env.Controller.CreateTopics(ctx, reqs, r.ValidateOnly) {
			results[res.Name] = res
		}
	}
	for _, t := range r.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.NumPartitions = -1
		rt.ReplicationFactor = -1
		if seen[t.Topic] > 1 {
			rt.ErrorCode = kerr.InvalidRequest.Code
			msg := "topic named more than once in the request"
			rt.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		res := results[t.Topic]
		rt.ErrorCode = res.ErrorCode
		if res.ErrorMessage != "" && req.Version >= 1 {
			msg := res.ErrorMessage
			rt.ErrorMessage = &msg
		}
		if res.ErrorCode == 0 {
			rt.TopicID = res.ID
			rt.NumPartitions = res.NumPartitions
			rt.ReplicationFactor = res.ReplicationFactor
			for _, e := range res.Configs {
				rc := kmsg.NewCreateTopicsResponseTopicConfig()
				rc.Name = e.Name
				rc.Value = e.Value
				rc.ReadOnly = e.ReadOnly
				rc.Source = int8(e.Source)
				rc.IsSensitive = e.Sensitive
				rt.Configs = append(rt.Configs, rc)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}

// adminContext bounds an admin request by its timeout_ms (at least a
// second, at most a minute).
func adminContext(parent context.Context, timeoutMs int32) (context.Context, context.CancelFunc) {
	d := time.Duration(timeoutMs) * time.Millisecond
	d = min(max(d, time.Second), time.Minute)
	return context.WithTimeout(parent, d)
}
