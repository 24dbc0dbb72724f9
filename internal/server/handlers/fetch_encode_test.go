package handlers

import (
	"bytes"
	"os"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/log"
	"samsa/internal/vfs"
)

// TestFetchEncodingMatchesKmsg checks, for every Fetch version, that the
// segmented encoding (records left in files) produces exactly the bytes
// kmsg produces with the records inline.
func TestFetchEncodingMatchesKmsg(t *testing.T) {
	fsys := vfs.NewMem()
	f, err := fsys.OpenFile("/seg.log", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fileData := bytes.Repeat([]byte("0123456789abcdef"), 100) // 1600 bytes
	if _, err := f.Write(fileData); err != nil {
		t.Fatal(err)
	}
	for v := int16(0); v <= 16; v++ {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = v
		resp.ThrottleMillis = 7
		resp.ErrorCode = 0
		resp.SessionID = 0
		var records []log.ReadResult
		var inline [][]byte
		for ti, name := range []string{"alpha", "beta"} {
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic = name
			rt.TopicID = [16]byte{byte(ti + 1), 2, 3}
			for pi := int32(0); pi < 3; pi++ {
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition = pi
				rp.HighWatermark = 100 + int64(pi)
				rp.LastStableOffset = 90
				rp.LogStartOffset = 3
				rp.PreferredReadReplica = -1
				rp.RecordBatches = []byte{}
				var rec log.ReadResult
				switch pi {
				case 0: // records from the file, in two chunks
					rec = log.ReadResult{Chunks: []log.Chunk{{File: f, Pos: 10, Len: 500}, {File: f, Pos: 900, Len: 700}}, Size: 1200}
					inline = append(inline, append(append([]byte{}, fileData[10:510]...), fileData[900:1600]...))
				case 1: // an error, no records, aborted transactions list
					rp.ErrorCode = 1
					rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: 5, FirstOffset: 6}}
					inline = append(inline, nil)
				case 2: // records already in bytes (down-converted)
					rp.RecordBatches = []byte("legacy")
					inline = append(inline, nil)
				}
				records = append(records, rec)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		var got []byte
		for _, sg := range (&FetchReply{FetchResponse: resp, records: records}).AppendSegments(nil) {
			if sg.Bytes != nil {
				got = append(got, sg.Bytes...)
				continue
			}
			buf := make([]byte, sg.Chunk.Len)
			if _, err := sg.Chunk.File.ReadAt(buf, sg.Chunk.Pos); err != nil {
				t.Fatal(err)
			}
			got = append(got, buf...)
		}
		// The same response with the records inline, encoded by kmsg.
		k := 0
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if inline[k] != nil {
					resp.Topics[i].Partitions[j].RecordBatches = inline[k]
				}
				k++
			}
		}
		want := resp.AppendTo(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: segmented encoding differs from kmsg:\n got %x\nwant %x", v, got, want)
		}
		// And kmsg decodes it back.
		back := kmsg.NewPtrFetchResponse()
		back.Version = v
		if err := back.ReadFrom(got); err != nil {
			t.Fatalf("v%d: kmsg cannot decode: %v", v, err)
		}
	}
}
