package handlers

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
)

// ElectLeaders (KIP-183, KIP-460): preferred (type 0) or unclean (type 1)
// leader election through the active controller. No topic list means every
// partition; then partitions needing no election are left out.
func init() {
	register(API{Key: 43, MinVersion: 0, MaxVersion: 2, Handle: handleElectLeaders})
}

// Election types of ElectLeaders v1+.
const (
	electionPreferred int8 = 0
	electionUnclean   int8 = 1
)

func handleElectLeaders(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ElectLeadersRequest)
	named := namedElectPartitions(r)
	if forwardToController(env, req, respond, func(code int16) kmsg.Response {
		return electLeadersResponse(r, named, nil, code)
	}) {
		return
	}
	if r.Version >= 1 && r.ElectionType != electionPreferred && r.ElectionType != electionUnclean {
		respond(electLeadersResponse(r, named, nil, kerr.InvalidRequest.Code))
		return
	}
	ctx, cancel := adminContext(req.Ctx, r.TimeoutMillis)
	defer cancel()
	results := env.Controller.ElectLeaders(ctx, r.ElectionType == electionPreferred, named)
	if named == nil {
		named = sortedTopicPartitions(results)
	}
	respond(electLeadersResponse(r, named, results, 0))
}

// namedElectPartitions lists the request's partitions in request order,
// each once; nil when the request names no topic list (all partitions).
func namedElectPartitions(r *kmsg.ElectLeadersRequest) []controller.TopicPartition {
	if r.Topics == nil {
		return nil
	}
	seen := map[controller.TopicPartition]bool{}
	named := []controller.TopicPartition{}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			name := controller.TopicPartition{Topic: t.Topic, Partition: p}
			if !seen[name] {
				seen[name] = true
				named = append(named, name)
			}
		}
	}
	return named
}

// electLeadersResponse answers every partition of named with its result,
// or with code when code is not 0.
func electLeadersResponse(r *kmsg.ElectLeadersRequest, named []controller.TopicPartition, results map[controller.TopicPartition]error, code int16) *kmsg.ElectLeadersResponse {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	index := map[string]int{}
	for _, name := range named {
		position, ok := index[name.Topic]
		if !ok {
			position = len(resp.Topics)
			index[name.Topic] = position
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = name.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = name.Partition
		rp.ErrorCode = code
		if code == 0 {
			if err := results[name]; err != nil {
				rp.ErrorCode = errorCode(err)
				message := err.Error()
				rp.ErrorMessage = &message
			}
		}
		resp.Topics[position].Partitions = append(resp.Topics[position].Partitions, rp)
	}
	return resp
}

// sortedTopicPartitions returns the keys of results sorted by topic, then partition.
func sortedTopicPartitions[V any](results map[controller.TopicPartition]V) []controller.TopicPartition {
	names := make([]controller.TopicPartition, 0, len(results))
	for name := range results {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b controller.TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return names
}
