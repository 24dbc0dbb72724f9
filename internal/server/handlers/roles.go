package handlers

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/metadata"
)

// controllerAPIs are the APIs a controller listener serves, as Kafka's
// controllers do: what brokers send to the active controller (registration,
// heartbeats, ISR changes, producer-id blocks, forwarded admin writes) and
// what an admin client asks a controller directly. A controller-only node
// serves nothing else; it has no replicas and no group coordinator.
var controllerAPIs = []int16{
	18, // ApiVersions
	19, // CreateTopics
	20, // DeleteTopics
	33, // AlterConfigs
	37, // CreatePartitions
	43, // ElectLeaders
	44, // IncrementalAlterConfigs
	45, // AlterPartitionReassignments
	46, // ListPartitionReassignments
	56, // AlterPartition
	60, // DescribeCluster
	62, // BrokerRegistration
	63, // BrokerHeartbeat
	67, // AllocateProducerIds
}

// Serves reports whether a request of api key arriving on the named
// listener is served: controller listeners serve controllerAPIs only.
func (e *Env) Serves(listener string, key int16) bool {
	if !e.isControllerListener(listener) {
		return true
	}
	return slices.Contains(controllerAPIs, key)
}

func (e *Env) isControllerListener(listener string) bool {
	return e.Config != nil && slices.Contains(e.Config.ControllerListenerNames, listener)
}

// brokerFacingControllerID is the controller id told to clients in
// Metadata and DescribeCluster: the active controller when it is also a
// live broker, else a live broker (this one when it is), as Kafka's KRaft
// brokers do. A client sends its admin writes to that broker, which
// forwards them to the active controller.
func brokerFacingControllerID(env *Env, img *metadata.Image) int32 {
	leader := env.Controller.LeaderID()
	if broker := img.Brokers[leader]; broker != nil && !broker.Fenced {
		return leader
	}
	if broker := img.Brokers[env.NodeID]; broker != nil && !broker.Fenced {
		return env.NodeID
	}
	if live := sortedBrokers(img); len(live) > 0 {
		return live[0].ID
	}
	return -1
}

// endpointTypeControllers is DescribeCluster's EndpointType for controllers (KIP-919).
const endpointTypeControllers = 2

// describeControllers fills a DescribeCluster answer with the quorum's
// voters (controller.quorum.voters) and the active controller.
func describeControllers(env *Env) ([]describedNode, int32, int16) {
	if env.Config == nil {
		return nil, -1, kerr.UnsupportedEndpointType.Code
	}
	nodes := make([]describedNode, 0, len(env.Config.Voters))
	for _, voter := range env.Config.Voters {
		nodes = append(nodes, describedNode{ID: voter.ID, Host: voter.Host, Port: int32(voter.Port)})
	}
	return nodes, env.Controller.LeaderID(), 0
}

// describedNode is one node of a DescribeCluster answer.
type describedNode struct {
	ID   int32
	Host string
	Port int32
}
