package handlers

import (
	"syscall"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 35, MinVersion: 0, MaxVersion: 4, Handle: handleDescribeLogDirs})
}

func handleDescribeLogDirs(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	want := func(topic string, p int32) bool {
		if r.Topics == nil {
			return true
		}
		for _, t := range r.Topics {
			if t.Topic == topic {
				for _, q := range t.Partitions {
					if q == p {
						return true
					}
				}
			}
		}
		return false
	}
	byDir := map[string]map[string][]kmsg.DescribeLogDirsResponseDirTopicPartition{}
	for _, p := range env.Partitions.All() {
		if !want(p.ID.Topic, p.ID.Partition) {
			continue
		}
		dir := env.Partitions.Dir(p.ID)
		if byDir[dir] == nil {
			byDir[dir] = map[string][]kmsg.DescribeLogDirsResponseDirTopicPartition{}
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition = p.ID.Partition
		dp.Size = p.Log().Size()
		dp.OffsetLag = 0
		byDir[dir][p.ID.Topic] = append(byDir[dir][p.ID.Topic], dp)
	}
	for _, dir := range env.Partitions.Dirs() {
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir = dir
		rd.TotalBytes, rd.UsableBytes = diskSpace(dir)
		for topic, parts := range byDir[dir] {
			rt := kmsg.NewDescribeLogDirsResponseDirTopic()
			rt.Topic = topic
			rt.Partitions = parts
			rd.Topics = append(rd.Topics, rt)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	respond(resp)
}

func diskSpace(dir string) (total, usable int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize
}
