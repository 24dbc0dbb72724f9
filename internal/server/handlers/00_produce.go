package handlers

import (
	"context"
	"errors"
	"sync"
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
		awaitReplication(req, waits, time.Duration(max(r.TimeoutMillis, 0))*time.Millisecond, func() { respond(resp) })
	}
}

// acksWait is an acks=all produce request waiting for its partitions. Each
// partition's wait ends once, by its AckWaiter's callback or by a
// cancellation (timeout, connection closed), and answer runs when the last
// one has ended.
type acksWait struct {
	waits   []replicationWait
	waiters []*partition.AckWaiter // set before the timeout can fire
	answer  func()

	mu struct {
		sync.Mutex
		pending int
		stop    []func() bool // the timeout timer and the connection's AfterFunc
	}
}

// awaitReplication waits for every partition of waits without a
// goroutine: the fetch that moves a high watermark completes the wait.
func awaitReplication(req *Request, waits []replicationWait, timeout time.Duration, answer func()) {
	a := &acksWait{waits: waits, answer: answer, waiters: make([]*partition.AckWaiter, len(waits))}
	a.mu.pending = len(waits)
	for i, w := range waits {
		a.waiters[i] = w.part.AwaitReplicated(w.lastOffset, func(err error) { a.end(i, err) })
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.pending > 0 {
		timer := time.AfterFunc(timeout, a.expire)
		a.mu.stop = []func() bool{timer.Stop, context.AfterFunc(req.Ctx, a.expire)}
	}
}

// expire ends the waits still pending with REQUEST_TIMED_OUT.
func (a *acksWait) expire() {
	for i, w := range a.waits {
		if w.part.CancelAwait(a.waiters[i]) {
			a.end(i, context.DeadlineExceeded)
		}
	}
}

// end records how partition i's wait ended. It may run with that
// partition's lock held (AwaitReplicated), so it only sets fields, stops
// the timers and answers.
func (a *acksWait) end(i int, err error) {
	if err != nil {
		a.waits[i].rp.ErrorCode = errorCode(err)
		if errors.Is(err, context.DeadlineExceeded) {
			a.waits[i].rp.ErrorCode = kerr.RequestTimedOut.Code
		}
	}
	a.mu.Lock()
	a.mu.pending--
	last, stop := a.mu.pending == 0, a.mu.stop
	a.mu.Unlock()
	if last {
		for _, f := range stop {
			f()
		}
		a.answer()
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
