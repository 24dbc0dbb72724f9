package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// resetKind says how reset-offsets chooses new offsets.
type resetKind int

const (
	resetEarliest  resetKind = iota // the log start offset
	resetLatest                     // the log end offset
	resetOffset                     // a given offset
	resetShift                      // the committed offset plus a delta
	resetTimestamp                  // the first offset at or after a time
)

// resetSpec is a parsed --to-*/--shift-by choice.
type resetSpec struct {
	kind  resetKind
	value int64 // the offset, delta or unix milliseconds
}

// datetimeLayouts are accepted by --to-datetime; those without a zone are
// local time, as in kafka-consumer-groups.sh.
var datetimeLayouts = []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", "2006-01-02T15:04"}

type resetFlags struct {
	group                          string
	topics                         stringList
	allTopics, execute, dryRun     bool
	toEarliest, toLatest           bool
	toOffset, shiftBy, toTimestamp string
	toDatetime                     string
}

func runGroupResetOffsets(e *env, args []string) error {
	fs := newFlagSet(e, "group reset-offsets", "group reset-offsets --group G (--topic T[:P,P...]... | --all-topics) "+
		"(--to-earliest | --to-latest | --to-offset N | --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --to-timestamp MS | --shift-by N) [--execute]")
	var f resetFlags
	fs.StringVar(&f.group, "group", "", "consumer group (required)")
	fs.Var(&f.topics, "topic", "topic `T` or T:P,P,... to reset (repeatable)")
	fs.BoolVar(&f.allTopics, "all-topics", false, "reset every partition the group has committed offsets for")
	fs.BoolVar(&f.toEarliest, "to-earliest", false, "reset to the log start offset")
	fs.BoolVar(&f.toLatest, "to-latest", false, "reset to the log end offset")
	fs.StringVar(&f.toOffset, "to-offset", "", "reset to offset `N` (clamped to the log's range)")
	fs.StringVar(&f.shiftBy, "shift-by", "", "move the committed offset by `N` (may be negative; clamped)")
	fs.StringVar(&f.toDatetime, "to-datetime", "", "reset to the first offset at or after `time` (YYYY-MM-DDTHH:mm:SS.sss local, or RFC 3339)")
	fs.StringVar(&f.toTimestamp, "to-timestamp", "", "reset to the first offset at or after unix `ms`")
	fs.BoolVar(&f.execute, "execute", false, "commit the new offsets (default: dry run)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "only print the new offsets (the default)")
	if err := fs.parse(args); err != nil {
		return err
	}
	spec, err := f.validate()
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
	return resetGroupOffsets(ctx, e, admin, f, spec)
}

// validate checks the flag combination and parses the reset choice.
func (f *resetFlags) validate() (resetSpec, error) {
	if err := requireFlag("group", f.group); err != nil {
		return resetSpec{}, err
	}
	if (len(f.topics) == 0) == !f.allTopics {
		return resetSpec{}, fmt.Errorf("%w: give either --topic or --all-topics", ErrUsage)
	}
	if f.execute && f.dryRun {
		return resetSpec{}, fmt.Errorf("%w: give only one of --execute and --dry-run", ErrUsage)
	}
	var specs []resetSpec
	if f.toEarliest {
		specs = append(specs, resetSpec{kind: resetEarliest})
	}
	if f.toLatest {
		specs = append(specs, resetSpec{kind: resetLatest})
	}
	for _, numeric := range []struct {
		name, value string
		kind        resetKind
	}{{"to-offset", f.toOffset, resetOffset}, {"shift-by", f.shiftBy, resetShift}, {"to-timestamp", f.toTimestamp, resetTimestamp}} {
		if numeric.value == "" {
			continue
		}
		n, err := strconv.ParseInt(numeric.value, 10, 64)
		if err != nil || (numeric.kind != resetShift && n < 0) {
			return resetSpec{}, fmt.Errorf("%w: bad --%s %q", ErrUsage, numeric.name, numeric.value)
		}
		specs = append(specs, resetSpec{kind: numeric.kind, value: n})
	}
	if f.toDatetime != "" {
		at, err := parseDatetime(f.toDatetime)
		if err != nil {
			return resetSpec{}, err
		}
		specs = append(specs, resetSpec{kind: resetTimestamp, value: at.UnixMilli()})
	}
	if len(specs) != 1 {
		return resetSpec{}, fmt.Errorf("%w: give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --to-timestamp, --shift-by", ErrUsage)
	}
	return specs[0], nil
}

// parseDatetime accepts Kafka's local-time layout and RFC 3339.
func parseDatetime(s string) (time.Time, error) {
	if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return at, nil
	}
	for _, layout := range datetimeLayouts {
		if at, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: --to-datetime %q is not YYYY-MM-DDTHH:mm:SS.sss or RFC 3339", ErrUsage, s)
}

func resetGroupOffsets(ctx context.Context, e *env, admin *kadm.Client, f resetFlags, spec resetSpec) error {
	g, err := describeGroup(ctx, admin, f.group)
	if err != nil && !errors.Is(err, ErrGroupNotFound) {
		return err
	}
	if err == nil && g.State != "Empty" && g.State != "Dead" {
		return sentinelError{fmt.Sprintf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.",
			f.group, g.State), ErrGroupActive}
	}
	committed, err := fetchCommitted(ctx, admin, f.group)
	if err != nil {
		return err
	}
	scope := committed.TopicsSet()
	if !f.allTopics {
		specs, err := parseTopicPartitions(f.topics)
		if err != nil {
			return err
		}
		if scope, err = resolvePartitions(ctx, admin, specs); err != nil {
			return err
		}
	}
	offsets, err := newOffsets(ctx, e.stderr, admin, spec, scope, committed)
	if err != nil {
		return err
	}
	if f.execute {
		if err := commitGroupOffsets(ctx, admin, f.group, offsets); err != nil {
			return err
		}
	} else if !f.dryRun {
		fmt.Fprintln(e.stderr, "Dry run: no offsets were committed; add --execute to commit them.")
	}
	t := newTable(e.stdout)
	t.row("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	for _, o := range offsets.Sorted() {
		t.row(f.group, o.Topic, fmt.Sprint(o.Partition), formatInt(o.At))
	}
	t.flush()
	return nil
}

// newOffsets computes each scoped partition's new offset, clamped to
// [log start, log end] like Kafka.
func newOffsets(ctx context.Context, warn io.Writer, admin *kadm.Client, spec resetSpec, scope kadm.TopicsSet, committed kadm.Offsets) (kadm.Offsets, error) {
	offsets := make(kadm.Offsets)
	topics := scope.Topics()
	if len(topics) == 0 {
		return offsets, nil
	}
	starts, err := admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log start offsets: %w", err)
	}
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing log end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	if spec.kind == resetTimestamp {
		if byTime, err = admin.ListOffsetsAfterMilli(ctx, spec.value, topics...); err != nil {
			return nil, fmt.Errorf("listing offsets by timestamp: %w", err)
		}
	}
	for _, tp := range setPartitions(scope) {
		start, err := listedOffset(starts, tp.topic, tp.partition)
		if err != nil {
			return nil, err
		}
		end, err := listedOffset(ends, tp.topic, tp.partition)
		if err != nil {
			return nil, err
		}
		target, err := resetTarget(spec, byTime, committed, tp.topic, tp.partition, end)
		if err != nil {
			return nil, err
		}
		offsets.AddOffset(tp.topic, tp.partition, clampOffset(warn, tp.topic, tp.partition, target, start, end), -1)
	}
	return offsets, nil
}

// resetTarget is the unclamped new offset of one partition.
func resetTarget(spec resetSpec, byTime kadm.ListedOffsets, committed kadm.Offsets, topic string, partition int32, end int64) (int64, error) {
	switch spec.kind {
	case resetEarliest:
		return 0, nil // clamped up to the log start
	case resetLatest:
		return end, nil
	case resetOffset:
		return spec.value, nil
	case resetShift:
		current, ok := committed.Lookup(topic, partition)
		if !ok {
			return 0, fmt.Errorf("cannot shift the offset of %s-%d: the group has no committed offset for it", topic, partition)
		}
		return current.At + spec.value, nil
	default:
		at, err := listedOffset(byTime, topic, partition)
		if err != nil {
			return 0, err
		}
		if at < 0 {
			return end, nil
		}
		return at, nil
	}
}

// listedOffset looks up one partition's listed offset.
func listedOffset(listed kadm.ListedOffsets, topic string, partition int32) (int64, error) {
	if o, ok := listed.Lookup(topic, -1); ok && o.Err != nil {
		return 0, fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
	}
	o, ok := listed.Lookup(topic, partition)
	if !ok {
		return 0, fmt.Errorf("%w: partition %s-%d", ErrTopicNotFound, topic, partition)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("listing offsets of %s-%d: %w", topic, partition, o.Err)
	}
	return o.Offset, nil
}

// clampOffset bounds target to [start, end], warning when it moves it
// (except for --to-earliest's 0, which is meant to be raised).
func clampOffset(warn io.Writer, topic string, partition int32, target, start, end int64) int64 {
	switch {
	case target > end:
		fmt.Fprintf(warn, "New offset (%d) is higher than latest offset for topic partition %s-%d. Value will be set to %d\n", target, topic, partition, end)
		return end
	case target < start:
		if target != 0 {
			fmt.Fprintf(warn, "New offset (%d) is lower than earliest offset for topic partition %s-%d. Value will be set to %d\n", target, topic, partition, start)
		}
		return start
	}
	return target
}

// commitGroupOffsets commits offsets for the group, failing on any
// per-partition error.
func commitGroupOffsets(ctx context.Context, admin *kadm.Client, group string, offsets kadm.Offsets) error {
	if len(offsets) == 0 {
		return nil
	}
	responses, err := admin.CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = responses.Error()
	}
	if err != nil {
		return fmt.Errorf("committing offsets of %s: %w", group, err)
	}
	return nil
}
