package cluster

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestHarnessSingleNode checks the harness itself on a one-node cluster
// (which needs no replication): raw requests, the continuous producer and
// its verification, pause/resume, kill -9 and restart by pid.
func TestHarnessSingleNode(t *testing.T) {
	c := startCluster(t, withNodes(1))
	var controller int32
	c.eventually(failoverTimeout, "a controller", func() error { return c.sameController(c.ids(), &controller) })
	assertEqual(t, "controller", controller, int32(1))
	const topic = "harness"
	c.createTopic(topic, 3, 1, nil)
	c.waitISR(topic, 3, c.ids())
	if err := c.rawProduce(1, topic, 0, -1, "raw-0", "raw-1"); err != nil {
		t.Fatalf("raw produce: %v", err)
	}
	if err := c.rawProduce(1, topic, 7, -1, "nowhere"); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("raw produce to partition 7: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	fetched, err := c.rawFetch(1, topic, 0, 10)
	if err != nil || fetched.err != nil {
		t.Fatalf("raw fetch v10: %v / %v", err, fetched.err)
	}
	assertEqual(t, "high watermark", fetched.highWatermark, int64(2))

	producer := c.startProducer(topic)
	producer.waitAcked(clientTimeout, 1000, 0, 50)
	c.pause(1)
	c.resume(1)
	total, _ := producer.acked(0)
	producer.waitAcked(clientTimeout, total+500, 0, 0)
	acked := producer.finish()
	acked[0] = append([]ackedRecord{{0, "raw-0"}, {1, "raw-1"}}, acked[0]...)
	c.verifyAcked(topic, acked)
	c.waitLogsMatch(topic, 3)

	c.kill(1)
	c.start(1)
	c.verifyAcked(topic, acked)
	c.restart(1)
	coordinator, err := c.coordinatorOf(1, "harness-group")
	if err != nil || coordinator != 1 {
		t.Errorf("coordinator: %d, %v", coordinator, err)
	}
}
