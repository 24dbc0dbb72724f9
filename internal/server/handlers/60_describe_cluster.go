package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 60, MinVersion: 0, MaxVersion: 1, Handle: handleDescribeCluster})
}

// handleDescribeCluster lists the brokers (EndpointType 1) with the
// endpoints of the listener the request came in on (the inter-broker
// listener when it came in on a controller listener), or, with EndpointType
// 2 (KIP-919), the controllers: the quorum's voters and the active one.
// Every node answers both, so `samsa cluster` can show the controllers
// through any broker.
func handleDescribeCluster(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	img := env.Image()
	resp.ClusterID = img.ClusterID
	resp.EndpointType = 1 // brokers
	if req.Version >= 1 && r.EndpointType == endpointTypeControllers {
		resp.EndpointType = endpointTypeControllers
		nodes, controllerID, code := describeControllers(env)
		resp.ControllerID, resp.ErrorCode = controllerID, code
		for _, node := range nodes {
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port = node.ID, node.Host, node.Port
			resp.Brokers = append(resp.Brokers, rb)
		}
		respond(resp)
		return
	}
	listener := req.Listener
	if env.isControllerListener(listener) {
		listener = env.Config.InterBrokerListenerName
		resp.ControllerID = env.Controller.LeaderID()
	} else {
		resp.ControllerID = brokerFacingControllerID(env, img)
	}
	for _, b := range sortedBrokers(img) {
		ep, ok := endpointFor(b, listener)
		if !ok {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID = b.ID
		rb.Host = ep.Host
		rb.Port = ep.Port
		rb.Rack = rackOf(b)
		resp.Brokers = append(resp.Brokers, rb)
	}
	if r.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOperations
	}
	respond(resp)
}
