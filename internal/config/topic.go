package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic is the effective configuration of one topic.
type Topic struct {
	RetentionMs              int64
	RetentionBytes           int64
	SegmentBytes             int64
	SegmentMs                int64
	SegmentJitterMs          int64
	SegmentIndexBytes        int64
	IndexIntervalBytes       int64
	MaxMessageBytes          int32
	CleanupPolicy            string // "delete", "compact" or "compact,delete"
	Compact                  bool
	Delete                   bool
	TimestampType            string // CreateTime or LogAppendTime
	TimestampDifferenceMaxMs int64
	TimestampBeforeMaxMs     int64
	TimestampAfterMaxMs      int64
	MinInsyncReplicas        int
	CompressionType          string // producer, uncompressed, gzip, snappy, lz4, zstd
	FlushMessages            int64
	FlushMs                  int64
	FileDeleteDelayMs        int64
	DeleteRetentionMs        int64
	MinCompactionLagMs       int64
	MaxCompactionLagMs       int64
	MinCleanableDirtyRatio   float64
	UncleanLeaderElection    bool
	Preallocate              bool
	DownConversion           bool
}

// ValidateTopicConfigs checks topic config overrides: every key must be a
// known topic config with a valid value. Errors wrap ErrInvalidConfig and
// name the key (unknown keys also wrap ErrUnknownConfig).
func ValidateTopicConfigs(configs map[string]string) error {
	for _, key := range sortedKeys(configs) {
		definition, ok := topicIndex[key]
		if !ok {
			return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, ErrUnknownConfig, key)
		}
		if err := definition.check(configs[key]); err != nil {
			return err
		}
	}
	return nil
}

// topicValue returns the effective value of a topic config and its source.
func (b *Broker) topicValue(definition *topicDefinition, overrides map[string]string) (string, Source) {
	if value, ok := overrides[definition.Name]; ok {
		return strings.TrimSpace(value), kmsg.ConfigSourceDynamicTopicConfig
	}
	source := kmsg.ConfigSourceDefaultConfig
	for _, key := range definition.brokerKeys {
		if _, keySource, ok := b.lookup(key); ok && keySource != kmsg.ConfigSourceDefaultConfig {
			source = keySource
			break
		}
	}
	if source == kmsg.ConfigSourceDefaultConfig {
		return definition.Default, source
	}
	if definition.fromBroker != nil {
		return definition.fromBroker(b), source
	}
	return b.stringValue(definition.brokerKeys[0]), source
}

// ResolveTopic validates overrides and returns the effective topic config.
func (b *Broker) ResolveTopic(overrides map[string]string) (Topic, error) {
	if err := ValidateTopicConfigs(overrides); err != nil {
		return Topic{}, err
	}
	value := func(name string) string {
		resolved, _ := b.topicValue(topicIndex[name], overrides)
		return resolved
	}
	integer := func(name string) int64 {
		number, _ := strconv.ParseInt(value(name), 10, 64)
		return number
	}
	boolean := func(name string) bool {
		result, _ := parseBool(value(name))
		return result
	}
	policies := splitList(value("cleanup.policy"))
	slices.Sort(policies)
	policies = slices.Compact(policies)
	ratio, _ := strconv.ParseFloat(value("min.cleanable.dirty.ratio"), 64)
	return Topic{
		RetentionMs:              max(integer("retention.ms"), -1),
		RetentionBytes:           integer("retention.bytes"),
		SegmentBytes:             integer("segment.bytes"),
		SegmentMs:                integer("segment.ms"),
		SegmentJitterMs:          integer("segment.jitter.ms"),
		SegmentIndexBytes:        integer("segment.index.bytes"),
		IndexIntervalBytes:       integer("index.interval.bytes"),
		MaxMessageBytes:          int32(integer("max.message.bytes")),
		CleanupPolicy:            strings.Join(policies, ","),
		Compact:                  slices.Contains(policies, "compact"),
		Delete:                   slices.Contains(policies, "delete"),
		TimestampType:            value("message.timestamp.type"),
		TimestampDifferenceMaxMs: integer("message.timestamp.difference.max.ms"),
		TimestampBeforeMaxMs:     integer("message.timestamp.before.max.ms"),
		TimestampAfterMaxMs:      integer("message.timestamp.after.max.ms"),
		MinInsyncReplicas:        int(integer("min.insync.replicas")),
		CompressionType:          strings.ToLower(value("compression.type")),
		FlushMessages:            integer("flush.messages"),
		FlushMs:                  integer("flush.ms"),
		FileDeleteDelayMs:        integer("file.delete.delay.ms"),
		DeleteRetentionMs:        integer("delete.retention.ms"),
		MinCompactionLagMs:       integer("min.compaction.lag.ms"),
		MaxCompactionLagMs:       integer("max.compaction.lag.ms"),
		MinCleanableDirtyRatio:   ratio,
		UncleanLeaderElection:    boolean("unclean.leader.election.enable"),
		Preallocate:              boolean("preallocate"),
		DownConversion:           boolean("message.downconversion.enable"),
	}, nil
}

// DescribeTopic reports every topic config for DescribeConfigs, sorted by
// name: DYNAMIC_TOPIC_CONFIG when overridden, else the source of the broker
// synonym that set it (STATIC_BROKER_CONFIG, ...), else DEFAULT_CONFIG.
// Unknown override keys are ignored.
func (b *Broker) DescribeTopic(overrides map[string]string) []Entry {
	entries := make([]Entry, 0, len(topicDefinitions))
	for index := range topicDefinitions {
		definition := &topicDefinitions[index]
		value, source := b.topicValue(definition, overrides)
		entry := Entry{
			Name:      definition.Name,
			Value:     stringPointer(value),
			Source:    source,
			IsDefault: source == kmsg.ConfigSourceDefaultConfig,
			Type:      definition.Type,
			Doc:       definition.Doc,
		}
		if override, ok := overrides[definition.Name]; ok {
			entry.Synonyms = append(entry.Synonyms, Synonym{Name: definition.Name, Value: stringPointer(override), Source: kmsg.ConfigSourceDynamicTopicConfig})
		}
		if len(definition.brokerKeys) > 0 {
			entry.Synonyms = append(entry.Synonyms, b.synonyms(definition.brokerKeys[0], definition.brokerKeys)...)
		} else if !entry.IsDefault || len(entry.Synonyms) == 0 {
			entry.Synonyms = append(entry.Synonyms, Synonym{Name: definition.Name, Value: stringPointer(definition.Default), Source: kmsg.ConfigSourceDefaultConfig})
		}
		entries = append(entries, entry)
	}
	return entries
}

// AlterOpType is an IncrementalAlterConfigs operation.
type AlterOpType = kmsg.IncrementalAlterConfigOp

// Incremental alter operations.
const (
	OpSet      = kmsg.IncrementalAlterConfigOpSet
	OpDelete   = kmsg.IncrementalAlterConfigOpDelete
	OpAppend   = kmsg.IncrementalAlterConfigOpAppend
	OpSubtract = kmsg.IncrementalAlterConfigOpSubtract
)

// AlterOp is one operation of IncrementalAlterConfigs.
type AlterOp struct {
	Name  string
	Op    AlterOpType
	Value string
}

// ApplyIncremental applies ops to a copy of current (topic or broker
// configs) and returns it; current is not modified. APPEND and SUBTRACT
// apply only to LIST configs; an unset list starts from its default.
// Values are not validated here: validate the result for its resource.
func ApplyIncremental(current map[string]string, ops []AlterOp) (map[string]string, error) {
	result := maps.Clone(current)
	if result == nil {
		result = make(map[string]string)
	}
	for _, op := range ops {
		definition, ok := lookupAnyDefinition(op.Name)
		if !ok {
			return nil, fmt.Errorf("%w: %w: %s", ErrInvalidConfig, ErrUnknownConfig, op.Name)
		}
		switch op.Op {
		case OpSet:
			result[op.Name] = op.Value
		case OpDelete:
			delete(result, op.Name)
		case OpAppend, OpSubtract:
			if definition.Type != typeList {
				return nil, fmt.Errorf("%w: %s: APPEND and SUBTRACT apply only to LIST configs", ErrInvalidConfig, op.Name)
			}
			existing, set := result[op.Name]
			if !set {
				existing = definition.Default
			}
			result[op.Name] = applyListOp(splitList(existing), splitList(op.Value), op.Op == OpAppend)
		default:
			return nil, fmt.Errorf("%w: %s: unknown operation %d", ErrInvalidConfig, op.Name, op.Op)
		}
	}
	return result, nil
}

func lookupAnyDefinition(name string) (*Definition, bool) {
	if definition, ok := topicIndex[name]; ok {
		return &definition.Definition, true
	}
	return BrokerDefinition(name)
}

func applyListOp(items, changes []string, appending bool) string {
	for _, change := range changes {
		present := slices.Contains(items, change)
		if appending && !present {
			items = append(items, change)
		}
		if !appending && present {
			items = slices.DeleteFunc(items, func(item string) bool { return item == change })
		}
	}
	return strings.Join(items, ",")
}
