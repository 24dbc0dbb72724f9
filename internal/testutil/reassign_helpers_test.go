package testutil

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// reassignOverrides make ISR changes and fencing quick.
var reassignOverrides = []string{"replica.lag.time.max.ms=2000", "broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500"}

// partitionView is one partition as a Metadata response shows it.
type partitionView struct {
	Leader   int32
	Replicas []int32
	ISR      []int32
}

func newClient(t *testing.T, seeds []string, options ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, options...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// describePartition asks a fresh client (kgo caches metadata) for one partition.
func describePartition(ctx context.Context, seeds []string, topic string, partition int32) (partitionView, bool) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return partitionView{}, false
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 {
		return partitionView{}, false
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.Partition == partition {
			return partitionView{Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR}, true
		}
	}
	return partitionView{}, false
}

// waitPartition polls until the partition satisfies check.
func waitPartition(t *testing.T, ctx context.Context, seeds []string, topic string, partition int32, what string, check func(partitionView) bool) partitionView {
	t.Helper()
	var last partitionView
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 0; ; attempt++ {
		view, ok := describePartition(ctx, seeds, topic, partition)
		if ok {
			last = view
			if check(view) {
				return view
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s-%d: %s not reached; last %+v", topic, partition, what, last)
		}
		time.Sleep(min(time.Duration(attempt+1)*20*time.Millisecond, 200*time.Millisecond))
	}
}

func sameSet(a, b []int32) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// createAssigned creates topic with one partition per replica list.
func createAssigned(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, assignments ...[]int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for index, replicas := range assignments {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(index), replicas
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// recordValue is the value of record number index of topic (padded so that
// moves copy some data).
func recordValue(topic string, index int) string {
	return fmt.Sprintf("%s-%05d-%s", topic, index, strings.Repeat("x", 200))
}

// produceRange writes records from..to-1 to partition 0 of topic and waits
// for every acknowledgement.
func produceRange(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, from, to int) {
	t.Helper()
	results := make(chan error, to-from)
	for index := from; index < to; index++ {
		record := &kgo.Record{Topic: topic, Partition: 0, Value: []byte(recordValue(topic, index))}
		cl.Produce(ctx, record, func(_ *kgo.Record, err error) { results <- err })
	}
	for index := from; index < to; index++ {
		if err := <-results; err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
}

// consumeExactly reads partition 0 of topic from the start and checks that
// it holds exactly records 0..count-1, in order.
func consumeExactly(t *testing.T, ctx context.Context, seeds []string, topic string, count int) {
	t.Helper()
	consumer := newClient(t, seeds, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var got []string
	for len(got) < count {
		fetches := consumer.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			t.Fatalf("consume %s after %d records: %v", topic, len(got), err)
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) != count {
		t.Fatalf("%s: consumed %d records, want %d", topic, len(got), count)
	}
	for index, value := range got {
		if want := recordValue(topic, index); value != want {
			t.Fatalf("%s: record %d is %.20q, want %.20q", topic, index, value, want)
		}
	}
	ends, err := kadm.NewClient(consumer).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := ends.Lookup(topic, 0); end.Err != nil || end.Offset != int64(count) {
		t.Fatalf("%s: end offset %+v, want %d", topic, end, count)
	}
}

// reassign sends one AlterPartitionReassignments for partition 0 of topic
// (nil replicas cancels) and returns its per-partition error.
func reassign(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, replicas []int32) error {
	t.Helper()
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(topic, 0, replicas)
	resp, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatalf("reassign %s to %v: %v", topic, replicas, err)
	}
	return resp[topic][0].Err
}

// listReassignment returns the reassignment of partition 0 of topic, if any.
func listReassignment(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) (kadm.ListPartitionReassignmentsResponse, bool) {
	t.Helper()
	resp, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatalf("list reassignments: %v", err)
	}
	listed, ok := resp[topic][0]
	return listed, ok
}

// electOne runs one election on partition 0 of topic and returns its error.
func electOne(t *testing.T, ctx context.Context, adm *kadm.Client, how kadm.ElectLeadersHow, topic string) error {
	t.Helper()
	results, err := adm.ElectLeaders(ctx, how, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatalf("elect %s: %v", topic, err)
	}
	result, ok := results[topic][0]
	if !ok {
		t.Fatalf("elect %s: no result in %+v", topic, results)
	}
	return result.Err
}
