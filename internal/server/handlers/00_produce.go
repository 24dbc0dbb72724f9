package handlers

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/partition"
	"samsa/internal/record"
)

// Produce v0-v2 carry magic 0/1 message sets (converted on the way in);
// v3+ carry one magic 2 batch per partition. v12+ belong to the second
// transaction protocol (KIP-890) and v13 to topic ids; not yet.
func init() {
	register(API{Key: 0, MinVersion: 0, MaxVersion: 11, Handle: handleProduce})
}

func handleProduce(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	acksOK := r.Acks == 0 || r.Acks == 1 || r.Acks == -1
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.BaseOffset = -1
			rp.LogAppendTime = -1
			rp.LogStartOffset = -1
			switch {
			case !acksOK:
				rp.ErrorCode = kerr.InvalidRequiredAcks.Code
			case r.TransactionID != nil:
				rp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			default:
				produceOne(env, req, t.Topic, p.Records, &rp)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if r.Acks == 0 {
		respond(nil)
		return
	}
	respond(resp)
}

func produceOne(env *Env, req *Request, topic string, records []byte, rp *kmsg.ProduceResponseTopicPartition) {
	p, err := lookupPartition(env, topic, rp.Partition)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	if len(records) == 0 {
		rp.ErrorCode = kerr.InvalidRecord.Code
		return
	}
	if magic, _ := record.PeekMagic(records); req.Version >= 3 && magic != 2 {
		// Produce v3+ must carry magic 2 batches (Kafka: INVALID_RECORD).
		rp.ErrorCode = kerr.InvalidRecord.Code
		return
	} else if req.Version >= 3 {
		if size, err := record.PeekSize(records); err == nil && size < len(records) {
			// Exactly one batch per partition from v3 on.
			rp.ErrorCode = kerr.InvalidRecord.Code
			return
		}
	}
	res, err := p.AppendRecords(records)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		if msg := err.Error(); req.Version >= 8 && partition.IsRecordError(err) {
			rp.ErrorMessage = &msg
		}
		if !partition.IsRecordError(err) && !errors.Is(err, partition.ErrNotLeader) && rp.ErrorCode == kerr.KafkaStorageError.Code {
			req.Log.Error("append failed", "partition", p.ID.String(), "err", err)
		}
		return
	}
	rp.BaseOffset = res.BaseOffset
	rp.LogAppendTime = res.LogAppendTime
	rp.LogStartOffset = res.LogStartOffset
}
