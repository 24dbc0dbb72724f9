package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

func runGroupDescribe(e *env, args []string) error {
	fs := newFlagSet(e, "group describe", "group describe --group G [--members [--verbose] | --state]")
	group := fs.String("group", "", "consumer group to describe (required)")
	members := fs.Bool("members", false, "list members instead of partitions")
	state := fs.Bool("state", false, "print the group's coordinator, strategy, state and member count")
	verbose := fs.Bool("verbose", false, "with --members: add each member's ASSIGNMENT")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("group", *group); err != nil {
		return err
	}
	if *members && *state {
		return fmt.Errorf("%w: give only one of --members and --state", ErrUsage)
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	g, err := describeGroup(ctx, admin, *group)
	if err != nil {
		return err
	}
	switch {
	case *state:
		writeGroupState(e, g)
		return nil
	case *members:
		writeGroupMembers(e, g, *verbose)
		return nil
	}
	return describeGroupOffsets(ctx, e, admin, g)
}

// writeGroupState prints GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS.
func writeGroupState(e *env, g kadm.DescribedGroup) {
	t := newTable(e.stdout)
	t.row("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
	coordinator := fmt.Sprintf("%s:%d (%d)", g.Coordinator.Host, g.Coordinator.Port, g.Coordinator.NodeID)
	t.row(g.Group, coordinator, orDash(g.Protocol), orDash(g.State), fmt.Sprint(len(g.Members)))
	t.flush()
}

// writeGroupMembers prints GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS [ASSIGNMENT].
func writeGroupMembers(e *env, g kadm.DescribedGroup, verbose bool) {
	noteInactive(e, g)
	t := newTable(e.stdout)
	header := []string{"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"}
	if verbose {
		header = append(header, "ASSIGNMENT")
	}
	t.row(header...)
	for i := range g.Members {
		m := &g.Members[i]
		assigned := memberAssignment(m)
		row := []string{g.Group, orDash(m.MemberID), orDash(m.ClientHost), orDash(m.ClientID), fmt.Sprint(len(assigned))}
		if verbose {
			row = append(row, formatAssignment(assigned))
		}
		t.row(row...)
	}
	t.flush()
}

// noteInactive tells stderr, as Kafka does, that a group has no members or is
// rebalancing.
func noteInactive(e *env, g kadm.DescribedGroup) {
	switch g.State {
	case "Empty":
		fmt.Fprintf(e.stderr, "Consumer group '%s' has no active members.\n", g.Group)
	case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
		fmt.Fprintf(e.stderr, "Warning: Consumer group '%s' is rebalancing.\n", g.Group)
	}
}

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

// memberAssignment returns a consumer member's assigned partitions, sorted.
func memberAssignment(m *kadm.DescribedGroupMember) []topicPartition {
	assignment, ok := m.Assigned.AsConsumer()
	if !ok {
		return nil
	}
	var out []topicPartition
	for _, t := range assignment.Topics {
		for _, p := range t.Partitions {
			out = append(out, topicPartition{t.Topic, p})
		}
	}
	sortPartitions(out)
	return out
}

func sortPartitions(ps []topicPartition) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].topic != ps[j].topic {
			return ps[i].topic < ps[j].topic
		}
		return ps[i].partition < ps[j].partition
	})
}

// formatAssignment renders sorted partitions as "t1(0,1),t2(0)" or "-".
func formatAssignment(ps []topicPartition) string {
	if len(ps) == 0 {
		return "-"
	}
	var parts []string
	for i := 0; i < len(ps); {
		j := i
		var numbers []string
		for ; j < len(ps) && ps[j].topic == ps[i].topic; j++ {
			numbers = append(numbers, fmt.Sprint(ps[j].partition))
		}
		parts = append(parts, ps[i].topic+"("+strings.Join(numbers, ",")+")")
		i = j
	}
	return strings.Join(parts, ",")
}

// describeGroupOffsets prints one line per assigned or committed partition,
// then one line per member without partitions.
func describeGroupOffsets(ctx context.Context, e *env, admin *kadm.Client, g kadm.DescribedGroup) error {
	committed, err := fetchCommitted(ctx, admin, g.Group)
	if err != nil {
		return err
	}
	owners := make(map[topicPartition]*kadm.DescribedGroupMember)
	var idle []*kadm.DescribedGroupMember
	for i := range g.Members {
		assigned := memberAssignment(&g.Members[i])
		if len(assigned) == 0 {
			idle = append(idle, &g.Members[i])
		}
		for _, tp := range assigned {
			owners[tp] = &g.Members[i]
		}
	}
	partitions := make([]topicPartition, 0, len(owners))
	for tp := range owners {
		partitions = append(partitions, tp)
	}
	committed.Each(func(o kadm.Offset) {
		if _, ok := owners[topicPartition{o.Topic, o.Partition}]; !ok {
			partitions = append(partitions, topicPartition{o.Topic, o.Partition})
		}
	})
	sortPartitions(partitions)
	ends, err := listEnds(ctx, admin, partitions)
	if err != nil {
		return err
	}
	noteInactive(e, g)
	t := newTable(e.stdout)
	t.row("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, tp := range partitions {
		current, end, lag := "-", "-", "-"
		commit, hasCommit := committed.Lookup(tp.topic, tp.partition)
		if hasCommit {
			current = formatInt(commit.At)
		}
		listed, hasEnd := ends.Lookup(tp.topic, tp.partition)
		if hasEnd && listed.Err == nil {
			end = formatInt(listed.Offset)
			if hasCommit {
				lag = formatInt(listed.Offset - commit.At)
			}
		}
		t.row(append([]string{g.Group, tp.topic, fmt.Sprint(tp.partition), current, end, lag}, memberCells(owners[tp])...)...)
	}
	for _, m := range idle {
		t.row(append([]string{g.Group, "-", "-", "-", "-", "-"}, memberCells(m)...)...)
	}
	t.flush()
	return nil
}

// memberCells returns CONSUMER-ID HOST CLIENT-ID, or dashes for no member.
func memberCells(m *kadm.DescribedGroupMember) []string {
	if m == nil {
		return []string{"-", "-", "-"}
	}
	return []string{orDash(m.MemberID), orDash(m.ClientHost), orDash(m.ClientID)}
}

// listEnds lists the log end offsets of the partitions' topics.
func listEnds(ctx context.Context, admin *kadm.Client, partitions []topicPartition) (kadm.ListedOffsets, error) {
	topics := uniqueTopics(partitions)
	if len(topics) == 0 {
		return kadm.ListedOffsets{}, nil
	}
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log end offsets: %w", err)
	}
	return ends, nil
}

func uniqueTopics(partitions []topicPartition) []string {
	seen := make(map[string]bool)
	var topics []string
	for _, tp := range partitions {
		if !seen[tp.topic] {
			seen[tp.topic] = true
			topics = append(topics, tp.topic)
		}
	}
	sort.Strings(topics)
	return topics
}
