package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/record"
)

// ioTimeout bounds every read and write of a raw test client.
const ioTimeout = 20 * time.Second

// rawClient speaks the Kafka protocol over one TCP connection, by hand.
type rawClient struct {
	t      testing.TB
	nc     net.Conn
	br     *bufio.Reader
	corr   int32
	format *kmsg.RequestFormatter
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc), format: kmsg.NewRequestFormatter(kmsg.FormatterClientID("proto-test"))}
}

// frame encodes req with the next correlation id, size prefix included.
func (c *rawClient) frame(req kmsg.Request) ([]byte, int32) {
	c.corr++
	return c.format.AppendRequest(nil, req, c.corr), c.corr
}

// send writes req and returns its correlation id.
func (c *rawClient) send(req kmsg.Request) int32 {
	c.t.Helper()
	b, corr := c.frame(req)
	c.write(b)
	return corr
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one response frame: its correlation id and the bytes
// after it.
func (c *rawClient) readFrame() (int32, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return 0, nil, errors.New("bad response size")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(body)), body[4:], nil
}

// recv reads the response to req, which must carry correlation id corr.
func (c *rawClient) recv(req kmsg.Request, corr int32) kmsg.Response {
	c.t.Helper()
	got, body, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("reading response to %s (corr %d): %v", kmsg.NameForKey(req.Key()), corr, err)
	}
	if got != corr {
		c.t.Fatalf("response correlation id %d, want %d", got, corr)
	}
	return decodeResponse(c.t, req, body)
}

func decodeResponse(t testing.TB, req kmsg.Request, body []byte) kmsg.Response {
	t.Helper()
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != 18 {
		if len(body) == 0 || body[0] != 0 {
			t.Fatalf("%s: flexible response header without empty tags: % x", kmsg.NameForKey(req.Key()), body[:min(len(body), 8)])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func (c *rawClient) roundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	return c.recv(req, c.send(req))
}

// expectClosed asserts the broker closes the connection without answering.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	corr, body, err := c.readFrame()
	if err == nil {
		c.t.Fatalf("got a response (corr %d, %d bytes), want the connection closed", corr, len(body))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open after %v", ioTimeout)
	}
}

// rawFrame builds a request frame with an explicit header and body.
func rawFrame(key, version int16, corr int32, clientID string, flexible bool, body []byte) []byte {
	b := make([]byte, 4, 64+len(body))
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	if flexible {
		b = append(b, 0)
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// createTopic creates a topic and fails the test unless it succeeds.
func createTopic(t testing.TB, c *rawClient, name string, partitions int32, configs map[string]string) {
	t.Helper()
	resp := c.roundTrip(createTopicsRequest(name, partitions, configs, false)).(*kmsg.CreateTopicsResponse)
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("creating %s: error %d", name, code)
	}
}

func createTopicsRequest(name string, partitions int32, configs map[string]string, validateOnly bool) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	req.TimeoutMillis = 10000
	req.ValidateOnly = validateOnly
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions = partitions
	rt.ReplicationFactor = 1
	for k, v := range configs {
		rc := kmsg.NewCreateTopicsRequestTopicConfig()
		rc.Name = k
		rc.Value = kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, rc)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// batch builds a magic 2 batch of values, non-idempotent.
func batch(t testing.TB, values ...string) []byte {
	t.Helper()
	return idempotentBatch(t, -1, -1, -1, values...)
}

func idempotentBatch(t testing.TB, producerID int64, epoch int16, sequence int32, values ...string) []byte {
	t.Helper()
	h := record.Header{BaseTimestamp: 1700000000000, ProducerID: producerID, ProducerEpoch: epoch, BaseSequence: sequence}
	recs := make([]record.Record, len(values))
	for i, v := range values {
		recs[i] = record.Record{OffsetDelta: int32(i), Value: []byte(v)}
	}
	b, err := record.BuildBatch(h, recs, record.CompressionNone)
	if err != nil {
		t.Fatalf("building batch: %v", err)
	}
	return b
}

func produceRequest(topic string, partition int32, acks int16, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = acks
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produce sends one batch with acks=1 and returns the partition result.
func produce(t testing.TB, c *rawClient, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp := c.roundTrip(produceRequest(topic, partition, 1, records)).(*kmsg.ProduceResponse)
	return resp.Topics[0].Partitions[0]
}

func fetchRequest(version int16, topic string, topicID [16]byte, partition int32, offset int64, maxWait time.Duration) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = version
	req.ReplicaID = -1
	req.MaxWaitMillis = int32(maxWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rt.TopicID = topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 1 << 20
	rp.CurrentLeaderEpoch = -1
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func fetch(t testing.TB, c *rawClient, req *kmsg.FetchRequest) kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp := c.roundTrip(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch: top-level error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// values decodes the records of the batches in b.
func values(t testing.TB, b []byte) (baseOffsets []int64, vals []string) {
	t.Helper()
	for len(b) > 0 {
		size, err := record.PeekSize(b)
		if err != nil || size > len(b) {
			t.Fatalf("bad batch in fetch response: %v", err)
		}
		h, recs, err := record.Records(b[:size], 0)
		if err != nil {
			t.Fatalf("decoding fetched batch: %v", err)
		}
		baseOffsets = append(baseOffsets, h.BaseOffset)
		for _, r := range recs {
			vals = append(vals, string(r.Value))
		}
		b = b[size:]
	}
	return baseOffsets, vals
}

func metadataRequest(version int16, allowAutoCreate bool, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.AllowAutoTopicCreation = allowAutoCreate
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// topicExists asks (without auto-creating) whether the broker knows topic.
func topicExists(t testing.TB, c *rawClient, topic string) bool {
	t.Helper()
	resp := c.roundTrip(metadataRequest(12, false, topic)).(*kmsg.MetadataResponse)
	return resp.Topics[0].ErrorCode == 0
}

func topicID(t testing.TB, c *rawClient, topic string) [16]byte {
	t.Helper()
	resp := c.roundTrip(metadataRequest(12, false, topic)).(*kmsg.MetadataResponse)
	if resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("metadata for %s: error %d", topic, resp.Topics[0].ErrorCode)
	}
	return resp.Topics[0].TopicID
}

func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
