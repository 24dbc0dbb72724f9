package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// controlledMoveBound bounds how long after a SIGTERMed broker's exit the
// survivors may still name it leader. A controlled shutdown moves
// leadership before the process exits; the bound only absorbs metadata
// propagation between the survivors, and is well below the time a crashed
// broker keeps its leadership (until its session expires).
const controlledMoveBound = 3 * time.Second

// TestLeaderFailoverNoLoss: an idempotent acks=all producer writes keyed
// unique values to three partitions (replication factor 3) while the leader
// of partition 0 is killed with SIGKILL. The producer carries on through
// its retries without a single failed record; every acknowledged value is
// in the log exactly once, at its acknowledged offset, in order. The killed
// broker, restarted, catches up: back in every ISR with the leader's logs.
func TestLeaderFailoverNoLoss(t *testing.T) {
	c := startCluster(t)
	const topic, partitions = "failover", 3
	c.createTopic(topic, partitions, 3, nil)
	c.waitISR(topic, partitions, c.ids())

	producer := c.startProducer(topic)
	producer.waitAcked(clientTimeout, 500, 0, 50)
	victim := c.waitLeaders(topic, partitions)[0].leader
	c.kill(victim)
	_, onPartitionAtKill := producer.acked(0)
	// Partition 0 takes writes again under its new leader.
	producer.waitAcked(failoverTimeout+clientTimeout, 0, 0, onPartitionAtKill+300)
	acked := producer.finish()
	states := c.waitLeaders(topic, partitions)
	if states[0].leader == victim {
		t.Fatalf("partition 0 still led by killed node %d", victim)
	}
	c.verifyAcked(topic, acked)

	c.start(victim)
	c.waitISR(topic, partitions, c.ids())
	c.waitLogsMatch(topic, partitions)
	// The cluster still serves the same records with the restarted broker
	// back (whichever broker leads now).
	c.verifyAcked(topic, acked)
}

// TestControlledShutdown: SIGTERM to a broker that leads partitions while
// an acks=all producer writes: the broker hands its leadership over before
// it exits, the producer sees no failed record, and nothing is lost.
func TestControlledShutdown(t *testing.T) {
	c := startCluster(t)
	const topic, partitions = "controlled", 3
	c.createTopic(topic, partitions, 3, nil)
	c.waitISR(topic, partitions, c.ids())

	producer := c.startProducer(topic)
	producer.waitAcked(clientTimeout, 500, 0, 50)
	target := c.waitLeaders(topic, partitions)[0].leader
	c.terminate(target) // fails the test if SIGKILL was needed
	survivors := without(c.ids(), target)
	eventually(t, controlledMoveBound, fmt.Sprintf("no partition led by the stopped node %d", target), func() error {
		for _, id := range survivors {
			states, err := c.partitions(id, topic)
			if err != nil {
				return err
			}
			for index, state := range states {
				if state.leader == target || !slices.Contains(survivors, state.leader) {
					return fmt.Errorf("node %d: partition %d led by %d", id, index, state.leader)
				}
			}
		}
		return nil
	})
	totalAtStop, onPartitionAtStop := producer.acked(0)
	producer.waitAcked(clientTimeout, totalAtStop+500, 0, onPartitionAtStop+50)
	acked := producer.finish()
	c.verifyAcked(topic, acked)
}
