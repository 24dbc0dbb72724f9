package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	producerInFlight   = 200    // records produced but not yet acknowledged, at most
	producerMaxRecords = 50_000 // bound on one continuous producer's records
	producerKeys       = 24
)

// ackedRecord is one acknowledged record: where it landed and its value.
type ackedRecord struct {
	offset int64
	value  string
}

// continuousProducer is an idempotent acks=all franz-go producer writing
// keyed unique values to one topic from its own goroutine until stopped,
// remembering each acknowledgement in callback order per partition.
type continuousProducer struct {
	t      *testing.T
	client *kgo.Client
	topic  string
	slots  chan struct{} // one per record in flight
	stop   chan struct{}
	done   chan struct{}

	mu struct {
		sync.Mutex
		acked      map[int32][]ackedRecord
		ackedTotal int
		errors     []error
	}
}

// startProducer starts a continuous producer; it is stopped and flushed by
// finish (or at the test's end).
func (c *testCluster) startProducer(topic string) *continuousProducer {
	c.t.Helper()
	producer := &continuousProducer{
		t:      c.t,
		client: c.client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks())),
		topic:  topic,
		slots:  make(chan struct{}, producerInFlight),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	producer.mu.acked = make(map[int32][]ackedRecord)
	go producer.run()
	c.t.Cleanup(producer.halt)
	return producer
}

func (p *continuousProducer) run() {
	defer close(p.done)
	for index := range producerMaxRecords {
		select {
		case p.slots <- struct{}{}:
		case <-p.stop:
			return
		}
		record := &kgo.Record{
			Key:   fmt.Appendf(nil, "key-%02d", index%producerKeys),
			Value: fmt.Appendf(nil, "value-%06d", index),
		}
		p.client.Produce(context.Background(), record, p.acknowledge)
	}
}

func (p *continuousProducer) acknowledge(record *kgo.Record, err error) {
	<-p.slots
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.mu.errors = append(p.mu.errors, fmt.Errorf("%s: %w", record.Value, err))
		return
	}
	p.mu.acked[record.Partition] = append(p.mu.acked[record.Partition], ackedRecord{record.Offset, string(record.Value)})
	p.mu.ackedTotal++
}

// halt stops issuing records and waits for the producing goroutine.
func (p *continuousProducer) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// acked returns the number of acknowledged records, in total and on one
// partition.
func (p *continuousProducer) acked(partition int32) (total, onPartition int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.ackedTotal, len(p.mu.acked[partition])
}

// waitAcked waits until at least total records are acknowledged and at
// least onPartition of them on partition.
func (p *continuousProducer) waitAcked(timeout time.Duration, total int, partition int32, onPartition int) {
	p.t.Helper()
	eventually(p.t, timeout, fmt.Sprintf("%d records acknowledged, %d on partition %d", total, onPartition, partition), func() error {
		gotTotal, gotPartition := p.acked(partition)
		p.mu.Lock()
		errors := slices.Clone(p.mu.errors)
		p.mu.Unlock()
		if len(errors) > 0 {
			p.t.Fatalf("producer errors: %v", errors)
		}
		if gotTotal < total || gotPartition < onPartition {
			return fmt.Errorf("%d acknowledged, %d on partition %d", gotTotal, gotPartition, partition)
		}
		return nil
	})
}

// finish stops the producer, flushes what is in flight and returns every
// acknowledgement; the test fails if any record failed.
func (p *continuousProducer) finish() map[int32][]ackedRecord {
	p.t.Helper()
	p.halt()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := p.client.Flush(ctx); err != nil {
		p.t.Fatalf("flush: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mu.errors) > 0 {
		shown := p.mu.errors[:min(len(p.mu.errors), 10)]
		p.t.Fatalf("%d records failed, first: %v", len(p.mu.errors), shown)
	}
	acked := make(map[int32][]ackedRecord, len(p.mu.acked))
	for partition, records := range p.mu.acked {
		acked[partition] = slices.Clone(records)
	}
	return acked
}

// verifyAcked consumes topic from the start and checks that each
// partition holds exactly the acknowledged records: each value once, at the
// acknowledged offset, in the order of acknowledgement, nothing else.
func (c *testCluster) verifyAcked(topic string, acked map[int32][]ackedRecord) {
	c.t.Helper()
	total := 0
	for partition, records := range acked {
		total += len(records)
		for i := 1; i < len(records); i++ {
			if records[i].offset <= records[i-1].offset {
				c.t.Fatalf("partition %d: acknowledgement %d at offset %d after offset %d", partition, i, records[i].offset, records[i-1].offset)
			}
		}
	}
	consumed := make(map[int32][]ackedRecord)
	for _, record := range c.consumeAll(topic, total) {
		consumed[record.Partition] = append(consumed[record.Partition], ackedRecord{record.Offset, string(record.Value)})
	}
	for partition, want := range acked {
		got := consumed[partition]
		if !slices.Equal(got, want) {
			c.t.Errorf("partition %d: consumed %d records, acknowledged %d; first difference: %s",
				partition, len(got), len(want), firstDifference(got, want))
		}
	}
	for partition := range consumed {
		if _, ok := acked[partition]; !ok {
			c.t.Errorf("partition %d: %d records never acknowledged", partition, len(consumed[partition]))
		}
	}
}

func firstDifference(got, want []ackedRecord) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra %+v", got[len(want)])
	}
	if len(want) > len(got) {
		return fmt.Sprintf("missing %+v", want[len(got)])
	}
	return "none"
}

// logSizes returns, per partition of topic, the size of the replica on
// node id according to its DescribeLogDirs.
func (c *testCluster) logSizes(id int32, topic string, partitions int) (map[int32]int64, error) {
	request := kmsg.NewPtrDescribeLogDirsRequest()
	requestTopic := kmsg.NewDescribeLogDirsRequestTopic()
	requestTopic.Topic = topic
	for partition := range int32(partitions) {
		requestTopic.Partitions = append(requestTopic.Partitions, partition)
	}
	request.Topics = append(request.Topics, requestTopic)
	response, err := c.node(id).request(request)
	if err != nil {
		return nil, err
	}
	sizes := make(map[int32]int64)
	for _, directory := range response.(*kmsg.DescribeLogDirsResponse).Dirs {
		for _, described := range directory.Topics {
			if described.Topic != topic {
				continue
			}
			for _, partition := range described.Partitions {
				if !partition.IsFuture {
					sizes[partition.Partition] += partition.Size
				}
			}
		}
	}
	return sizes, nil
}

// waitLogsMatch waits until every node reports the same non-empty size for
// each of topic's partitions: followers copy the leader's batches byte for
// byte, so equal sizes after the writes stopped mean equal logs.
func (c *testCluster) waitLogsMatch(topic string, partitions int) {
	c.t.Helper()
	c.eventually(isrTimeout, fmt.Sprintf("every replica of %q has the leader's log size", topic), func() error {
		var first map[int32]int64
		for i, id := range c.ids() {
			sizes, err := c.logSizes(id, topic, partitions)
			if err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
			if len(sizes) != partitions {
				return fmt.Errorf("node %d describes %d partitions: %v", id, len(sizes), sizes)
			}
			if i == 0 {
				first = sizes
			} else if fmt.Sprint(sizes) != fmt.Sprint(first) {
				return fmt.Errorf("node 1 sizes %v, node %d sizes %v", first, id, sizes)
			}
		}
		for partition, size := range first {
			if size == 0 {
				return fmt.Errorf("partition %d is empty", partition)
			}
		}
		return nil
	})
}
