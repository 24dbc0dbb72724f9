package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	failoverLimit     = 60 * time.Second // bound on a new leader and its first ack after a kill
	failoverWarmAcks  = 200              // acks before the kill: the producer is in its steady state
	failoverRetryWait = 50 * time.Millisecond
)

// errNoFailover means the partition got no new leader, or the producer no
// ack from it, within failoverLimit.
var errNoFailover = errors.New("no failover")

// failoverWorkload kills the leader of a one-partition rf=3 topic while an
// acks=all producer writes to it, once per repeat, and restarts the killed
// node between runs.
func failoverWorkload(label string, overrides []string) clusterWorkload {
	prefix := "failover (" + label + "): kill -9 leader to "
	electedRow, ackedRow := prefix+"new leader in Metadata (ms)", prefix+"first acks=all ack (ms)"
	return clusterWorkload{name: "failover " + label, rows: []string{electedRow, ackedRow},
		targets: []clusterTarget{threeNodes}, overrides: overrides,
		run: func(ctx context.Context, env clusterEnv, rec *recorder) error {
			const topic = "cbench-failover"
			if err := env.createTopic(ctx, topic, 1); err != nil {
				return err
			}
			for repeat := range env.repeats {
				result, err := failoverOnce(ctx, env, topic)
				if err != nil {
					return fmt.Errorf("run %d: %w", repeat+1, err)
				}
				rec.sample(electedRow, milliseconds(result.elected))
				rec.sample(ackedRow, milliseconds(result.acked))
				controller := "another node"
				if result.controller == result.victim {
					controller = "itself"
				}
				rec.note("failover (%s) run %d: killed leader %d (active controller: %s), new leader %d in Metadata after %.0f ms, first ack after %.0f ms",
					label, repeat+1, result.victim, controller, result.newLeader, milliseconds(result.elected), milliseconds(result.acked))
			}
			return nil
		}}
}

// failoverResult is one run of failoverOnce.
type failoverResult struct {
	victim, newLeader, controller int32
	elected, acked                time.Duration // from the kill
}

// failoverOnce waits for a full ISR, starts the producer, kills the leader
// and measures until a survivor names a new leader and the producer has an
// ack for a record it sent after the kill; then restarts the killed node.
func failoverOnce(ctx context.Context, env clusterEnv, topic string) (failoverResult, error) {
	c := env.cluster
	var result failoverResult
	if err := c.waitFullISR(ctx, topic, 1, env.target.replication); err != nil {
		return result, err
	}
	views, err := c.partitions(ctx, c.running()[0], topic)
	if err != nil {
		return result, err
	}
	result.victim = views[0].leader
	described, err := c.metadata(ctx, result.victim)
	if err != nil {
		return result, err
	}
	result.controller = described.ControllerID

	producer, err := startAckProducer(c.addrs(), topic)
	if err != nil {
		return result, err
	}
	defer producer.stop()
	if err := producer.waitAcks(failoverWarmAcks, failoverLimit); err != nil {
		return result, err
	}
	killedAt, reapedAt, err := c.kill(result.victim)
	if err != nil {
		return result, err
	}
	// Only a record sent once the old leader is reaped is surely
	// acknowledged by another broker.
	producer.markKill(reapedAt)
	var elected time.Time
	var electedErr error
	var poller sync.WaitGroup
	poller.Go(func() {
		elected, result.newLeader, electedErr = waitNewLeader(ctx, c, topic, result.victim)
	})
	acked, ackErr := producer.waitFirstAfterKill(failoverLimit)
	poller.Wait()
	if err := errors.Join(electedErr, ackErr); err != nil {
		return result, err
	}
	result.elected, result.acked = elected.Sub(killedAt), acked.Sub(killedAt)
	producer.stop()
	if err := c.launch(result.victim); err != nil {
		return result, err
	}
	if err := c.waitBrokers(); err != nil {
		return result, err
	}
	return result, c.waitFullISR(ctx, topic, 1, env.target.replication)
}

// waitNewLeader polls the survivors' Metadata until one names a live leader
// other than victim.
func waitNewLeader(ctx context.Context, c *localCluster, topic string, victim int32) (time.Time, int32, error) {
	survivors := slices.DeleteFunc(c.running(), func(id int32) bool { return id == victim })
	deadline := time.Now().Add(failoverLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, id := range survivors {
			views, err := c.partitions(ctx, id, topic)
			if err == nil && len(views) == 1 && slices.Contains(survivors, views[0].leader) {
				return time.Now(), views[0].leader, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Time{}, -1, fmt.Errorf("%w: no survivor named a new leader of %s within %s", errNoFailover, topic, failoverLimit)
}

// ackProducer produces one record at a time (ProduceSync, acks=all,
// idempotent) to partition 0 in a loop, and notes the ack time of the first
// record sent after the old leader was reaped: it cannot have acknowledged
// it.
type ackProducer struct {
	client   *kgo.Client
	cancel   context.CancelFunc
	done     chan struct{}
	firstAck chan time.Time // the first ack of a record sent after markKill
	stopOnce sync.Once

	mu struct {
		sync.Mutex
		acks     int
		killedAt time.Time
		err      error
	}
}

func startAckProducer(bootstrap []string, topic string) (*ackProducer, error) {
	client, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap...),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.DialTimeout(time.Second),
		// Kafka's Java client refreshes metadata and retries every 100 ms;
		// franz-go's defaults (5 s minimum metadata age, backoff growing to
		// 2.5 s) would measure the client's timers, not the failover.
		kgo.MetadataMinAge(failoverRetryWait),
		kgo.RetryBackoffFn(func(int) time.Duration { return failoverRetryWait }),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &ackProducer{client: client, cancel: cancel, done: make(chan struct{}), firstAck: make(chan time.Time, 1)}
	go p.loop(ctx)
	return p, nil
}

func (p *ackProducer) loop(ctx context.Context) {
	defer close(p.done)
	value := make([]byte, 100)
	reported := false
	for ctx.Err() == nil {
		sent := time.Now()
		err := p.client.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: value}).FirstErr()
		acked := time.Now()
		p.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				p.mu.err = err
			}
			p.mu.Unlock()
			return
		}
		p.mu.acks++
		afterKill := !p.mu.killedAt.IsZero() && !sent.Before(p.mu.killedAt)
		p.mu.Unlock()
		if afterKill && !reported {
			p.firstAck <- acked
			reported = true
		}
	}
}

// markKill records when the old leader was gone: the first ack counted is
// that of a record sent at or after it.
func (p *ackProducer) markKill(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.killedAt = at
}

// waitAcks waits until count records were acknowledged.
func (p *ackProducer) waitAcks(count int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		acks, err := p.mu.acks, p.mu.err
		p.mu.Unlock()
		if err != nil {
			return fmt.Errorf("producer: %w", err)
		}
		if acks >= count {
			return nil
		}
		time.Sleep(clusterPoll)
	}
	return fmt.Errorf("producer: %w: fewer than %d acks within %s", errNotReady, count, limit)
}

// waitFirstAfterKill returns the ack time of the first record sent after
// the kill.
func (p *ackProducer) waitFirstAfterKill(limit time.Duration) (time.Time, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case acked := <-p.firstAck:
		return acked, nil
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return time.Time{}, fmt.Errorf("producer stopped: %w", p.mu.err)
	case <-timer.C:
		return time.Time{}, fmt.Errorf("%w: no ack from a new leader within %s", errNoFailover, limit)
	}
}

// stop ends the loop and closes the client; safe to call twice.
func (p *ackProducer) stop() {
	p.stopOnce.Do(func() {
		p.cancel()
		<-p.done
		p.client.Close()
	})
}
