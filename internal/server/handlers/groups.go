package handlers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/controller"
	"samsa/internal/coordinator"
	"samsa/internal/group"
)

// OffsetsTopic holds committed offsets and group metadata.
const OffsetsTopic = "__consumer_offsets"

// GroupRuntime is the group coordinator: one shard per __consumer_offsets
// partition this broker leads.
type GroupRuntime = coordinator.Runtime[*group.Shard]

// groupShard returns the shard that owns group, or the error a client
// should see (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
func groupShard(env *Env, groupID string) (*coordinator.Shard[*group.Shard], error) {
	n := env.Groups.Partitions()
	if n == 0 {
		return nil, coordinator.ErrUnavailable
	}
	return env.Groups.Shard(coordinator.PartitionFor(groupID, n))
}

// onGroup runs fn on the loop of the shard owning groupID; if it cannot,
// fail gets the Kafka error code instead.
func onGroup(env *Env, groupID string, fail func(code int16), fn func(ctx coordinator.Context, s *group.Shard)) {
	sh, err := groupShard(env, groupID)
	if err == nil {
		err = sh.Do(fn)
	}
	if err != nil {
		fail(coordinatorErrorCode(err))
	}
}

func coordinatorErrorCode(err error) int16 {
	switch {
	case errors.Is(err, coordinator.ErrNotCoordinator):
		return kerr.NotCoordinator.Code
	case errors.Is(err, coordinator.ErrLoading):
		return kerr.CoordinatorLoadInProgress.Code
	default:
		return kerr.CoordinatorNotAvailable.Code
	}
}

// ensureOffsetsTopic creates __consumer_offsets on first use, as Kafka does
// when a client first looks for a group coordinator.
func ensureOffsetsTopic(env *Env, parent context.Context) error {
	if env.Image().Topics[OffsetsTopic] != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	cfg := env.Config
	res := createTopics(env, ctx, []controller.CreateTopic{{
		Name:                 OffsetsTopic,
		NumPartitions:        cfg.OffsetsTopicNumPartitions,
		ReplicationFactor:    cfg.OffsetsTopicReplicationFactor,
		CapReplicationFactor: true,
		Configs: map[string]string{
			"cleanup.policy":   "compact",
			"compression.type": "producer",
			"segment.bytes":    "104857600",
		},
	}})
	if len(res) == 1 && res[0].ErrorCode != 0 && res[0].ErrorCode != kerr.TopicAlreadyExists.Code {
		env.Log.Warn("creating the offsets topic failed", "code", res[0].ErrorCode, "message", res[0].ErrorMessage)
		return coordinator.ErrUnavailable
	}
	return nil
}

// gather runs one callback per item, possibly on different shards, and
// calls done once every one of them has called its finish function.
type gather struct {
	mu   sync.Mutex
	left int
	done func()
}

func newGather(n int, done func()) *gather {
	g := &gather{left: n, done: done}
	if n == 0 {
		done()
	}
	return g
}

func (g *gather) finish(apply func()) {
	g.mu.Lock()
	apply()
	g.left--
	last := g.left == 0
	g.mu.Unlock()
	if last {
		g.done()
	}
}

func requestInfo(req *Request) group.RequestInfo {
	host := req.Remote
	if i := lastColon(host); i > 0 {
		host = host[:i]
	}
	return group.RequestInfo{ClientID: req.ClientID, ClientHost: "/" + host, Version: req.Version}
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
