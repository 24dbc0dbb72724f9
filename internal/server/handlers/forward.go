package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// Peers sends requests to other nodes (internal/peer): to brokers on their
// inter-broker listener, to controllers on their controller listener.
type Peers interface {
	Request(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error)
	RequestController(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error)
}

// forwardTimeout bounds a request forwarded to the active controller.
const forwardTimeout = 30 * time.Second

// forwardToController hands a controller write received by a node that is
// not the active controller to the one that is, and delivers its answer.
// It reports whether it took the request. fail builds the response that
// carries an error code for every item of the request.
func forwardToController(env *Env, req *Request, respond Responder, fail func(code int16) kmsg.Response) bool {
	if env.Controller.IsActive() {
		return false
	}
	leader := env.Controller.LeaderID()
	if leader < 0 || env.Peers == nil {
		respond(fail(kerr.NotController.Code))
		return true
	}
	go func() {
		ctx, cancel := context.WithTimeout(req.Ctx, forwardTimeout)
		defer cancel()
		resp, err := env.Peers.RequestController(ctx, leader, req.Kreq)
		if err != nil {
			req.Log.Warn("forwarding to the active controller failed", "api", kmsg.NameForKey(req.Kreq.Key()), "controller", leader, "err", err)
			respond(fail(kerr.NotController.Code))
			return
		}
		respond(resp)
	}()
	return true
}

// createTopics creates topics through the active controller: directly when
// it is this node, otherwise with a CreateTopics request to it.
func createTopics(env *Env, ctx context.Context, reqs []controller.CreateTopic) []controller.CreateTopicResult {
	if env.Controller.IsActive() || env.Peers == nil {
		return env.Controller.CreateTopics(ctx, reqs, false)
	}
	kreq := kmsg.NewPtrCreateTopicsRequest()
	kreq.Version = 7
	kreq.TimeoutMillis = int32(forwardTimeout / time.Millisecond)
	img := env.Image()
	for _, r := range reqs {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = r.Name, r.NumPartitions, r.ReplicationFactor
		if r.CapReplicationFactor {
			// The controller caps internal topics to the live brokers; a
			// forwarded request carries the capped value.
			t.ReplicationFactor = min(t.ReplicationFactor, int16(len(sortedBrokers(img))))
		}
		for k, v := range r.Configs {
			t.Configs = append(t.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: k, Value: &v})
		}
		kreq.Topics = append(kreq.Topics, t)
	}
	results := make([]controller.CreateTopicResult, len(reqs))
	for i, r := range reqs {
		results[i] = controller.CreateTopicResult{Name: r.Name, ErrorCode: kerr.NotController.Code}
	}
	leader := env.Controller.LeaderID()
	if leader < 0 {
		return results
	}
	resp, err := env.Peers.RequestController(ctx, leader, kreq)
	if err != nil {
		env.Log.Warn("creating topics through the active controller failed", "controller", leader, "err", err)
		return results
	}
	for i, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if i < len(results) {
			results[i] = controller.CreateTopicResult{Name: t.Topic, ID: t.TopicID, ErrorCode: t.ErrorCode,
				NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
			if t.ErrorMessage != nil {
				results[i].ErrorMessage = *t.ErrorMessage
			}
		}
	}
	// Wait until this node's metadata has the new topics, so that the
	// caller's next look at the image sees them.
	waitForTopics(ctx, env, reqs)
	return results
}

func waitForTopics(ctx context.Context, env *Env, reqs []controller.CreateTopic) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		img := env.Image()
		all := true
		for _, r := range reqs {
			if img.Topics[r.Name] == nil {
				all = false
				break
			}
		}
		if all {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// AllocateProducerIDs returns a fresh block of producer ids from the active
// controller (in-process or with an AllocateProducerIds request).
func AllocateProducerIDs(ctx context.Context, ctrl *controller.Controller, peers Peers, brokerID int32) (int64, int32, error) {
	if ctrl.IsActive() || peers == nil {
		return ctrl.AllocateProducerIDs(ctx, brokerID)
	}
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID = brokerID
	req.BrokerEpoch = -1
	resp, err := peers.RequestController(ctx, ctrl.LeaderID(), req)
	if err != nil {
		return -1, 0, err
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return -1, 0, err
	}
	return r.ProducerIDStart, r.ProducerIDLen, nil
}
