package config

// topicDefinition is a topic config with the broker keys that supply its
// default, highest precedence first, and how to derive the value from them.
type topicDefinition struct {
	Definition
	brokerKeys []string
	fromBroker func(b *Broker) string // nil: the first broker key's value as is
}

var topicDefinitions = []topicDefinition{
	{Definition: Definition{Name: "cleanup.policy", Type: typeList, Default: "delete", Validate: listOf("delete", "compact"), Doc: "Retention policy for old segments: delete, compact, or both."}, brokerKeys: []string{"log.cleanup.policy"}},
	{Definition: Definition{Name: "compression.type", Type: typeString, Default: "producer", Validate: lowerOneOf(compressionTypes...), Doc: "Final compression type of the topic."}, brokerKeys: []string{"compression.type"}},
	{Definition: Definition{Name: "delete.retention.ms", Type: typeLong, Default: "86400000", Validate: atLeast(0), Doc: "How long tombstones are kept on compacted topics."}, brokerKeys: []string{"log.cleaner.delete.retention.ms"}},
	{Definition: Definition{Name: "file.delete.delay.ms", Type: typeLong, Default: "60000", Validate: atLeast(0), Doc: "Delay before a deleted segment's files are removed."}, brokerKeys: []string{"log.segment.delete.delay.ms"}},
	{Definition: Definition{Name: "flush.messages", Type: typeLong, Default: longMax, Validate: atLeast(1), Doc: "Messages written before the log is flushed."}, brokerKeys: []string{"log.flush.interval.messages"}},
	{Definition: Definition{Name: "flush.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Doc: "Milliseconds before the log is flushed."}, brokerKeys: []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}, fromBroker: flushMsFromBroker},
	{Definition: Definition{Name: "follower.replication.throttled.replicas", Type: typeList, Default: "", Doc: "Replicas throttled on the follower side."}},
	{Definition: Definition{Name: "index.interval.bytes", Type: typeInt, Default: "4096", Validate: atLeast(0), Doc: "Bytes between offset index entries."}, brokerKeys: []string{"log.index.interval.bytes"}},
	{Definition: Definition{Name: "leader.replication.throttled.replicas", Type: typeList, Default: "", Doc: "Replicas throttled on the leader side."}},
	{Definition: Definition{Name: "max.compaction.lag.ms", Type: typeLong, Default: longMax, Validate: atLeast(1), Doc: "Maximum time a message stays uncompacted."}, brokerKeys: []string{"log.cleaner.max.compaction.lag.ms"}},
	{Definition: Definition{Name: "max.message.bytes", Type: typeInt, Default: "1048588", Validate: atLeast(0), Doc: "Largest record batch size allowed."}, brokerKeys: []string{"message.max.bytes"}},
	{Definition: Definition{Name: "message.downconversion.enable", Type: typeBoolean, Default: "true", Doc: "Down-convert messages for old consumers."}, brokerKeys: []string{"log.message.downconversion.enable"}},
	{Definition: Definition{Name: "message.format.version", Type: typeString, Default: "3.0-IV1", Doc: "Deprecated; ignored."}, brokerKeys: []string{"log.message.format.version"}},
	{Definition: Definition{Name: "message.timestamp.after.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Doc: "Maximum future skew of a message timestamp."}, brokerKeys: []string{"log.message.timestamp.after.max.ms"}},
	{Definition: Definition{Name: "message.timestamp.before.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Doc: "Maximum age of a message timestamp."}, brokerKeys: []string{"log.message.timestamp.before.max.ms"}},
	{Definition: Definition{Name: "message.timestamp.difference.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Doc: "Maximum difference between a message timestamp and the broker clock."}, brokerKeys: []string{"log.message.timestamp.difference.max.ms"}},
	{Definition: Definition{Name: "message.timestamp.type", Type: typeString, Default: "CreateTime", Validate: oneOf("CreateTime", "LogAppendTime"), Doc: "CreateTime or LogAppendTime."}, brokerKeys: []string{"log.message.timestamp.type"}},
	{Definition: Definition{Name: "min.cleanable.dirty.ratio", Type: typeDouble, Default: "0.5", Validate: between(0, 1), Doc: "Minimum dirty ratio before the log is compacted."}, brokerKeys: []string{"log.cleaner.min.cleanable.ratio"}},
	{Definition: Definition{Name: "min.compaction.lag.ms", Type: typeLong, Default: "0", Validate: atLeast(0), Doc: "Minimum time a message stays uncompacted."}, brokerKeys: []string{"log.cleaner.min.compaction.lag.ms"}},
	{Definition: Definition{Name: "min.insync.replicas", Type: typeInt, Default: "1", Validate: atLeast(1), Doc: "Minimum in-sync replicas for acks=all produce."}, brokerKeys: []string{"min.insync.replicas"}},
	{Definition: Definition{Name: "preallocate", Type: typeBoolean, Default: "false", Doc: "Preallocate segment files."}, brokerKeys: []string{"log.preallocate"}},
	{Definition: Definition{Name: "retention.bytes", Type: typeLong, Default: "-1", Doc: "Maximum partition size before old segments are deleted; -1 = no limit."}, brokerKeys: []string{"log.retention.bytes"}},
	{Definition: Definition{Name: "retention.ms", Type: typeLong, Default: "604800000", Validate: atLeast(-1), Doc: "How long records are kept; -1 = no limit."}, brokerKeys: []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, fromBroker: func(b *Broker) string { return formatInt(b.RetentionMs) }},
	{Definition: Definition{Name: "segment.bytes", Type: typeInt, Default: "1073741824", Validate: atLeast(14), Doc: "Segment file size."}, brokerKeys: []string{"log.segment.bytes"}},
	{Definition: Definition{Name: "segment.index.bytes", Type: typeInt, Default: "10485760", Validate: atLeast(4), Doc: "Offset index size."}, brokerKeys: []string{"log.index.size.max.bytes"}},
	{Definition: Definition{Name: "segment.jitter.ms", Type: typeLong, Default: "0", Validate: atLeast(0), Doc: "Maximum random jitter subtracted from segment.ms."}, brokerKeys: []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}, fromBroker: rollJitterFromBroker},
	{Definition: Definition{Name: "segment.ms", Type: typeLong, Default: "604800000", Validate: atLeast(1), Doc: "Time after which a segment is rolled."}, brokerKeys: []string{"log.roll.ms", "log.roll.hours"}, fromBroker: func(b *Broker) string { return formatInt(b.RollMs) }},
	{Definition: Definition{Name: "unclean.leader.election.enable", Type: typeBoolean, Default: "false", Doc: "Allow out-of-sync replicas to become leader."}, brokerKeys: []string{"unclean.leader.election.enable"}},
}

var topicIndex = func() map[string]*topicDefinition {
	index := make(map[string]*topicDefinition, len(topicDefinitions))
	for position := range topicDefinitions {
		index[topicDefinitions[position].Name] = &topicDefinitions[position]
	}
	return index
}()

func flushMsFromBroker(b *Broker) string {
	if value, ok := b.Value("log.flush.interval.ms"); ok {
		return value
	}
	return b.stringValue("log.flush.scheduler.interval.ms")
}

func rollJitterFromBroker(b *Broker) string {
	if value, ok := b.Value("log.roll.jitter.ms"); ok {
		return value
	}
	return formatInt(b.int64Value("log.roll.jitter.hours") * 60 * 60 * 1000)
}

// TopicConfigNames returns the names of every topic config, sorted.
func TopicConfigNames() []string {
	names := make([]string, 0, len(topicDefinitions))
	for _, definition := range topicDefinitions {
		names = append(names, definition.Name)
	}
	return names
}

// IsTopicConfig reports whether name is a known topic config.
func IsTopicConfig(name string) bool {
	_, ok := topicIndex[name]
	return ok
}
