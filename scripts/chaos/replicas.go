package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	batchHeaderBytes     = 12 // base offset (8) and batch length (4)
	lastOffsetDeltaStart = 23 // base offset, length, leader epoch, magic, CRC, attributes
	maxBatchBytes        = 64 << 20
)

// replicaDigest is what one replica's segment files hold below the high
// watermark: a SHA-256 over the batches, and the offset after the last.
type replicaDigest struct {
	node    int32
	sum     string
	end     int64 // offset after the last batch below the high watermark
	batches int
	err     error
}

// digestReplica reads the segment files of one replica (a partition
// directory in a node's log dir) and digests every batch that starts
// below highWatermark, byte for byte as stored: followers store the
// leader's batches unchanged, so in-sync replicas must agree.
func digestReplica(partitionDir string, highWatermark int64) replicaDigest {
	result := replicaDigest{}
	entries, err := os.ReadDir(partitionDir)
	if err != nil {
		result.err = err
		return result
	}
	var segments []string
	for _, entry := range entries {
		if strings.HasSuffix(entry.Name(), ".log") {
			segments = append(segments, entry.Name())
		}
	}
	slices.Sort(segments) // zero-padded base offsets sort as numbers
	hash := sha256.New()
	for _, segment := range segments {
		data, err := os.ReadFile(filepath.Join(partitionDir, segment))
		if err != nil {
			result.err = err
			return result
		}
		for position := 0; position+lastOffsetDeltaStart+4 <= len(data); {
			base := int64(binary.BigEndian.Uint64(data[position:]))
			length := int(int32(binary.BigEndian.Uint32(data[position+8:])))
			if length <= 0 || length > maxBatchBytes || position+batchHeaderBytes+length > len(data) {
				break // a torn tail: not below any high watermark the cluster reported
			}
			if base >= highWatermark {
				break
			}
			lastDelta := int64(int32(binary.BigEndian.Uint32(data[position+lastOffsetDeltaStart:])))
			hash.Write(data[position : position+batchHeaderBytes+length])
			result.end = base + lastDelta + 1
			result.batches++
			position += batchHeaderBytes + length
		}
	}
	result.sum = hex.EncodeToString(hash.Sum(nil))[:16]
	return result
}

// checkReplicas compares every replica of every partition of the topic up
// to the high watermark; dirs maps node id to its log dir.
func checkReplicas(dirs map[int32]string, highWatermarks map[int32]int64) (*anomaly, []string) {
	result := &anomaly{name: "replica divergence", meaning: "replicas of a partition differ below the high watermark (SHA-256 of the stored batches)"}
	var lines []string
	var partitions []int32
	for partition := range highWatermarks {
		partitions = append(partitions, partition)
	}
	slices.Sort(partitions)
	var nodes []int32
	for id := range dirs {
		nodes = append(nodes, id)
	}
	slices.Sort(nodes)
	for _, partition := range partitions {
		highWatermark := highWatermarks[partition]
		var digests []replicaDigest
		for _, id := range nodes {
			digest := digestReplica(filepath.Join(dirs[id], topicName+"-"+strconv.Itoa(int(partition))), highWatermark)
			digest.node = id
			digests = append(digests, digest)
		}
		line := fmt.Sprintf("partition %d hw %d:", partition, highWatermark)
		agree := true
		for _, digest := range digests {
			if digest.err != nil {
				line += fmt.Sprintf(" node %d error %v;", digest.node, digest.err)
				agree = false
				continue
			}
			line += fmt.Sprintf(" node %d %s (%d batches, end %d);", digest.node, digest.sum, digest.batches, digest.end)
			if digest.sum != digests[0].sum || digest.end != highWatermark {
				agree = false
			}
		}
		if !agree {
			result.add("%s", line)
		}
		lines = append(lines, line)
	}
	return result, lines
}
