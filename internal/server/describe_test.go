package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/testutil"
)

// TestDescribeLogDirsAndCluster checks DescribeLogDirs (sizes per
// partition, the configured directory) and DescribeCluster (this broker,
// the controller, the cluster id) against an in-process broker.
func TestDescribeLogDirsAndCluster(t *testing.T) {
	b := testutil.StartBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "dirs"); err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: "dirs", Partition: 1, Value: make([]byte, 1000)}
	cl2, _ := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	defer cl2.Close()
	if err := cl2.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}

	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sizes = map[int32]int64{}
	var dirNames []string
	dirs.Each(func(d kadm.DescribedLogDir) {
		dirNames = append(dirNames, d.Dir)
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == "dirs" {
				sizes[p.Partition] = p.Size
			}
		})
	})
	if len(dirNames) != 1 || dirNames[0] != b.Dir {
		t.Fatalf("log dirs %q, want [%s]", dirNames, b.Dir)
	}
	if len(sizes) != 2 || sizes[0] != 0 || sizes[1] <= 1000 {
		t.Fatalf("partition sizes %v: want partition 0 empty and partition 1 holding the 1000-byte record", sizes)
	}

	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version = 1
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 || resp.ClusterID == "" || len(resp.Brokers) != 1 || resp.ControllerID != resp.Brokers[0].NodeID || resp.EndpointType != 1 {
		t.Fatalf("DescribeCluster: %+v", resp)
	}
}
