package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// AlterPartitionReassignments (KIP-455): start (a replica list) or cancel
// (a null list) partition reassignments on the active controller. v1
// (KIP-860) adds AllowReplicationFactorChange: false refuses a target whose
// size differs from the partition's replica set with
// INVALID_REPLICATION_FACTOR; v0 always allows it.
func init() {
	register(API{Key: 45, MinVersion: 0, MaxVersion: 1, Handle: handleAlterPartitionReassignments})
}

func handleAlterPartitionReassignments(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		return alterReassignmentsResponse(r, nil, code)
	}) {
		return
	}
	targets := map[controller.TopicPartition][]int32{}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			targets[controller.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = p.Replicas
		}
	}
	ctx, cancel := adminContext(req.Ctx, r.TimeoutMillis)
	defer cancel()
	options := controller.ReassignOptions{AllowReplicationFactorChange: r.Version < 1 || r.AllowReplicationFactorChange}
	respond(alterReassignmentsResponse(r, env.Controller.AlterPartitionReassignments(ctx, targets, options), 0))
}

// alterReassignmentsResponse answers every partition of the request with
// its result, or with code when code is not 0.
func alterReassignmentsResponse(r *kmsg.AlterPartitionAssignmentsRequest, results map[controller.TopicPartition]error, code int16) *kmsg.AlterPartitionAssignmentsResponse {
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = r.AllowReplicationFactorChange
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code
			if code == 0 {
				if err := results[controller.TopicPartition{Topic: t.Topic, Partition: p.Partition}]; err != nil {
					rp.ErrorCode = errorCode(err)
					message := err.Error()
					rp.ErrorMessage = &message
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
