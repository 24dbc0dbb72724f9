package handlers

import (
	"context"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/controller"
	"samsa/internal/metadata"
)

func init() {
	register(API{Key: 3, MinVersion: 0, MaxVersion: 12, Handle: handleMetadata})
}

func handleMetadata(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	img := env.Image()

	// v0: an empty list means every topic; v1+: null means every topic.
	allTopics := r.Topics == nil || (req.Version == 0 && len(r.Topics) == 0)
	autoCreate := env.Config.AutoCreateTopics && (req.Version < 4 || r.AllowAutoTopicCreation)

	// Topics this request creates are answered LEADER_NOT_AVAILABLE, as
	// Kafka does: the other brokers learn of them a moment later, and a
	// client that produced at once could reach a leader that does not
	// know yet. Its next metadata refresh gets the partitions.
	created := map[string]bool{}
	if !allTopics {
		var missing []string
		for _, t := range r.Topics {
			if t.Topic != nil && img.Topics[*t.Topic] == nil && autoCreate && controller.ValidateTopicName(*t.Topic) == nil {
				missing = append(missing, *t.Topic)
			}
		}
		if len(missing) > 0 {
			for _, name := range autoCreateTopics(env, req.Ctx, missing) {
				created[name] = true
			}
			img = env.Image()
		}
	}

	fillBrokers(resp, img, req.Listener)
	resp.ClusterID = &img.ClusterID
	resp.ControllerID = brokerFacingControllerID(env, img)

	if allTopics {
		names := make([]string, 0, len(img.Topics))
		for name := range img.Topics {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			resp.Topics = append(resp.Topics, topicMetadata(img.Topics[name], req.Version))
		}
	} else {
		for _, t := range r.Topics {
			var ti *metadata.TopicImage
			switch {
			case t.Topic != nil:
				ti = img.Topics[*t.Topic]
			case req.Version >= 10:
				ti = img.TopicsByID[t.TopicID]
			}
			if t.Topic != nil && created[*t.Topic] {
				rt := kmsg.NewMetadataResponseTopic()
				rt.Topic = t.Topic
				rt.ErrorCode = kerr.LeaderNotAvailable.Code
				if ti != nil {
					rt.TopicID = ti.ID
				}
				resp.Topics = append(resp.Topics, rt)
				continue
			}
			if ti == nil {
				rt := kmsg.NewMetadataResponseTopic()
				rt.Topic = t.Topic
				rt.TopicID = t.TopicID
				rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
				if t.Topic != nil && controller.ValidateTopicName(*t.Topic) != nil {
					rt.ErrorCode = kerr.InvalidTopicException.Code
				} else if t.Topic == nil {
					rt.ErrorCode = kerr.UnknownTopicID.Code
				}
				resp.Topics = append(resp.Topics, rt)
				continue
			}
			resp.Topics = append(resp.Topics, topicMetadata(ti, req.Version))
		}
	}
	// Authorized operations (KIP-430): without ACLs every operation is
	// allowed; -2147483648 means "not requested".
	if req.Version >= 8 && req.Version <= 10 && r.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = allClusterOperations
	}
	respond(resp)
}

// Every operation bit of KIP-430 that applies to clusters / topics.
const (
	allClusterOperations = 1<<4 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
	allTopicOperations   = 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<8 | 1<<10 | 1<<11
)

// autoCreateTopics creates topics with the broker defaults and returns the
// ones it created.
func autoCreateTopics(env *Env, ctx context.Context, names []string) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reqs := make([]controller.CreateTopic, 0, len(names))
	for _, n := range names {
		reqs = append(reqs, controller.CreateTopic{Name: n, NumPartitions: -1, ReplicationFactor: -1})
	}
	var created []string
	for _, res := range createTopics(env, ctx, reqs) {
		if res.ErrorCode != 0 && res.ErrorCode != kerr.TopicAlreadyExists.Code {
			env.Log.Warn("auto-creating topic failed", "topic", res.Name, "code", res.ErrorCode, "message", res.ErrorMessage)
		} else if res.ErrorCode == 0 {
			env.Log.Info("auto-created topic", "topic", res.Name)
			created = append(created, res.Name)
		}
	}
	return created
}

func fillBrokers(resp *kmsg.MetadataResponse, img *metadata.Image, listener string) {
	for _, b := range sortedBrokers(img) {
		ep, ok := endpointFor(b, listener)
		if !ok {
			continue
		}
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID = b.ID
		rb.Host = ep.Host
		rb.Port = ep.Port
		rb.Rack = rackOf(b)
		resp.Brokers = append(resp.Brokers, rb)
	}
}

func topicMetadata(t *metadata.TopicImage, version int16) kmsg.MetadataResponseTopic {
	rt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	rt.Topic = &name
	rt.TopicID = t.ID
	rt.IsInternal = isInternalTopic(t.Name)
	if version >= 8 {
		rt.AuthorizedOperations = allTopicOperations
	}
	for i := range t.Partitions {
		p := &t.Partitions[i]
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition = p.Partition
		rp.Leader = p.Leader
		rp.LeaderEpoch = p.LeaderEpoch
		rp.Replicas = p.Replicas
		rp.ISR = p.ISR
		rp.OfflineReplicas = []int32{}
		if p.Leader < 0 {
			rp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}
