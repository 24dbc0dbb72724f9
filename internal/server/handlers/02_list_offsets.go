package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/partition"
)

// ListOffsets v0 answers with a list of offsets; v1+ with one offset and its
// timestamp; v7 adds max timestamp (-3), v8 earliest local (-4). v9+
// (tiered storage, KIP-1005) not yet.
func init() {
	register(API{Key: 2, MinVersion: 0, MaxVersion: 8, Handle: handleListOffsets})
}

func handleListOffsets(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, lp := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = lp.Partition
			rp.Offset = -1
			rp.Timestamp = -1
			listOffset(env, req.Version, t.Topic, lp, &rp)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	respond(resp)
}

func listOffset(env *Env, version int16, topic string, lp kmsg.ListOffsetsRequestTopicPartition, rp *kmsg.ListOffsetsResponseTopicPartition) {
	p, err := lookupPartition(env, topic, lp.Partition)
	if err == nil && version >= 4 {
		err = p.CheckLeaderEpoch(lp.CurrentLeaderEpoch)
	}
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	ts := lp.Timestamp
	if (ts == partition.MaxTimestamp && version < 7) || (ts == partition.EarliestLocalTimestamp && version < 8) || ts < partition.EarliestLocalTimestamp {
		rp.ErrorCode = kerr.UnsupportedVersion.Code
		return
	}
	offset, timestamp, found, err := p.OffsetForTimestamp(ts)
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return
	}
	if version >= 4 {
		rp.LeaderEpoch = p.LeaderEpoch()
	}
	if version == 0 {
		rp.OldStyleOffsets = []int64{}
		if found && lp.MaxNumOffsets > 0 {
			rp.OldStyleOffsets = append(rp.OldStyleOffsets, offset)
		}
		return
	}
	if found {
		rp.Offset, rp.Timestamp = offset, timestamp
	}
}
