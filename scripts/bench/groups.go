package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errTopicNotReady means a created topic's partitions got no leader in time.
var errTopicNotReady = errors.New("topic partitions have no leader")

// groupScale sizes the consumer-group workloads.
type groupScale struct {
	members     int           // group members started together
	partitions  int           // partitions of the consumed topic
	committers  int           // concurrent committers in the parallel commit row
	commitFor   time.Duration // how long each commit loop runs
	repeats     int           // repetitions per figure (median and min-max reported)
	settleLimit time.Duration // bounded wait for an assignment to converge
	heartbeat   time.Duration // members' heartbeat interval
}

// groupScaleFor is 10 members over 60 partitions, 1 and 8 committers for
// 5 s, three repetitions, at scale 1; smaller scales shrink the group and
// the commit loops (for tests).
func groupScaleFor(scale float64, heartbeat time.Duration) groupScale {
	members := min(max(int(math.Round(10*scale)), 2), 100)
	return groupScale{
		members:     members,
		partitions:  6 * members,
		committers:  min(max(int(math.Round(8*scale)), 2), 64),
		commitFor:   max(time.Duration(float64(5*time.Second)*scale), 100*time.Millisecond),
		repeats:     3,
		settleLimit: 60 * time.Second,
		heartbeat:   heartbeat,
	}
}

func groupWorkloads(s groupScale) []workload {
	return []workload{
		rebalanceWorkload(s, "cooperative-sticky", kgo.CooperativeStickyBalancer),
		rebalanceWorkload(s, "range (eager)", kgo.RangeBalancer),
		commitWorkload(s, 1),
		commitWorkload(s, s.committers),
	}
}

// rebalanceWorkload times, per repetition, how long s.members members
// started at once take to own all partitions, and then how long the rest
// take after one member leaves.
func rebalanceWorkload(s groupScale, balancerName string, balancer func() kgo.GroupBalancer) workload {
	label := fmt.Sprintf("%d members p%d %s", s.members, s.partitions, balancerName)
	rows := []string{"join " + label + " (ms)", "one leaves " + label + " (ms)"}
	topic := fmt.Sprintf("bench-group-p%d", s.partitions)
	return workload{name: "group " + label, run: func(ctx context.Context, addr string, measure measureFunc) {
		var joins, leaves []float64
		err := createTopic(ctx, addr, topic, s.partitions)
		for repeat := 0; err == nil && repeat < s.repeats; repeat++ {
			config := memberConfig{
				addr: addr, group: fmt.Sprintf("bench-%s-%d", balancerName, repeat), topic: topic,
				balancer: balancer, heartbeat: s.heartbeat, tracker: newAssignmentTracker(s.members),
			}
			var join, leave time.Duration
			join, leave, err = joinThenLeave(ctx, config, s)
			joins = append(joins, milliseconds(join))
			leaves = append(leaves, milliseconds(leave))
			fmt.Fprintf(os.Stderr, "bench:   run %d: join %.1f ms, one leaves %.1f ms\n", repeat+1, milliseconds(join), milliseconds(leave))
		}
		measureSamples(measure, rows, [][]float64{joins, leaves}, err)
	}}
}

// joinThenLeave runs one repetition of rebalanceWorkload.
func joinThenLeave(ctx context.Context, config memberConfig, s groupScale) (join, leave time.Duration, err error) {
	start := time.Now()
	members, err := startMembers(config, s.members)
	if err != nil {
		return 0, 0, err
	}
	defer func() { stopMembers(members) }()
	if err := config.tracker.waitSettled(ctx, s.partitions, s.settleLimit); err != nil {
		return 0, 0, fmt.Errorf("%d members joining: %w", s.members, err)
	}
	join = time.Since(start)

	leaving := members[0]
	members = members[1:]
	config.tracker.deactivate(0)
	start = time.Now()
	left := make(chan struct{})
	go func() {
		defer close(left)
		leaving.stop()
	}()
	err = config.tracker.waitSettled(ctx, s.partitions, s.settleLimit)
	leave = time.Since(start)
	<-left
	if err != nil {
		return join, 0, fmt.Errorf("after one member left: %w", err)
	}
	return join, leave, nil
}

// commitWorkload measures standalone OffsetCommit (generation -1, no member
// id, as kadm.CommitOffsets sends) throughput: committers clients, each on
// its own group, commit all partitions in a loop, every round one higher.
func commitWorkload(s groupScale, committers int) workload {
	label := fmt.Sprintf("offset commit p%d %d committer", s.partitions, committers)
	if committers > 1 {
		label += "s"
	}
	rows := []string{label + " (commits/s)", label + " (partition-offsets/s)"}
	topic := fmt.Sprintf("bench-commit-p%d", s.partitions)
	return workload{name: label, run: func(ctx context.Context, addr string, measure measureFunc) {
		var commits, offsets []float64
		err := createTopic(ctx, addr, topic, s.partitions)
		for repeat := 0; err == nil && repeat < s.repeats; repeat++ {
			var rate float64
			rate, err = commitRound(ctx, addr, topic, s, committers, repeat)
			commits = append(commits, rate)
			offsets = append(offsets, rate*float64(s.partitions))
		}
		measureSamples(measure, rows, [][]float64{commits, offsets}, err)
	}}
}

// commitRound runs committers concurrent commit loops for s.commitFor and
// returns the total commit requests per second.
func commitRound(ctx context.Context, addr, topic string, s groupScale, committers, repeat int) (float64, error) {
	counts := make([]int, committers)
	errs := make([]error, committers)
	var wait sync.WaitGroup
	start := time.Now()
	for i := range committers {
		wait.Add(1)
		go func() {
			defer wait.Done()
			group := fmt.Sprintf("bench-commit-%d-%d", repeat, i)
			counts[i], errs[i] = commitLoop(ctx, addr, topic, group, s.partitions, s.commitFor)
		}()
	}
	wait.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return float64(total) / elapsed.Seconds(), nil
}

// commitLoop commits offsets for every partition of topic to group until
// duration passes, and returns the number of commits.
func commitLoop(ctx context.Context, addr, topic, group string, partitions int, duration time.Duration) (int, error) {
	client, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer client.Close()
	// Resolved once: kadm.CommitOffsets would add a Metadata request to
	// every commit, and this measures OffsetCommit.
	details, err := kadm.NewClient(client).Metadata(ctx, topic)
	if err != nil {
		return 0, err
	}
	topicID := details.Topics[topic].ID
	deadline := time.Now().Add(duration)
	commits := 0
	for offset := int64(1); time.Now().Before(deadline); offset++ {
		request := commitRequest(group, topic, topicID, partitions, offset)
		response, err := request.RequestWith(ctx, client)
		if err != nil {
			return commits, fmt.Errorf("committing to %s: %w", group, err)
		}
		if err := commitError(response); err != nil {
			return commits, fmt.Errorf("committing to %s: %w", group, err)
		}
		commits++
	}
	return commits, nil
}

func commitRequest(group, topic string, topicID [16]byte, partitions int, offset int64) *kmsg.OffsetCommitRequest {
	request := kmsg.NewPtrOffsetCommitRequest()
	request.Group = group
	request.Generation = -1
	entry := kmsg.NewOffsetCommitRequestTopic()
	entry.Topic, entry.TopicID = topic, topicID
	for p := range partitions {
		part := kmsg.NewOffsetCommitRequestTopicPartition()
		part.Partition, part.Offset, part.LeaderEpoch = int32(p), offset, -1
		entry.Partitions = append(entry.Partitions, part)
	}
	request.Topics = append(request.Topics, entry)
	return request
}

func commitError(response *kmsg.OffsetCommitResponse) error {
	for _, topic := range response.Topics {
		for _, part := range topic.Partitions {
			if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
				return fmt.Errorf("partition %d: %w", part.Partition, err)
			}
		}
	}
	return nil
}

// createTopic creates topic with partitions (replication 1) and waits until
// every partition has a leader, so the first rebalance sees the whole topic.
func createTopic(ctx context.Context, addr, topic string, partitions int) error {
	client, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	_, err = admin.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		details, err := admin.Metadata(ctx, topic)
		if err == nil && topicLed(details.Topics[topic], partitions) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: %w", topic, errTopicNotReady)
}

func topicLed(detail kadm.TopicDetail, partitions int) bool {
	if detail.Err != nil || len(detail.Partitions) != partitions {
		return false
	}
	for _, p := range detail.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// measureSamples reports each row's median with its min-max range.
func measureSamples(measure measureFunc, rows []string, samples [][]float64, err error) {
	values := make([]float64, len(rows))
	ranges := make([]valueRange, len(rows))
	for i, list := range samples {
		values[i], ranges[i] = summarize(list)
	}
	measure(rows, values, err, ranges...)
}

// summarize returns the median and the min-max range of samples.
func summarize(samples []float64) (float64, valueRange) {
	if len(samples) == 0 {
		return 0, valueRange{}
	}
	sorted := slices.Sorted(slices.Values(samples))
	middle := len(sorted) / 2
	median := sorted[middle]
	if len(sorted)%2 == 0 {
		median = (sorted[middle-1] + sorted[middle]) / 2
	}
	return median, valueRange{low: sorted[0], high: sorted[len(sorted)-1], present: true}
}

func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
