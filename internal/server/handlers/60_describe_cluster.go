package handlers

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 60, MinVersion: 0, MaxVersion: 1, Handle: handleDescribeCluster})
}

func handleDescribeCluster(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	img := env.Image()
	resp.ClusterID = img.ClusterID
	resp.ControllerID = env.Controller.LeaderID()
	resp.EndpointType = 1 // brokers
	for _, b := range sortedBrokers(img) {
		ep, ok := endpointFor(b, req.Listener)
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
