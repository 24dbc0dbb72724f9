package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	topicName        = "chaos-queue"
	groupName        = "chaos-group"
	keyCount         = 1024 // 64 keys left a partition of 8 empty
	maxInFlight      = 32   // unacknowledged records per producer
	deliveryTimeout  = 20 * time.Second
	commitInterval   = time.Second
	groupSession     = 4 * time.Second
	flushBound       = 30 * time.Second
	finalReadBound   = 60 * time.Second
	requestBound     = 10 * time.Second
	consumerPollWait = time.Second
)

// errFinalRead is returned when the final read cannot reach a partition's
// high watermark in time.
var errFinalRead = errors.New("final read incomplete")

// workload is the "queue" workload: idempotent acks=all producers writing
// unique values with keys, and a consumer group committing offsets.
type workload struct {
	cluster    *cluster
	history    *history
	logger     *slog.Logger
	producers  int
	consumers  int
	partitions int
	interval   time.Duration // between two records of one producer
	seed       uint64
}

func (w *workload) clientOptions(extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(w.cluster.addrs()...),
		kgo.Dialer(w.cluster.network.dial),
		kgo.RetryTimeout(15 * time.Second),
		kgo.MetadataMinAge(250 * time.Millisecond),
	}, extra...)
}

// createTopic creates the workload's topic (rf=3, min.insync.replicas=2).
func (w *workload) createTopic(ctx context.Context) error {
	client, err := kgo.NewClient(w.clientOptions()...)
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	ctx, cancel := context.WithTimeout(ctx, requestBound)
	defer cancel()
	minISR := "2"
	responses, err := admin.CreateTopics(ctx, int32(w.partitions), 3, map[string]*string{"min.insync.replicas": &minISR}, topicName)
	if err != nil {
		return err
	}
	return responses.Error()
}

// run drives producers and consumers until ctx ends, then flushes the
// producers (bounded) and stops everything.
func (w *workload) run(ctx context.Context) {
	var group sync.WaitGroup
	for producer := range w.producers {
		group.Go(func() { w.produce(ctx, producer) })
	}
	for consumer := range w.consumers {
		group.Go(func() { w.consume(ctx, consumer) })
	}
	group.Wait()
}

// produce writes records until ctx ends, at most maxInFlight unacknowledged.
func (w *workload) produce(ctx context.Context, producer int) {
	client, err := kgo.NewClient(w.clientOptions(
		kgo.DefaultProduceTopic(topicName),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		kgo.ProducerLinger(5*time.Millisecond),
	)...)
	if err != nil {
		w.logger.Error("producer client", "producer", producer, "error", err)
		return
	}
	defer client.Close()
	random := rand.New(rand.NewPCG(w.seed, uint64(producer)))
	slots := make(chan struct{}, maxInFlight)
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for sequence := 0; ; sequence++ {
		select {
		case <-ctx.Done():
			w.flush(client)
			return
		case <-ticker.C:
		}
		select {
		case <-ctx.Done():
			w.flush(client)
			return
		case slots <- struct{}{}:
		}
		value := recordValue(producer, sequence)
		record := &kgo.Record{Key: []byte("k" + strconv.Itoa(random.IntN(keyCount))), Value: []byte(value)}
		w.history.attempt()
		client.Produce(context.Background(), record, func(record *kgo.Record, err error) {
			<-slots
			if err != nil {
				w.history.failed()
				return
			}
			w.history.produced(ack{producer: producer, sequence: sequence, value: value,
				partition: record.Partition, offset: record.Offset})
		})
	}
}

// flush waits (bounded) for outstanding records; the rest fail on close.
func (w *workload) flush(client *kgo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), flushBound)
	defer cancel()
	if err := client.Flush(ctx); err != nil {
		w.logger.Warn("producer flush incomplete", "error", err)
	}
}

// consume polls as a group member, recording every record read, and
// commits what it consumed every commitInterval and on revocation.
func (w *workload) consume(ctx context.Context, consumer int) {
	commitOffsets := func(ctx context.Context, client *kgo.Client) {
		offsets := client.UncommittedOffsets()
		if len(offsets) == 0 {
			return
		}
		sent := time.Now()
		client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, request *kmsg.OffsetCommitRequest, response *kmsg.OffsetCommitResponse, err error) {
			w.recordCommits(sent, request, response, err)
		})
	}
	client, err := kgo.NewClient(w.clientOptions(
		kgo.ConsumerGroup(groupName),
		kgo.ConsumeTopics(topicName),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(groupSession),
		kgo.HeartbeatInterval(time.Second),
		kgo.FetchMaxWait(500*time.Millisecond),
		// No rebalance between a poll and the commit that follows it: the
		// member commits only partitions it still owns (franz-go's pattern
		// for committing outside the revoke callback).
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(func(ctx context.Context, client *kgo.Client, _ map[string][]int32) {
			commitOffsets(ctx, client)
		}),
	)...)
	if err != nil {
		w.logger.Error("consumer client", "consumer", consumer, "error", err)
		return
	}
	defer client.Close()
	lastCommit := time.Now()
	for {
		pollCtx, cancel := context.WithTimeout(ctx, consumerPollWait)
		fetches := client.PollFetches(pollCtx)
		cancel()
		fetches.EachRecord(func(record *kgo.Record) {
			w.history.read(observation{partition: record.Partition, offset: record.Offset, value: string(record.Value)})
		})
		done := ctx.Err() != nil
		if done || time.Since(lastCommit) >= commitInterval {
			commitCtx, cancel := context.WithTimeout(context.Background(), requestBound)
			commitOffsets(commitCtx, client)
			cancel()
			lastCommit = time.Now()
		}
		client.AllowRebalance()
		if done {
			return
		}
	}
}

// recordCommits notes every partition the broker acknowledged.
func (w *workload) recordCommits(sent time.Time, request *kmsg.OffsetCommitRequest, response *kmsg.OffsetCommitResponse, err error) {
	acked := time.Now()
	if err != nil || response == nil {
		w.history.commitFailed()
		return
	}
	requested := map[int32]int64{}
	for _, topic := range request.Topics {
		for _, partition := range topic.Partitions {
			requested[partition.Partition] = partition.Offset
		}
	}
	for _, topic := range response.Topics {
		for _, partition := range topic.Partitions {
			offset, ok := requested[partition.Partition]
			if partition.ErrorCode != 0 || !ok {
				w.history.commitFailed()
				continue
			}
			w.history.committed(commit{partition: partition.Partition, offset: offset, sent: sent, acked: acked,
				member: request.MemberID, generation: request.Generation})
		}
	}
}

// finalRead reads every partition from the start to its high watermark.
func (w *workload) finalRead(ctx context.Context) (finalRead, map[int32]int64, error) {
	client, err := kgo.NewClient(w.clientOptions()...)
	if err != nil {
		return nil, nil, err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	listCtx, cancel := context.WithTimeout(ctx, requestBound)
	ends, err := admin.ListEndOffsets(listCtx, topicName)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, nil, err
	}
	highWatermarks := map[int32]int64{}
	ends.Each(func(offset kadm.ListedOffset) { highWatermarks[offset.Partition] = offset.Offset })
	result, err := w.readUpTo(ctx, highWatermarks)
	return result, highWatermarks, err
}

func (w *workload) readUpTo(ctx context.Context, highWatermarks map[int32]int64) (finalRead, error) {
	starts := map[int32]kgo.Offset{}
	remaining := 0
	for partition, end := range highWatermarks {
		if end > 0 {
			starts[partition] = kgo.NewOffset().At(0)
			remaining++
		}
	}
	result := finalRead{}
	if remaining == 0 {
		return result, nil
	}
	client, err := kgo.NewClient(w.clientOptions(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topicName: starts}))...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	deadline, cancel := context.WithTimeout(ctx, finalReadBound)
	defer cancel()
	for remaining > 0 {
		fetches := client.PollFetches(deadline)
		if deadline.Err() != nil {
			return result, fmt.Errorf("%w: %d partitions short of their high watermark", errFinalRead, remaining)
		}
		fetches.EachRecord(func(record *kgo.Record) {
			end := highWatermarks[record.Partition]
			if record.Offset >= end {
				return
			}
			result[record.Partition] = append(result[record.Partition],
				observation{partition: record.Partition, offset: record.Offset, value: string(record.Value)})
			if record.Offset == end-1 {
				remaining--
			}
		})
	}
	return result, nil
}

// finalCommitted fetches the group's committed offsets.
func (w *workload) finalCommitted(ctx context.Context) (map[int32]int64, error) {
	client, err := kgo.NewClient(w.clientOptions()...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, requestBound)
	defer cancel()
	offsets, err := kadm.NewClient(client).FetchOffsets(ctx, groupName)
	if err != nil {
		return nil, err
	}
	result := map[int32]int64{}
	offsets.Each(func(offset kadm.OffsetResponse) {
		if offset.Topic == topicName && offset.Err == nil {
			result[offset.Partition] = offset.At
		}
	})
	return result, nil
}
