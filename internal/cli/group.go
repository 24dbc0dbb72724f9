package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrGroupNotFound is wrapped by the error returned when a named consumer
// group does not exist (or is Dead).
var ErrGroupNotFound = errors.New("consumer group does not exist")

// ErrGroupActive is wrapped by the error returned when an operation needs an
// inactive (Empty or Dead) group but the group has members.
var ErrGroupActive = errors.New("consumer group is active")

// sentinelError carries a sentinel but prints only its own message, so
// messages can match kafka-consumer-groups.sh word for word.
type sentinelError struct {
	message  string
	sentinel error
}

func (e sentinelError) Error() string { return e.message }
func (e sentinelError) Unwrap() error { return e.sentinel }

// groupNotFound is Kafka's message for a missing group.
func groupNotFound(group string) error {
	return sentinelError{fmt.Sprintf("Consumer group '%s' does not exist.", group), ErrGroupNotFound}
}

// groupStates are the classic group states, keyed by lower-case name.
var groupStates = map[string]string{
	"empty":               "Empty",
	"stable":              "Stable",
	"preparingrebalance":  "PreparingRebalance",
	"completingrebalance": "CompletingRebalance",
	"dead":                "Dead",
	"assigning":           "Assigning",
	"reconciling":         "Reconciling",
}

func runGroup(e *env, args []string) error {
	return dispatch(e, "group", args, map[string]func(*env, []string) error{
		"list":           runGroupList,
		"describe":       runGroupDescribe,
		"reset-offsets":  runGroupResetOffsets,
		"delete":         runGroupDelete,
		"delete-offsets": runGroupDeleteOffsets,
	})
}

func runGroupList(e *env, args []string) error {
	fs := newFlagSet(e, "group list", "group list [--state S]... [--verbose]")
	var states stringList
	fs.Var(&states, "state", "only groups in state `S` (Empty, Stable, PreparingRebalance, CompletingRebalance, Dead; repeatable)")
	verbose := fs.Bool("verbose", false, "print GROUP, STATE and PROTOCOL-TYPE columns")
	if err := fs.parse(args); err != nil {
		return err
	}
	wanted, err := canonicalStates(states)
	if err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	listed, err := admin.ListGroups(ctx, wanted...)
	if err != nil {
		return fmt.Errorf("listing groups: %w", err)
	}
	writeGroupList(e.stdout, filterGroups(listed.Sorted(), wanted), *verbose)
	return nil
}

// canonicalStates maps state names case-insensitively to Kafka's spelling.
func canonicalStates(states []string) ([]string, error) {
	out := make([]string, 0, len(states))
	for _, s := range states {
		for _, part := range strings.Split(s, ",") {
			canonical, ok := groupStates[strings.ToLower(strings.TrimSpace(part))]
			if !ok {
				return nil, fmt.Errorf("%w: unknown group state %q", ErrUsage, part)
			}
			out = append(out, canonical)
		}
	}
	return out, nil
}

// filterGroups keeps groups in one of states (all if states is empty); the
// broker filters too, but old ListGroups versions ignore the filter.
func filterGroups(groups []kadm.ListedGroup, states []string) []kadm.ListedGroup {
	if len(states) == 0 {
		return groups
	}
	var out []kadm.ListedGroup
	for _, g := range groups {
		for _, s := range states {
			if strings.EqualFold(g.State, s) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func writeGroupList(w io.Writer, groups []kadm.ListedGroup, verbose bool) {
	if !verbose {
		for _, g := range groups {
			fmt.Fprintln(w, g.Group)
		}
		return
	}
	table := newTable(w)
	table.row("GROUP", "STATE", "PROTOCOL-TYPE")
	for _, g := range groups {
		table.row(g.Group, orDash(g.State), orDash(g.ProtocolType))
	}
	table.flush()
}

func runGroupDelete(e *env, args []string) error {
	fs := newFlagSet(e, "group delete", "group delete --group G [--group G]...")
	var groups stringList
	fs.Var(&groups, "group", "consumer group `G` to delete (repeatable, required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(groups) == 0 {
		return fmt.Errorf("%w: --group is required", ErrUsage)
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	responses, err := admin.DeleteGroups(ctx, groups...)
	if err != nil {
		return fmt.Errorf("deleting groups: %w", err)
	}
	return writeDeleteGroups(e, groups, responses)
}

// writeDeleteGroups prints Kafka's deletion summary and fails if any group
// could not be deleted.
func writeDeleteGroups(e *env, groups []string, responses kadm.DeleteGroupResponses) error {
	var deleted, failed []string
	for _, g := range groups {
		response, ok := responses[g]
		switch {
		case !ok:
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: no response from the coordinator", g))
		case response.Err != nil:
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: %s", g, groupErrorText(g, response.Err)))
		default:
			deleted = append(deleted, "'"+g+"'")
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(e.stdout, "Deletion of requested consumer groups (%s) was successful.\n", strings.Join(deleted, ", "))
		return nil
	}
	if len(deleted) > 0 {
		fmt.Fprintf(e.stdout, "These consumer groups were deleted successfully: %s\n", strings.Join(deleted, ", "))
	}
	return fmt.Errorf("deletion of some consumer groups failed:\n%s", strings.Join(failed, "\n"))
}

// groupErrorText renders a per-group protocol error for humans.
func groupErrorText(group string, err error) string {
	if errors.Is(err, kerr.GroupIDNotFound) {
		return groupNotFound(group).Error()
	}
	return err.Error()
}

// describeGroup describes one classic group, mapping a missing or Dead group
// to an ErrGroupNotFound error.
func describeGroup(ctx context.Context, admin *kadm.Client, group string) (kadm.DescribedGroup, error) {
	described, err := admin.DescribeGroups(ctx, group)
	if err != nil {
		return kadm.DescribedGroup{}, fmt.Errorf("describing group %s: %w", group, err)
	}
	g, ok := described[group]
	if !ok || errors.Is(g.Err, kerr.GroupIDNotFound) || (g.Err == nil && g.State == "Dead") {
		return kadm.DescribedGroup{}, groupNotFound(group)
	}
	if g.Err != nil {
		return kadm.DescribedGroup{}, fmt.Errorf("describing group %s: %w", group, g.Err)
	}
	return g, nil
}

// fetchCommitted returns the group's committed offsets (those >= 0); a group
// the coordinator does not know has none.
func fetchCommitted(ctx context.Context, admin *kadm.Client, group string) (kadm.Offsets, error) {
	responses, err := admin.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return kadm.Offsets{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets of %s: %w", group, err)
	}
	if err := responses.Error(); err != nil {
		return nil, fmt.Errorf("fetching committed offsets of %s: %w", group, err)
	}
	committed := make(kadm.Offsets)
	responses.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			committed.Add(o.Offset)
		}
	})
	return committed, nil
}

// parseTopicPartitions parses "T" (every partition: nil) or "T:P,P,..."
// into topic -> partitions.
func parseTopicPartitions(specs []string) (map[string][]int32, error) {
	out := make(map[string][]int32, len(specs))
	for _, spec := range specs {
		topic, list, hasList := strings.Cut(spec, ":")
		if topic == "" {
			return nil, fmt.Errorf("%w: --topic %q has no topic name", ErrUsage, spec)
		}
		if !hasList {
			out[topic] = nil
			continue
		}
		if _, all := out[topic]; all && out[topic] == nil {
			continue
		}
		for _, field := range strings.Split(list, ",") {
			partition, err := strconv.ParseInt(strings.TrimSpace(field), 10, 32)
			if err != nil || partition < 0 {
				return nil, fmt.Errorf("%w: bad partition %q in --topic %q", ErrUsage, field, spec)
			}
			out[topic] = append(out[topic], int32(partition))
		}
	}
	return out, nil
}

// resolvePartitions expands topic specs into a set of partitions, listing
// every partition of topics given without partitions.
func resolvePartitions(ctx context.Context, admin *kadm.Client, specs map[string][]int32) (kadm.TopicsSet, error) {
	set := make(kadm.TopicsSet)
	var whole []string
	for topic, partitions := range specs {
		if partitions == nil {
			whole = append(whole, topic)
			continue
		}
		set.Add(topic, partitions...)
	}
	if len(whole) == 0 {
		return set, nil
	}
	sort.Strings(whole)
	details, err := admin.ListTopics(ctx, whole...)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	for _, topic := range whole {
		detail, ok := details[topic]
		if !ok || detail.Err != nil || len(detail.Partitions) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
		}
		for partition := range detail.Partitions {
			set.Add(topic, partition)
		}
	}
	return set, nil
}

// table writes aligned columns separated by at least two spaces.
type table struct{ writer *tabwriter.Writer }

func newTable(w io.Writer) *table {
	return &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.writer, strings.Join(cells, "\t")) }

func (t *table) flush() { t.writer.Flush() }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatInt(v int64) string { return strconv.FormatInt(v, 10) }

// setPartitions returns a set's partitions sorted by topic and partition.
func setPartitions(set kadm.TopicsSet) []topicPartition {
	var out []topicPartition
	set.Each(func(topic string, partition int32) {
		out = append(out, topicPartition{topic, partition})
	})
	sortPartitions(out)
	return out
}
