package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"samsa/internal/broker"
	"samsa/internal/config"
)

// TestControllerOnlyAndBrokerOnlyInProcess: a controller-only node and a
// broker-only node (a Raft non-voter) form a cluster whose only broker is
// the broker-only node; records go through it.
func TestControllerOnlyAndBrokerOnlyInProcess(t *testing.T) {
	controllerAddress := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	brokerAddress := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	voters := "controller.quorum.voters=1@" + controllerAddress
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	controllerNode := start(ctx, t, "node.id=1", "process.roles=controller", "listeners=CONTROLLER://"+controllerAddress, voters,
		"log.dirs="+t.TempDir())
	defer controllerNode.Close()
	brokerNode := start(ctx, t, "node.id=2", "process.roles=broker", "listeners=PLAINTEXT://"+brokerAddress, voters,
		"log.dirs="+t.TempDir())
	defer brokerNode.Close()

	client, err := kgo.NewClient(kgo.SeedBrokers(brokerAddress), kgo.DefaultProduceTopic("roles"),
		kgo.ConsumeTopics("roles"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	metadata, err := admin.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(metadata.Brokers) != 1 || metadata.Brokers[0].NodeID != 2 || metadata.Controller != 2 {
		t.Fatalf("metadata brokers %+v controller %d, want broker 2 only, named controller", metadata.Brokers, metadata.Controller)
	}
	created, err := admin.CreateTopic(ctx, 1, 1, nil, "roles")
	if err != nil || created.Err != nil {
		t.Fatalf("create topic: %v %v", err, created.Err)
	}
	if err := client.ProduceSync(ctx, &kgo.Record{Value: []byte("through a broker-only node")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fetches := client.PollFetches(ctx)
	if records := fetches.Records(); len(records) != 1 || string(records[0].Value) != "through a broker-only node" || records[0].Offset != 0 {
		t.Fatalf("consumed %+v (errors %v)", records, fetches.Errors())
	}
}

func start(ctx context.Context, t *testing.T, overrides ...string) *broker.Broker {
	t.Helper()
	cfg, err := config.Load("", overrides, nil)
	if err != nil {
		t.Fatal(err)
	}
	node, err := broker.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return node
}

// freePort finds a loopback port in 20000-32000 that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		listener.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}
