package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// ListPartitionReassignments (KIP-455): the reassignments in progress, of
// the named partitions or (no topic list) of every partition, as the active
// controller knows them. Partitions not being reassigned are left out.
func init() {
	register(API{Key: 46, MinVersion: 0, MaxVersion: 0, Handle: handleListPartitionReassignments})
}

func handleListPartitionReassignments(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ListPartitionReassignmentsRequest)
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		resp.ErrorCode = code
		return resp
	}) {
		return
	}
	var named []controller.TopicPartition
	if r.Topics != nil {
		named = []controller.TopicPartition{}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				named = append(named, controller.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	results := env.Controller.ListPartitionReassignments(named)
	for _, name := range sortedTopicPartitions(results) {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != name.Topic {
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = name.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		reassignment := results[name]
		rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		rp.Partition = name.Partition
		rp.Replicas, rp.AddingReplicas, rp.RemovingReplicas = reassignment.Replicas, reassignment.Adding, reassignment.Removing
		last := &resp.Topics[len(resp.Topics)-1]
		last.Partitions = append(last.Partitions, rp)
	}
	respond(resp)
}
