package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch (KIP-101/279): consumers (v3+, replica id -2) use it
// to detect log truncation after a leader change; followers will use it to
// truncate.
func init() {
	register(API{Key: 23, MinVersion: 0, MaxVersion: 4, Handle: handleOffsetForLeaderEpoch})
}

func handleOffsetForLeaderEpoch(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for _, ep := range t.Partitions {
			rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			rp.Partition = ep.Partition
			rp.LeaderEpoch = -1
			rp.EndOffset = -1
			p, err := lookupPartition(env, t.Topic, ep.Partition)
			if err == nil && req.Version >= 2 {
				err = p.CheckLeaderEpoch(ep.CurrentLeaderEpoch)
			}
			if err != nil {
				rp.ErrorCode = errorCode(err)
			} else {
				rp.LeaderEpoch, rp.EndOffset = p.EndOffsetForEpoch(ep.LeaderEpoch)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}
