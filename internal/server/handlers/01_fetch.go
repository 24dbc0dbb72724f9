package handlers

import (
	"errors"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/record"
)

// Fetch v0-v3 answer with magic 0/1 message sets (down-converted); v4+ with
// batches as stored. v13+ name topics by id. Sessions (KIP-227) are not
// created: every answer carries session id 0, which tells clients to keep
// sending full fetch requests, as Kafka does when its session cache is full.
func init() {
	register(API{Key: 1, MinVersion: 0, MaxVersion: 16, Handle: handleFetch})
}

// maxFetchWait bounds max_wait_ms from a client.
const maxFetchWait = 5 * time.Minute

type fetchPartition struct {
	topicIndex int
	rp         *kmsg.FetchResponseTopicPartition
	part       *partition.Partition
	offset     int64
	maxBytes   int
}

func handleFetch(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.FetchRequest)
	if req.Version >= 7 && (r.SessionID != 0 || r.SessionEpoch > 0) {
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		respond(resp)
		return
	}
	wait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	wait = min(max(wait, 0), maxFetchWait)
	minBytes := int(max(r.MinBytes, 0))

	read := buildFetch(env, req, r)
	if read.size >= minBytes || wait == 0 || len(read.parts) == 0 || hasErrors(read.resp) {
		respond(read.resp)
		return
	}
	go longPoll(env, req, r, read, wait, minBytes, respond)
}

// longPoll waits for new data on any partition of read, the deadline, or
// the connection closing, and answers.
func longPoll(env *Env, req *Request, r *kmsg.FetchRequest, read fetchRead, wait time.Duration, minBytes int, respond Responder) {
	wake := make(chan struct{}, 1)
	// Followers read up to the log end, consumers up to the high
	// watermark: each is woken only by the change it can see.
	on := partition.WakeOnHighWatermark
	if replicaOf(req.Version, r) >= 0 {
		on = partition.WakeOnAppend
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	defer func() {
		for _, p := range read.parts {
			p.Unwatch(wake)
		}
	}()
	for {
		for _, p := range read.parts {
			p.WatchFor(wake, on)
		}
		// Read again only if a partition changed since it was read: a
		// change before the registration woke nobody.
		if read.changedSince() {
			read = buildFetch(env, req, r)
			if read.size >= minBytes || hasErrors(read.resp) {
				respond(read.resp)
				return
			}
		}
		select {
		case <-wake:
			read = buildFetch(env, req, r)
			if read.size >= minBytes || hasErrors(read.resp) {
				respond(read.resp)
				return
			}
		case <-timer.C:
			respond(buildFetch(env, req, r).resp)
			return
		case <-req.Ctx.Done():
			respond(read.resp) // the writer discards it
			return
		}
	}
}

func hasErrors(resp *FetchReply) bool {
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if resp.Topics[i].Partitions[j].ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}

// replicaOf returns the broker id of a follower's fetch, -1 for a consumer.
func replicaOf(version int16, r *kmsg.FetchRequest) int32 {
	if version >= 15 {
		return r.ReplicaState.ID
	}
	return r.ReplicaID
}

// fetchRead is one read of every partition of a fetch request.
type fetchRead struct {
	resp  *FetchReply
	size  int                    // record bytes in resp
	parts []*partition.Partition // the partitions it could read
	// changes holds each part's Changes() from before it was read.
	changes []uint64
}

// changedSince reports whether a partition changed after it was read.
func (f fetchRead) changedSince() bool {
	for i, p := range f.parts {
		if p.Changes() != f.changes[i] {
			return true
		}
	}
	return false
}

// buildFetch reads every requested partition once.
func buildFetch(env *Env, req *Request, r *kmsg.FetchRequest) fetchRead {
	replica := replicaOf(req.Version, r)
	resp := &FetchReply{FetchResponse: r.ResponseKind().(*kmsg.FetchResponse)}
	maxBytes := math.MaxInt32
	if req.Version >= 3 {
		maxBytes = int(max(r.MaxBytes, 0))
	}
	if limit := int(env.Config.FetchMaxBytes); limit > 0 && maxBytes > limit {
		maxBytes = limit
	}
	minOneBatch := req.Version >= 3 // KIP-74: the first batch always fits
	total := 0
	var parts []*partition.Partition
	var changes []uint64
	for _, t := range r.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		name, known := t.Topic, true
		if req.Version >= 13 {
			name, known = topicNameByID(env, t.TopicID)
		}
		for _, fp := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = fp.Partition
			rp.HighWatermark = -1
			rp.LastStableOffset = -1
			rp.LogStartOffset = -1
			rp.PreferredReadReplica = -1
			rp.RecordBatches = []byte{} // Kafka sends an empty set, never null; librdkafka rejects null
			if req.Version >= 4 && r.IsolationLevel == 1 {
				rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			if !known {
				rp.ErrorCode = kerr.UnknownTopicID.Code
				rt.Partitions = append(rt.Partitions, rp)
				resp.records = append(resp.records, log.ReadResult{})
				continue
			}
			p, err := lookupPartition(env, name, fp.Partition)
			if err == nil && req.Version >= 9 {
				err = p.CheckLeaderEpoch(fp.CurrentLeaderEpoch)
			}
			if err != nil {
				rp.ErrorCode = errorCode(err)
				rt.Partitions = append(rt.Partitions, rp)
				resp.records = append(resp.records, log.ReadResult{})
				continue
			}
			parts = append(parts, p)
			changes = append(changes, p.Changes())
			budget := min(int(max(fp.PartitionMaxBytes, 0)), maxBytes-total)
			var rec log.ReadResult
			var n int
			if replica >= 0 {
				rec, n = readForFollower(env, req, p, replica, fp.FetchOffset, budget, &rp)
			} else {
				rec, n = readPartition(req, p, fp.FetchOffset, budget, minOneBatch, &rp)
			}
			resp.records = append(resp.records, rec)
			if n > 0 {
				minOneBatch = false
			}
			total += n
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return fetchRead{resp: resp, size: total, parts: parts, changes: changes}
}

// readPartition reads the records at offset. From v4 on it returns them as
// file regions for the writer to send as they are; older versions get a
// down-converted copy in rp.RecordBatches. It returns the record bytes.
func readPartition(req *Request, p *partition.Partition, offset int64, budget int, minOneBatch bool, rp *kmsg.FetchResponseTopicPartition) (log.ReadResult, int) {
	info, err := p.Read(offset, max(budget, 0), minOneBatch)
	rp.HighWatermark = info.HighWatermark
	rp.LastStableOffset = info.LastStable
	rp.LogStartOffset = info.LogStartOffset
	if err != nil {
		rp.ErrorCode = errorCode(err)
		if !errors.Is(err, log.ErrOffsetOutOfRange) {
			req.Log.Warn("fetch read failed", "partition", p.ID.String(), "offset", offset, "err", err)
		}
		return log.ReadResult{}, 0
	}
	if info.Records.Size == 0 {
		return log.ReadResult{}, 0
	}
	if req.Version >= 4 {
		return info.Records, info.Records.Size
	}
	data, err := info.Records.AppendTo(make([]byte, 0, info.Records.Size))
	if err != nil {
		rp.ErrorCode = errorCode(err)
		req.Log.Error("fetch read failed", "partition", p.ID.String(), "offset", offset, "err", err)
		return log.ReadResult{}, 0
	}
	magic := int8(1)
	if req.Version < 2 {
		magic = 0
	}
	converted, err := record.DownConvert(data, magic, p.Settings().MaxMessageBytes*64)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		req.Log.Error("down-conversion failed", "partition", p.ID.String(), "offset", offset, "err", err)
		return log.ReadResult{}, 0
	}
	rp.RecordBatches = converted
	return log.ReadResult{}, len(converted)
}

// readForFollower serves a follower's fetch: it records the follower's
// position (its fetch offset is its log end), which may advance the high
// watermark, and returns records up to the log end, not the high watermark.
func readForFollower(env *Env, req *Request, p *partition.Partition, replica int32, offset int64, budget int, rp *kmsg.FetchResponseTopicPartition) (log.ReadResult, int) {
	err := p.FollowerFetched(replica, offset, env.Clock())
	rp.HighWatermark = p.HighWatermark()
	rp.LastStableOffset = rp.HighWatermark
	rp.LogStartOffset = p.Log().StartOffset()
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return log.ReadResult{}, 0
	}
	info, err := p.ReadForFollower(offset, max(budget, 1))
	if err != nil {
		rp.ErrorCode = errorCode(err)
		if !errors.Is(err, log.ErrOffsetOutOfRange) {
			req.Log.Warn("follower fetch read failed", "partition", p.ID.String(), "replica", replica, "offset", offset, "err", err)
		}
		return log.ReadResult{}, 0
	}
	rp.HighWatermark = info.HighWatermark
	rp.LastStableOffset = info.LastStable
	rp.LogStartOffset = info.LogStartOffset
	return info.Records, info.Records.Size
}
