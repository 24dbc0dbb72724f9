package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"samsa/internal/config"
	"samsa/internal/metadata"
)

// freePorts returns count distinct loopback ports below 32768 that accepted a listener.
func freePorts(t *testing.T, count int) []int {
	t.Helper()
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, listener := range listeners {
			listener.Close()
		}
	}()
	for attempt := 0; attempt < 1000 && len(ports) < count; attempt++ {
		port := 20000 + rand.IntN(12000)
		listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		listeners = append(listeners, listener)
		ports = append(ports, port)
	}
	if len(ports) < count {
		t.Fatal("no free ports")
	}
	return ports
}

func testLogger() *slog.Logger {
	if os.Getenv("SAMSA_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startNode starts node id of the quorum described by voters, with data in dir.
func startNode(t *testing.T, id int32, voters []Voter, dir string) *Controller {
	t.Helper()
	return startNodeWith(t, id, voters, dir, nil)
}

// startNodeWith is startNode with adjust applied to the Config.
func startNodeWith(t *testing.T, id int32, voters []Voter, dir string, adjust func(*Config)) *Controller {
	t.Helper()
	var bind string
	for _, voter := range voters {
		if voter.ID == id {
			bind = voter.Address()
		}
	}
	broker, err := config.Load("", []string{fmt.Sprintf("node.id=%d", id), "controller.quorum.voters=" + votersString(voters)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{NodeID: id, Voters: voters, Bind: bind, DataDir: dir, Broker: broker, Logger: testLogger()}
	if adjust != nil {
		adjust(&cfg)
	}
	controller, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { controller.Close() })
	return controller
}

func votersString(voters []Voter) string {
	text := ""
	for index, voter := range voters {
		if index > 0 {
			text += ","
		}
		text += fmt.Sprintf("%d@%s", voter.ID, voter.Address())
	}
	return text
}

func loopbackVoters(t *testing.T, count int) []Voter {
	var voters []Voter
	for index, port := range freePorts(t, count) {
		voters = append(voters, Voter{ID: int32(index + 1), Host: "127.0.0.1", Port: port})
	}
	return voters
}

// startSingle starts a one-voter controller with brokers 1..brokers registered and unfenced.
func startSingle(t *testing.T, dir string, brokers int, racks ...string) *Controller {
	t.Helper()
	controller := startNode(t, 1, loopbackVoters(t, 1), dir)
	ctx := testContext(t)
	if err := controller.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for id := int32(1); id <= int32(brokers); id++ {
		registration := metadata.RegisterBroker{ID: id, IncarnationID: metadata.NewUUID(), Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092 + id}}}
		if int(id) <= len(racks) {
			registration.Rack = racks[id-1]
		}
		registerUnfenced(t, controller, registration)
	}
	return controller
}

// registerUnfenced registers a broker and unfences it with one heartbeat; it returns the broker epoch.
func registerUnfenced(t *testing.T, controller *Controller, registration metadata.RegisterBroker) int64 {
	t.Helper()
	ctx := testContext(t)
	epoch, err := controller.RegisterBroker(ctx, registration)
	if err != nil {
		t.Fatal(err)
	}
	if controller.Image().Brokers[registration.ID].Fenced != true {
		t.Fatalf("broker %d registered unfenced", registration.ID)
	}
	result, err := controller.BrokerHeartbeat(ctx, HeartbeatRequest{BrokerID: registration.ID, BrokerEpoch: epoch, CurrentMetadataOffset: int64(controller.Image().AppliedIndex)})
	if err != nil || result != (HeartbeatResult{}) {
		t.Fatalf("first heartbeat of broker %d: %+v %v", registration.ID, result, err)
	}
	return epoch
}

// poll calls check until it returns true, failing after a bounded time.
func poll(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if check() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
