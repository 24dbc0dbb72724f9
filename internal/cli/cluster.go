package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func runCluster(e *env, args []string) error {
	fs := newFlagSet(e, "cluster", "cluster [--versions]")
	versions := fs.Bool("versions", false, "list every broker's supported API version ranges")
	if err := fs.parse(args); err != nil {
		return err
	}
	client, err := fs.client()
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	metadata, err := admin.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("fetching cluster metadata: %w", err)
	}
	topics, err := admin.ListTopicsWithInternal(ctx)
	if err != nil {
		return fmt.Errorf("fetching topic metadata: %w", err)
	}
	writeClusterMetadata(e.stdout, metadata)
	writeControllers(e.stdout, describeControllers(ctx, client))
	fmt.Fprintf(e.stdout, "Under-replicated partitions: %d\n", underReplicatedCount(topics))
	if !*versions {
		return nil
	}
	brokerVersions, err := admin.ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("fetching API versions: %w", err)
	}
	return writeApiVersions(e.stdout, brokerVersions.Sorted())
}

// underReplicatedCount counts the partitions whose ISR is smaller than
// their replica set.
func underReplicatedCount(topics kadm.TopicDetails) int {
	count := 0
	for _, topic := range topics {
		for _, p := range topic.Partitions {
			if len(p.ISR) < len(p.Replicas) {
				count++
			}
		}
	}
	return count
}

// writeClusterMetadata prints the cluster id, the controller (on Samsa the
// active controller: the metadata quorum's Raft leader) and the brokers.
func writeClusterMetadata(w io.Writer, metadata kadm.Metadata) {
	fmt.Fprintf(w, "Cluster ID: %s\n", metadata.Cluster)
	fmt.Fprintf(w, "Controller: %d\n", metadata.Controller)
	fmt.Fprintf(w, "Brokers: %d\n", len(metadata.Brokers))
	brokers := append(kadm.BrokerDetails(nil), metadata.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].NodeID < brokers[j].NodeID })
	for _, b := range brokers {
		rack := "null"
		if b.Rack != nil {
			rack = *b.Rack
		}
		fmt.Fprintf(w, "\tId: %d\tHost: %s:%d\tRack: %s\n", b.NodeID, b.Host, b.Port, rack)
	}
}

// writeApiVersions prints, per broker, "Name(key): min to max" lines.
func writeApiVersions(w io.Writer, brokers []kadm.BrokerApiVersions) error {
	for _, b := range brokers {
		if b.Err != nil {
			return fmt.Errorf("API versions of broker %d: %w", b.NodeID, b.Err)
		}
		fmt.Fprintf(w, "Broker %d API versions:\n", b.NodeID)
		keys := b.Raw().ApiKeys
		sorted := append([]kmsg.ApiVersionsResponseApiKey(nil), keys...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].ApiKey < sorted[j].ApiKey })
		for _, k := range sorted {
			name := kmsg.NameForKey(k.ApiKey)
			if name == "" {
				name = "Unknown"
			}
			fmt.Fprintf(w, "\t%s(%d): %d to %d\n", name, k.ApiKey, k.MinVersion, k.MaxVersion)
		}
	}
	return nil
}

// describeControllers asks for the controllers (DescribeCluster v1 with
// EndpointType 2, KIP-919). Samsa's brokers answer it with the metadata
// quorum's voters; brokers that answer with an error or with brokers give
// nil, and nothing is printed.
func describeControllers(ctx context.Context, client *kgo.Client) *kmsg.DescribeClusterResponse {
	request := kmsg.NewPtrDescribeClusterRequest()
	request.Version = 1
	request.EndpointType = 2
	response, err := request.RequestWith(ctx, client)
	if err != nil || response.ErrorCode != 0 || response.EndpointType != 2 {
		return nil
	}
	return response
}

// writeControllers prints the controllers and which one is active.
func writeControllers(w io.Writer, response *kmsg.DescribeClusterResponse) {
	if response == nil {
		return
	}
	controllers := append([]kmsg.DescribeClusterResponseBroker(nil), response.Brokers...)
	sort.Slice(controllers, func(i, j int) bool { return controllers[i].NodeID < controllers[j].NodeID })
	fmt.Fprintf(w, "Controllers (metadata quorum voters): %d\n", len(controllers))
	for _, c := range controllers {
		state := "follower"
		if c.NodeID == response.ControllerID {
			state = "active"
		}
		fmt.Fprintf(w, "\tId: %d\tHost: %s:%d\t%s\n", c.NodeID, c.Host, c.Port, state)
	}
}
