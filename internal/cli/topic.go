package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrTopicNotFound is returned when a named topic does not exist.
var ErrTopicNotFound = errors.New("topic does not exist")

func runTopic(e *env, args []string) error {
	return dispatch(e, "topic", args, map[string]func(*env, []string) error{
		"create":        runTopicCreate,
		"list":          runTopicList,
		"describe":      runTopicDescribe,
		"alter":         runTopicAlter,
		"delete":        runTopicDelete,
		"reassign":      runTopicReassign,
		"elect-leaders": runTopicElectLeaders,
	})
}

func runTopicCreate(e *env, args []string) error {
	fs := newFlagSet(e, "topic create", "topic create --topic T [--partitions N] [--replication-factor R] [--config k=v]... [--if-not-exists]")
	topic := fs.String("topic", "", "topic to create (required)")
	partitions := fs.Int("partitions", -1, "number of partitions (-1: broker default)")
	replication := fs.Int("replication-factor", -1, "replication factor (-1: broker default)")
	ifNotExists := fs.Bool("if-not-exists", false, "succeed silently if the topic already exists")
	var configs stringList
	fs.Var(&configs, "config", "topic config `k=v` (repeatable)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("topic", *topic); err != nil {
		return err
	}
	if *partitions == 0 || *partitions < -1 || *replication == 0 || *replication < -1 || *replication > 32767 {
		return fmt.Errorf("%w: --partitions and --replication-factor must be positive", ErrUsage)
	}
	configMap := make(map[string]*string, len(configs))
	for _, c := range configs {
		key, value, err := parseKeyValue(c)
		if err != nil {
			return err
		}
		configMap[key] = kadm.StringPtr(value)
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	_, err = admin.CreateTopic(ctx, int32(*partitions), int16(*replication), configMap, *topic)
	if *ifNotExists && errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", *topic, err)
	}
	fmt.Fprintf(e.stdout, "Created topic %s.\n", *topic)
	return nil
}

func runTopicList(e *env, args []string) error {
	fs := newFlagSet(e, "topic list", "topic list [--exclude-internal]")
	excludeInternal := fs.Bool("exclude-internal", false, "omit internal topics such as __consumer_offsets")
	if err := fs.parse(args); err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	details, err := admin.ListTopicsWithInternal(ctx)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	for _, name := range details.Names() {
		if *excludeInternal && details[name].IsInternal {
			continue
		}
		fmt.Fprintln(e.stdout, name)
	}
	return nil
}

func runTopicDescribe(e *env, args []string) error {
	fs := newFlagSet(e, "topic describe", "topic describe [--topic T] [--exclude-internal] [--under-replicated-partitions]")
	topic := fs.String("topic", "", "topic to describe (default: all)")
	excludeInternal := fs.Bool("exclude-internal", false, "omit internal topics")
	underReplicated := fs.Bool("under-replicated-partitions", false, "only list partitions whose ISR is smaller than their replica set (no topic lines)")
	if err := fs.parse(args); err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	var topics []string
	if *topic != "" {
		topics = []string{*topic}
	}
	details, err := admin.ListTopicsWithInternal(ctx, topics...)
	if err != nil {
		return fmt.Errorf("describing topics: %w", err)
	}
	if *topic != "" {
		detail, ok := details[*topic]
		if !ok || errors.Is(detail.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("%w: %s", ErrTopicNotFound, *topic)
		}
	}
	names := make([]string, 0, len(details))
	for _, name := range details.Names() {
		if !(*excludeInternal && details[name].IsInternal) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if *underReplicated {
		for _, name := range names {
			if err := writeUnderReplicated(e.stdout, details[name]); err != nil {
				return err
			}
		}
		return nil
	}
	configs, err := admin.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return fmt.Errorf("describing topic configs: %w", err)
	}
	for _, name := range names {
		if err := writeTopicDescription(e.stdout, details[name], configs); err != nil {
			return err
		}
	}
	return nil
}

// writeTopicDescription prints one topic in kafka-topics.sh --describe format.
func writeTopicDescription(w io.Writer, detail kadm.TopicDetail, configs kadm.ResourceConfigs) error {
	if detail.Err != nil {
		return fmt.Errorf("describing topic %s: %w", detail.Topic, detail.Err)
	}
	partitions := detail.Partitions.Sorted()
	replication := 0
	if len(partitions) > 0 {
		replication = len(partitions[0].Replicas)
	}
	fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
		detail.Topic, formatTopicID(detail.ID), len(partitions), replication, nonDefaultConfigs(configs, detail.Topic))
	for _, p := range partitions {
		writePartitionLine(w, detail.Topic, p)
	}
	return nil
}

// writeUnderReplicated prints, as kafka-topics.sh --describe
// --under-replicated-partitions does, only the partition lines of
// partitions whose ISR is smaller than their replica set.
func writeUnderReplicated(w io.Writer, detail kadm.TopicDetail) error {
	if detail.Err != nil {
		return fmt.Errorf("describing topic %s: %w", detail.Topic, detail.Err)
	}
	for _, p := range detail.Partitions.Sorted() {
		if len(p.ISR) < len(p.Replicas) {
			writePartitionLine(w, detail.Topic, p)
		}
	}
	return nil
}

func writePartitionLine(w io.Writer, topic string, p kadm.PartitionDetail) {
	leader := strconv.Itoa(int(p.Leader))
	if p.Leader < 0 {
		leader = "none"
	}
	fmt.Fprintf(w, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\n",
		topic, p.Partition, leader, joinInt32s(p.Replicas), joinInt32s(p.ISR))
}

// formatTopicID renders a topic ID as Kafka's Uuid.toString does: URL-safe
// base64 without padding.
func formatTopicID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// nonDefaultConfigs lists a topic's configs that are not broker defaults,
// sorted by name, as "k=v,k=v".
func nonDefaultConfigs(configs kadm.ResourceConfigs, topic string) string {
	var parts []string
	for _, rc := range configs {
		if rc.Name != topic || rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Source == kmsg.ConfigSourceDefaultConfig || c.Source == kmsg.ConfigSourceUnknown {
				continue
			}
			parts = append(parts, c.Key+"="+configValue(c))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func configValue(c kadm.Config) string {
	switch {
	case c.Sensitive:
		return "<sensitive>"
	case c.Value == nil:
		return "null"
	default:
		return *c.Value
	}
}

func joinInt32s(values []int32) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = strconv.Itoa(int(v))
	}
	return strings.Join(parts, ",")
}

func runTopicAlter(e *env, args []string) error {
	fs := newFlagSet(e, "topic alter", "topic alter --topic T [--partitions N] [--config k=v]... [--delete-config k]...")
	topic := fs.String("topic", "", "topic to alter (required)")
	partitions := fs.Int("partitions", 0, "new total partition count")
	var sets, deletes stringList
	fs.Var(&sets, "config", "config `k=v` to set (repeatable)")
	fs.Var(&deletes, "delete-config", "config `k` to remove (repeatable)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("topic", *topic); err != nil {
		return err
	}
	alters, err := configAlterations(sets, deletes)
	if err != nil {
		return err
	}
	if *partitions < 0 || (*partitions == 0 && len(alters) == 0) {
		return fmt.Errorf("%w: give --partitions N (> 0), --config or --delete-config", ErrUsage)
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	if *partitions > 0 {
		responses, err := admin.UpdatePartitions(ctx, *partitions, *topic)
		if err == nil {
			err = responses[*topic].Err
		}
		if err != nil {
			return fmt.Errorf("altering partitions of %s: %w", *topic, describeTopicErr(*topic, err))
		}
	}
	if len(alters) > 0 {
		responses, err := admin.AlterTopicConfigs(ctx, alters, *topic)
		if err == nil {
			for _, r := range responses {
				if r.Err != nil {
					err = r.Err
				}
			}
		}
		if err != nil {
			return fmt.Errorf("altering configs of %s: %w", *topic, describeTopicErr(*topic, err))
		}
	}
	return nil
}

func configAlterations(sets, deletes []string) ([]kadm.AlterConfig, error) {
	var alters []kadm.AlterConfig
	for _, s := range sets {
		key, value, err := parseKeyValue(s)
		if err != nil {
			return nil, err
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)})
	}
	for _, key := range deletes {
		if key == "" {
			return nil, fmt.Errorf("%w: --delete-config needs a key", ErrUsage)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: key})
	}
	return alters, nil
}

// describeTopicErr maps an unknown-topic protocol error to ErrTopicNotFound.
func describeTopicErr(topic string, err error) error {
	if errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.UnknownTopicID) {
		return fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
	}
	return err
}

func runTopicDelete(e *env, args []string) error {
	fs := newFlagSet(e, "topic delete", "topic delete --topic T")
	topic := fs.String("topic", "", "topic to delete (required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("topic", *topic); err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	response, err := admin.DeleteTopic(ctx, *topic)
	if err == nil {
		err = response.Err
	}
	if err != nil {
		return fmt.Errorf("deleting topic %s: %w", *topic, describeTopicErr(*topic, err))
	}
	return nil
}
