package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords moves the log start offset forward; whole segments below it
// are deleted and reads below it get OFFSET_OUT_OF_RANGE.
func init() {
	register(API{Key: 21, MinVersion: 0, MaxVersion: 2, Handle: handleDeleteRecords})
}

func handleDeleteRecords(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for _, dp := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = dp.Partition
			rp.LowWatermark = -1
			p, err := lookupPartition(env, t.Topic, dp.Partition)
			if err == nil {
				rp.LowWatermark, err = p.DeleteRecordsBefore(dp.Offset)
			}
			rp.ErrorCode = errorCode(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}
