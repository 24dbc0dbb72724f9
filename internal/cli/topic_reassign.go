package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ErrReassignment is returned when a reassignment request fails for some partition.
var ErrReassignment = errors.New("partition reassignment failed")

// maxReassignmentFileBytes bounds a --reassignment-json-file.
const maxReassignmentFileBytes = 16 << 20

// reassignmentPlan is kafka-reassign-partitions.sh's JSON format.
type reassignmentPlan struct {
	Version    int                     `json:"version"`
	Partitions []reassignmentPartition `json:"partitions"`
}

type reassignmentPartition struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

func (p reassignmentPartition) name() string {
	return p.Topic + "-" + strconv.Itoa(int(p.Partition))
}

func runTopicReassign(e *env, args []string) error {
	fs := newFlagSet(e, "topic reassign", "topic reassign (--topic T --partition P --replicas 1,2,3 | --reassignment-json-file F) [--verify | --cancel]")
	topic := fs.String("topic", "", "topic of the partition to move")
	partition := fs.Int("partition", -1, "partition to move")
	replicas := fs.String("replicas", "", "target replica broker ids, comma-separated, preferred leader first")
	file := fs.String("reassignment-json-file", "", "plan in kafka-reassign-partitions.sh format: {\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2]}]}")
	verify := fs.Bool("verify", false, "report whether each reassignment of the plan is complete or still in progress")
	cancelFlag := fs.Bool("cancel", false, "cancel the reassignments of the plan's partitions")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *verify && *cancelFlag {
		return fmt.Errorf("%w: --verify and --cancel exclude each other", ErrUsage)
	}
	plan, err := loadReassignmentPlan(*file, *topic, *partition, *replicas, *cancelFlag)
	if err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	switch {
	case *verify:
		return verifyReassignments(e, admin, plan)
	case *cancelFlag:
		return cancelReassignments(e, admin, plan)
	}
	return executeReassignments(e, admin, plan)
}

// loadReassignmentPlan reads the plan from file or builds it from the
// single-partition flags; a cancel needs no replica lists.
func loadReassignmentPlan(file, topic string, partition int, replicas string, cancel bool) ([]reassignmentPartition, error) {
	if file != "" {
		if topic != "" || partition != -1 || replicas != "" {
			return nil, fmt.Errorf("%w: --reassignment-json-file excludes --topic, --partition and --replicas", ErrUsage)
		}
		return readReassignmentFile(file, cancel)
	}
	if topic == "" || partition < 0 || partition > 1<<31-1 {
		return nil, fmt.Errorf("%w: give --topic and --partition (or --reassignment-json-file)", ErrUsage)
	}
	entry := reassignmentPartition{Topic: topic, Partition: int32(partition)}
	if replicas == "" && !cancel {
		return nil, fmt.Errorf("%w: --replicas is required", ErrUsage)
	}
	if replicas != "" {
		ids, err := parseBrokerIDs(replicas)
		if err != nil {
			return nil, err
		}
		entry.Replicas = ids
	}
	return []reassignmentPartition{entry}, nil
}

func readReassignmentFile(path string, cancel bool) ([]reassignmentPartition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxReassignmentFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxReassignmentFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrUsage, path, maxReassignmentFileBytes)
	}
	var plan reassignmentPlan
	if err := json.Unmarshal(data, &plan); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, path, err)
	}
	if plan.Version != 1 {
		return nil, fmt.Errorf("%w: %s: unsupported version %d", ErrUsage, path, plan.Version)
	}
	if len(plan.Partitions) == 0 {
		return nil, fmt.Errorf("%w: %s lists no partitions", ErrUsage, path)
	}
	seen := map[string]bool{}
	for _, p := range plan.Partitions {
		switch {
		case p.Topic == "" || p.Partition < 0:
			return nil, fmt.Errorf("%w: %s: bad partition %q %d", ErrUsage, path, p.Topic, p.Partition)
		case seen[p.name()]:
			return nil, fmt.Errorf("%w: %s: partition %s appears twice", ErrUsage, path, p.name())
		case len(p.Replicas) == 0 && !cancel:
			return nil, fmt.Errorf("%w: %s: partition %s has no replicas", ErrUsage, path, p.name())
		}
		seen[p.name()] = true
	}
	return plan.Partitions, nil
}

func parseBrokerIDs(list string) ([]int32, error) {
	var ids []int32
	for _, part := range strings.Split(list, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: --replicas: %q is not a broker id", ErrUsage, part)
		}
		ids = append(ids, int32(id))
	}
	return ids, nil
}

func planNames(plan []reassignmentPartition) string {
	names := make([]string, len(plan))
	for i, p := range plan {
		names[i] = p.name()
	}
	return strings.Join(names, ",")
}

// executeReassignments prints the current assignment (for a rollback) and
// starts the moves, as kafka-reassign-partitions.sh --execute does.
func executeReassignments(e *env, admin *kadm.Client, plan []reassignmentPartition) error {
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	current, err := currentAssignment(e, admin, plan)
	if err != nil {
		return err
	}
	encoded, err := json.Marshal(reassignmentPlan{Version: 1, Partitions: current})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n", encoded)
	var req kadm.AlterPartitionAssignmentsReq
	for _, p := range plan {
		req.Assign(p.Topic, p.Partition, p.Replicas)
	}
	if err := alterAssignments(ctx, admin, req, plan, "reassigning"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Successfully started partition reassignments for %s\n", planNames(plan))
	return nil
}

// currentAssignment returns the plan's partitions with their current replicas.
func currentAssignment(e *env, admin *kadm.Client, plan []reassignmentPartition) ([]reassignmentPartition, error) {
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	details, err := admin.ListTopics(ctx, planTopics(plan)...)
	if err != nil {
		return nil, fmt.Errorf("describing topics: %w", err)
	}
	current := make([]reassignmentPartition, 0, len(plan))
	for _, p := range plan {
		detail, ok := details[p.Topic].Partitions[p.Partition]
		if !ok {
			return nil, fmt.Errorf("%w: partition %s does not exist", ErrTopicNotFound, p.name())
		}
		current = append(current, reassignmentPartition{Topic: p.Topic, Partition: p.Partition, Replicas: detail.Replicas})
	}
	return current, nil
}

func planTopics(plan []reassignmentPartition) []string {
	var topics []string
	for _, p := range plan {
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	return topics
}

// alterAssignments sends req and turns per-partition failures into one error.
func alterAssignments(ctx context.Context, admin *kadm.Client, req kadm.AlterPartitionAssignmentsReq, plan []reassignmentPartition, doing string) error {
	responses, err := admin.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return fmt.Errorf("%s partitions: %w", doing, err)
	}
	var failures []string
	for _, p := range plan {
		if response := responses[p.Topic][p.Partition]; response.Err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", p.name(), response.Err))
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w: %s %s", ErrReassignment, doing, strings.Join(failures, "; "))
	}
	return nil
}

// cancelReassignments cancels the plan's reassignments in progress.
func cancelReassignments(e *env, admin *kadm.Client, plan []reassignmentPartition) error {
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	var req kadm.AlterPartitionAssignmentsReq
	for _, p := range plan {
		req.Assign(p.Topic, p.Partition, nil)
	}
	if err := alterAssignments(ctx, admin, req, plan, "cancelling"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Successfully cancelled partition reassignments for: %s\n", planNames(plan))
	return nil
}

// verifyReassignments reports, per partition, a reassignment in progress,
// a completed one (replicas equal the plan's), or a replica set that
// differs from the plan with nothing in progress.
func verifyReassignments(e *env, admin *kadm.Client, plan []reassignmentPartition) error {
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	set := kadm.TopicsSet{}
	for _, p := range plan {
		set.Add(p.Topic, p.Partition)
	}
	listed, err := admin.ListPartitionReassignments(ctx, set)
	if err != nil {
		return fmt.Errorf("listing reassignments: %w", err)
	}
	current, err := currentAssignment(e, admin, plan)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Status of partition reassignment:")
	for i, p := range plan {
		if _, inProgress := listed[p.Topic][p.Partition]; inProgress {
			fmt.Fprintf(e.stdout, "Reassignment of partition %s is still in progress.\n", p.name())
			continue
		}
		if p.Replicas == nil || slices.Equal(current[i].Replicas, p.Replicas) {
			fmt.Fprintf(e.stdout, "Reassignment of partition %s is complete.\n", p.name())
			continue
		}
		fmt.Fprintf(e.stdout, "There is no active reassignment of partition %s, but replica set is %s rather than %s.\n",
			p.name(), joinInt32s(current[i].Replicas), joinInt32s(p.Replicas))
	}
	return nil
}
