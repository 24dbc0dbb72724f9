package handlers

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// AlterPartition (KIP-497): a partition leader asks the active controller to
// change the in-sync replica set. v2 names topics by id; v3 (ISR with
// broker epochs, KIP-903) is not served.
func init() {
	register(API{Key: 56, MinVersion: 2, MaxVersion: 2, Handle: handleAlterPartition})
}

func handleAlterPartition(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.AlterPartitionRequest)
	resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
	if !env.Controller.IsActive() {
		resp.ErrorCode = kerr.NotController.Code
		respond(resp)
		return
	}
	ctx, cancel := context.WithTimeout(req.Ctx, 10*time.Second)
	defer cancel()
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.TopidID = t.TopicID // sic: kmsg's field name
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition = p.Partition
			img, err := env.Controller.AlterPartition(ctx, controller.AlterPartitionRequest{
				BrokerID: r.BrokerID, BrokerEpoch: r.BrokerEpoch, TopicID: t.TopicID, Partition: p.Partition,
				LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, NewISR: p.NewISR,
			})
			if err != nil {
				rp.ErrorCode = errorCode(err)
			} else {
				rp.LeaderID, rp.LeaderEpoch, rp.ISR, rp.PartitionEpoch = img.Leader, img.LeaderEpoch, img.ISR, img.PartitionEpoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}
