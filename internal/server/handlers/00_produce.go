package handlers

import (
	"context"
	"errors"
	"time"

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

// replicationWait is one partition of an acks=all request waiting for its
// records to reach the in-sync replicas.
type replicationWait struct {
	part       *partition.Partition
	lastOffset int64
	rp         *kmsg.ProduceResponseTopicPartition
}

func handleProduce(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	acksOK := r.Acks == 0 || r.Acks == 1 || r.Acks == -1
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(r.Topics))
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
	}
	var waits []replicationWait
	for i, t := range r.Topics {
		for j, p := range t.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			*rp = kmsg.NewProduceResponseTopicPartition()
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
				if w, ok := produceOne(env, req, r.Acks, t.Topic, p.Records, rp); ok {
					waits = append(waits, w)
				}
			}
		}
	}
	switch {
	case r.Acks == 0:
		respond(nil)
	case len(waits) == 0:
		respond(resp)
	default:
		// acks=all: answer once every partition's records reached the
		// in-sync replicas (the high watermark passed them) or timeout_ms
		// ran out. Later requests on the connection are read meanwhile;
		// responses still go out in order.
		go func() {
			ctx, cancel := context.WithTimeout(req.Ctx, time.Duration(max(r.TimeoutMillis, 0))*time.Millisecond)
			defer cancel()
			for _, w := range waits {
				if err := w.part.WaitReplicated(ctx, w.lastOffset); err != nil {
					w.rp.ErrorCode = errorCode(err)
					if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
						w.rp.ErrorCode = kerr.RequestTimedOut.Code
					}
				}
			}
			respond(resp)
		}()
	}
}

// produceOne appends one partition's records; with acks=all it returns the
// wait for their replication.
func produceOne(env *Env, req *Request, acks int16, topic string, records []byte, rp *kmsg.ProduceResponseTopicPartition) (replicationWait, bool) {
	p, err := lookupPartition(env, topic, rp.Partition)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return replicationWait{}, false
	}
	if len(records) == 0 {
		rp.ErrorCode = kerr.InvalidRecord.Code
		return replicationWait{}, false
	}
	if magic, _ := record.PeekMagic(records); req.Version >= 3 && magic != 2 {
		// Produce v3+ must carry magic 2 batches (Kafka: INVALID_RECORD).
		rp.ErrorCode = kerr.InvalidRecord.Code
		return replicationWait{}, false
	} else if req.Version >= 3 {
		if size, err := record.PeekSize(records); err == nil && size < len(records) {
			// Exactly one batch per partition from v3 on.
			rp.ErrorCode = kerr.InvalidRecord.Code
			return replicationWait{}, false
		}
	}
	res, err := p.AppendRecordsAcks(records, acks)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		if msg := err.Error(); req.Version >= 8 && partition.IsRecordError(err) {
			rp.ErrorMessage = &msg
		}
		if !partition.IsRecordError(err) && !errors.Is(err, partition.ErrNotLeader) && (rp.ErrorCode == kerr.KafkaStorageError.Code || rp.ErrorCode == kerr.UnknownServerError.Code) {
			req.Log.Error("append failed", "partition", p.ID.String(), "err", err)
		}
		return replicationWait{}, false
	}
	rp.BaseOffset = res.BaseOffset
	rp.LogAppendTime = res.LogAppendTime
	rp.LogStartOffset = res.LogStartOffset
	if acks != -1 {
		return replicationWait{}, false
	}
	return replicationWait{part: p, lastOffset: res.LastOffset, rp: rp}, true
}
