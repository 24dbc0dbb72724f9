package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrElection is returned when a leader election fails for some partition.
var ErrElection = errors.New("leader election failed")

func runTopicElectLeaders(e *env, args []string) error {
	fs := newFlagSet(e, "topic elect-leaders", "topic elect-leaders [--topic T [--partition P]] [--type preferred|unclean]")
	topic := fs.String("topic", "", "topic whose partitions to elect (default: every partition)")
	partition := fs.Int("partition", -1, "only this partition of --topic")
	electionType := fs.String("type", "preferred", "preferred (the first replica) or unclean (any replica, for partitions without a leader)")
	if err := fs.parse(args); err != nil {
		return err
	}
	how, label := kadm.ElectPreferredReplica, "PREFERRED"
	switch *electionType {
	case "preferred":
	case "unclean":
		how, label = kadm.ElectLiveReplica, "UNCLEAN"
	default:
		return fmt.Errorf("%w: --type must be preferred or unclean", ErrUsage)
	}
	if *partition >= 0 && *topic == "" || *partition > 1<<31-1 {
		return fmt.Errorf("%w: --partition needs --topic", ErrUsage)
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	var set kadm.TopicsSet
	switch {
	case *partition >= 0:
		set = kadm.TopicsSet{}
		set.Add(*topic, int32(*partition))
	case *topic != "":
		details, err := admin.ListTopics(ctx, *topic)
		if err != nil {
			return fmt.Errorf("describing %s: %w", *topic, err)
		}
		detail, ok := details[*topic]
		if !ok || detail.Err != nil {
			return fmt.Errorf("%w: %s", ErrTopicNotFound, *topic)
		}
		set = kadm.TopicsSet{}
		for _, p := range detail.Partitions.Sorted() {
			set.Add(*topic, p.Partition)
		}
	}
	results, err := admin.ElectLeaders(ctx, how, set)
	if err != nil {
		return fmt.Errorf("electing leaders: %w", err)
	}
	return writeElectionResults(e, label, results)
}

// writeElectionResults prints the outcome as kafka-leader-election.sh does.
func writeElectionResults(e *env, label string, results kadm.ElectLeadersResults) error {
	var elected, noop, failed []string
	for _, topic := range sortedKeys(results) {
		for _, partition := range sortedPartitions(results[topic]) {
			result := results[topic][partition]
			name := topic + "-" + strconv.Itoa(int(partition))
			switch {
			case result.Err == nil:
				elected = append(elected, name)
			case errors.Is(result.Err, kerr.ElectionNotNeeded):
				noop = append(noop, name)
			default:
				failed = append(failed, fmt.Sprintf("Error completing leader election (%s) for partition: %s: %v", label, name, result.Err))
			}
		}
	}
	if len(elected) > 0 {
		fmt.Fprintf(e.stdout, "Successfully completed leader election (%s) for partitions %s\n", label, strings.Join(elected, ", "))
	}
	if len(noop) > 0 {
		fmt.Fprintf(e.stdout, "Valid replica already elected for partitions %s\n", strings.Join(noop, ", "))
	}
	for _, line := range failed {
		fmt.Fprintln(e.stdout, line)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %d replica(s) could not be elected", ErrElection, len(failed))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func sortedPartitions[V any](m map[int32]V) []int32 {
	keys := make([]int32, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
