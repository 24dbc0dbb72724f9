package config

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	typeBoolean = kmsg.ConfigTypeBoolean
	typeString  = kmsg.ConfigTypeString
	typeInt     = kmsg.ConfigTypeInt
	typeShort   = kmsg.ConfigTypeShort
	typeLong    = kmsg.ConfigTypeLong
	typeDouble  = kmsg.ConfigTypeDouble
	typeList    = kmsg.ConfigTypeList
	typePass    = kmsg.ConfigTypePassword
)

var compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}

// brokerDefinitions is the registry of every broker config Samsa accepts.
var brokerDefinitions = []Definition{
	{Name: "node.id", Type: typeInt, Default: "1", Validate: atLeast(0), Doc: "The node ID of this server in the cluster."},
	{Name: "broker.id", Type: typeInt, NoDefault: true, Validate: atLeast(0), Doc: "Synonym of node.id; must match it when both are set."},
	{Name: "process.roles", Type: typeList, Default: "broker,controller", Validate: listOf("broker", "controller"), Doc: "The roles this process plays: broker, controller, or both."},
	{Name: "listeners", Type: typeString, Default: "PLAINTEXT://:9092,CONTROLLER://:9093", Validate: validateListeners, Dynamic: true, Doc: "Comma-separated listener URIs NAME://host:port; an empty host binds all interfaces."},
	{Name: "advertised.listeners", Type: typeString, NoDefault: true, Validate: validateListeners, Dynamic: true, Doc: "Listeners published to clients; defaults to listeners minus controller listeners."},
	{Name: "listener.security.protocol.map", Type: typeString, Default: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", Validate: validateProtocolMap, Dynamic: true, Doc: "Map from listener name to security protocol."},
	{Name: "controller.listener.names", Type: typeList, Default: "CONTROLLER", Doc: "Listener names used by the controller."},
	{Name: "inter.broker.listener.name", Type: typeString, Default: "PLAINTEXT", Doc: "Listener name used between brokers."},
	{Name: "controller.quorum.voters", Type: typeList, Default: "1@localhost:9093", Validate: validateVoters, Doc: "Quorum voters as id@host:port,..."},
	{Name: "controller.quorum.election.timeout.ms", Type: typeInt, Default: "1000", Validate: atLeast(1), Doc: "Maximum time without a leader before an election."},
	{Name: "controller.quorum.fetch.timeout.ms", Type: typeInt, Default: "2000", Validate: atLeast(1), Doc: "Maximum time without contact from the leader before a follower becomes a candidate."},
	{Name: "log.dirs", Type: typeList, Default: "./data", Doc: "Directories where log data is kept."},
	{Name: "log.dir", Type: typeString, NoDefault: true, Doc: "Synonym of log.dirs (single directory)."},
	{Name: "metadata.log.dir", Type: typeString, NoDefault: true, Doc: "Directory of the metadata log; defaults to the first log.dirs entry."},
	{Name: "metadata.log.segment.bytes", Type: typeInt, Default: "1073741824", Validate: atLeast(12), Doc: "Maximum size of a metadata log segment."},
	{Name: "metadata.max.retention.bytes", Type: typeLong, Default: "104857600", Doc: "Maximum metadata log size before old snapshots are deleted."},
	{Name: "cluster.id", Type: typeString, NoDefault: true, Doc: "Cluster ID; generated on first start when unset."},
	{Name: "num.partitions", Type: typeInt, Default: "1", Validate: atLeast(1), Dynamic: false, Doc: "Default number of partitions for new topics."},
	{Name: "default.replication.factor", Type: typeInt, Default: "1", Validate: atLeast(1), Doc: "Default replication factor for new topics."},
	{Name: "auto.create.topics.enable", Type: typeBoolean, Default: "true", Doc: "Create topics on metadata requests for unknown topics."},
	{Name: "delete.topic.enable", Type: typeBoolean, Default: "true", Doc: "Allow topics to be deleted."},
	{Name: "log.retention.hours", Type: typeInt, Default: "168", Doc: "Hours to keep a log segment (lowest precedence)."},
	{Name: "log.retention.minutes", Type: typeInt, NoDefault: true, Doc: "Minutes to keep a log segment; overrides log.retention.hours."},
	{Name: "log.retention.ms", Type: typeLong, NoDefault: true, Validate: atLeast(-1), Dynamic: true, Doc: "Milliseconds to keep a log segment; overrides minutes and hours. -1 = no limit."},
	{Name: "log.retention.bytes", Type: typeLong, Default: "-1", Dynamic: true, Doc: "Maximum partition size before old segments are deleted. -1 = no limit."},
	{Name: "log.retention.check.interval.ms", Type: typeLong, Default: "300000", Validate: atLeast(1), Doc: "How often retention is checked."},
	{Name: "log.segment.bytes", Type: typeInt, Default: "1073741824", Validate: atLeast(14), Dynamic: true, Doc: "Maximum size of a log segment."},
	{Name: "log.segment.delete.delay.ms", Type: typeLong, Default: "60000", Validate: atLeast(0), Dynamic: true, Doc: "Delay before a deleted segment's files are removed."},
	{Name: "log.roll.hours", Type: typeInt, Default: "168", Validate: atLeast(1), Doc: "Hours after which a new segment is rolled."},
	{Name: "log.roll.ms", Type: typeLong, NoDefault: true, Validate: atLeast(1), Dynamic: true, Doc: "Milliseconds after which a new segment is rolled; overrides log.roll.hours."},
	{Name: "log.roll.jitter.hours", Type: typeInt, Default: "0", Validate: atLeast(0), Doc: "Maximum jitter subtracted from the roll time."},
	{Name: "log.roll.jitter.ms", Type: typeLong, NoDefault: true, Validate: atLeast(0), Dynamic: true, Doc: "Maximum jitter in milliseconds; overrides log.roll.jitter.hours."},
	{Name: "log.index.interval.bytes", Type: typeInt, Default: "4096", Validate: atLeast(0), Dynamic: true, Doc: "Bytes between offset index entries."},
	{Name: "log.index.size.max.bytes", Type: typeInt, Default: "10485760", Validate: atLeast(4), Dynamic: true, Doc: "Maximum size of an offset index."},
	{Name: "log.flush.interval.messages", Type: typeLong, Default: longMax, Validate: atLeast(1), Dynamic: true, Doc: "Messages accumulated before a flush."},
	{Name: "log.flush.interval.ms", Type: typeLong, NoDefault: true, Dynamic: true, Doc: "Maximum time a message stays unflushed; defaults to log.flush.scheduler.interval.ms."},
	{Name: "log.flush.scheduler.interval.ms", Type: typeLong, Default: longMax, Doc: "How often the flusher checks logs."},
	{Name: "log.message.timestamp.type", Type: typeString, Default: "CreateTime", Validate: oneOf("CreateTime", "LogAppendTime"), Dynamic: true, Doc: "Timestamp type of appended messages."},
	{Name: "log.message.timestamp.difference.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Dynamic: true, Doc: "Maximum difference between a message timestamp and the broker's clock."},
	{Name: "log.message.timestamp.before.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Dynamic: true, Doc: "Maximum age of a message timestamp."},
	{Name: "log.message.timestamp.after.max.ms", Type: typeLong, Default: longMax, Validate: atLeast(0), Dynamic: true, Doc: "Maximum future skew of a message timestamp."},
	{Name: "log.message.downconversion.enable", Type: typeBoolean, Default: "true", Dynamic: true, Doc: "Down-convert messages for old consumers."},
	{Name: "log.message.format.version", Type: typeString, Default: "3.0-IV1", Dynamic: true, Doc: "Deprecated; ignored."},
	{Name: "log.cleanup.policy", Type: typeList, Default: "delete", Validate: listOf("delete", "compact"), Dynamic: true, Doc: "Default cleanup policy: delete, compact or both."},
	{Name: "log.preallocate", Type: typeBoolean, Default: "false", Dynamic: true, Doc: "Preallocate segment files."},
	{Name: "log.cleaner.enable", Type: typeBoolean, Default: "true", Doc: "Run the log cleaner for compacted topics."},
	{Name: "log.cleaner.threads", Type: typeInt, Default: "1", Validate: atLeast(0), Dynamic: true, Doc: "Number of log cleaner threads."},
	{Name: "log.cleaner.dedupe.buffer.size", Type: typeLong, Default: "134217728", Dynamic: true, Doc: "Memory used for deduplication across cleaner threads."},
	{Name: "log.cleaner.io.buffer.size", Type: typeInt, Default: "524288", Validate: atLeast(0), Dynamic: true, Doc: "Cleaner I/O buffer size."},
	{Name: "log.cleaner.io.buffer.load.factor", Type: typeDouble, Default: "0.9", Dynamic: true, Doc: "Cleaner dedupe buffer load factor."},
	{Name: "log.cleaner.io.max.bytes.per.second", Type: typeDouble, Default: "1.7976931348623157E308", Dynamic: true, Doc: "Cleaner I/O throttle."},
	{Name: "log.cleaner.backoff.ms", Type: typeLong, Default: "15000", Validate: atLeast(0), Dynamic: true, Doc: "Sleep when there is nothing to clean."},
	{Name: "log.cleaner.min.cleanable.ratio", Type: typeDouble, Default: "0.5", Validate: between(0, 1), Dynamic: true, Doc: "Minimum dirty ratio before a log is cleaned."},
	{Name: "log.cleaner.delete.retention.ms", Type: typeLong, Default: "86400000", Validate: atLeast(0), Dynamic: true, Doc: "How long tombstones are retained for compacted topics."},
	{Name: "log.cleaner.min.compaction.lag.ms", Type: typeLong, Default: "0", Validate: atLeast(0), Dynamic: true, Doc: "Minimum time a message stays uncompacted."},
	{Name: "log.cleaner.max.compaction.lag.ms", Type: typeLong, Default: longMax, Validate: atLeast(1), Dynamic: true, Doc: "Maximum time a message stays uncompacted."},
	{Name: "message.max.bytes", Type: typeInt, Default: "1048588", Validate: atLeast(0), Dynamic: true, Doc: "Largest record batch size allowed."},
	{Name: "socket.request.max.bytes", Type: typeInt, Default: "104857600", Validate: atLeast(1), Doc: "Largest request accepted."},
	{Name: "socket.send.buffer.bytes", Type: typeInt, Default: "102400", Doc: "SO_SNDBUF; -1 = OS default."},
	{Name: "socket.receive.buffer.bytes", Type: typeInt, Default: "102400", Doc: "SO_RCVBUF; -1 = OS default."},
	{Name: "socket.listen.backlog.size", Type: typeInt, Default: "50", Validate: atLeast(1), Doc: "Listen backlog."},
	{Name: "queued.max.requests", Type: typeInt, Default: "500", Validate: atLeast(1), Doc: "Queued requests allowed before network threads block."},
	{Name: "max.connections", Type: typeInt, Default: intMax, Validate: atLeast(0), Dynamic: true, Doc: "Maximum connections accepted."},
	{Name: "max.connections.per.ip", Type: typeInt, Default: intMax, Validate: atLeast(0), Dynamic: true, Doc: "Maximum connections from one address."},
	{Name: "max.connections.per.ip.overrides", Type: typeString, Default: "", Validate: validConnectionOverrides, Dynamic: true, Doc: "Per-address exceptions to max.connections.per.ip: host:count,ip:count."},
	{Name: "queued.max.request.bytes", Type: typeLong, Default: "-1", Doc: "Bytes of requests read but not yet answered, for all connections; -1 = unbounded. Reading stops while it is used up."},
	{Name: "connections.max.idle.ms", Type: typeLong, Default: "600000", Doc: "Idle connections are closed after this long."},
	{Name: "num.network.threads", Type: typeInt, Default: "3", Validate: atLeast(1), Dynamic: true, Doc: "Accepted for compatibility; informative only."},
	{Name: "num.io.threads", Type: typeInt, Default: "8", Validate: atLeast(1), Dynamic: true, Doc: "Accepted for compatibility; informative only."},
	{Name: "num.recovery.threads.per.data.dir", Type: typeInt, Default: "2", Validate: atLeast(1), Dynamic: true, Doc: "Accepted for compatibility; informative only."},
	{Name: "num.replica.fetchers", Type: typeInt, Default: "1", Dynamic: true, Doc: "Replica fetcher threads."},
	{Name: "broker.rack", Type: typeString, NoDefault: true, Doc: "Rack of this broker."},
	{Name: "min.insync.replicas", Type: typeInt, Default: "1", Validate: atLeast(1), Dynamic: true, Doc: "Minimum in-sync replicas for acks=all produce."},
	{Name: "compression.type", Type: typeString, Default: "producer", Validate: lowerOneOf(compressionTypes...), Dynamic: true, Doc: "Final compression type of topic data."},
	{Name: "offsets.topic.num.partitions", Type: typeInt, Default: "50", Validate: atLeast(1), Doc: "Partitions of the offsets topic."},
	{Name: "offsets.topic.replication.factor", Type: typeShort, Default: "3", Validate: atLeast(1), Doc: "Replication factor of the offsets topic (capped to live brokers)."},
	{Name: "offsets.topic.segment.bytes", Type: typeInt, Default: "104857600", Validate: atLeast(1), Doc: "Segment size of the offsets topic."},
	{Name: "offsets.retention.minutes", Type: typeInt, Default: "10080", Validate: atLeast(1), Doc: "Committed offsets of empty groups are kept this long."},
	{Name: "offsets.retention.check.interval.ms", Type: typeLong, Default: "600000", Validate: atLeast(1), Doc: "How often stale offsets are checked."},
	{Name: "offsets.commit.timeout.ms", Type: typeInt, Default: "5000", Validate: atLeast(1), Doc: "Offset commit timeout."},
	{Name: "offsets.load.buffer.size", Type: typeInt, Default: "5242880", Validate: atLeast(1), Doc: "Batch size when loading offsets."},
	{Name: "group.initial.rebalance.delay.ms", Type: typeInt, Default: "3000", Doc: "Delay of the first rebalance of an empty group."},
	{Name: "group.min.session.timeout.ms", Type: typeInt, Default: "6000", Doc: "Minimum session timeout."},
	{Name: "group.max.session.timeout.ms", Type: typeInt, Default: "1800000", Doc: "Maximum session timeout."},
	{Name: "group.max.size", Type: typeInt, Default: intMax, Validate: atLeast(1), Doc: "Maximum members in a group."},
	{Name: "transaction.state.log.num.partitions", Type: typeInt, Default: "50", Validate: atLeast(1), Doc: "Partitions of the transaction state topic."},
	{Name: "transaction.state.log.replication.factor", Type: typeShort, Default: "3", Validate: atLeast(1), Doc: "Replication factor of the transaction state topic."},
	{Name: "transaction.state.log.min.isr", Type: typeInt, Default: "2", Validate: atLeast(1), Doc: "min.insync.replicas of the transaction state topic."},
	{Name: "transaction.state.log.segment.bytes", Type: typeInt, Default: "104857600", Validate: atLeast(1), Doc: "Segment size of the transaction state topic."},
	{Name: "transaction.state.log.load.buffer.size", Type: typeInt, Default: "5242880", Validate: atLeast(1), Doc: "Batch size when loading transactions."},
	{Name: "transaction.max.timeout.ms", Type: typeInt, Default: "900000", Validate: atLeast(1), Doc: "Maximum transaction timeout."},
	{Name: "transactional.id.expiration.ms", Type: typeInt, Default: "604800000", Validate: atLeast(1), Dynamic: true, Doc: "Idle transactional IDs expire after this long."},
	{Name: "producer.id.expiration.ms", Type: typeInt, Default: "86400000", Validate: atLeast(1), Dynamic: true, Doc: "Idle producer IDs expire after this long."},
	{Name: "fetch.max.bytes", Type: typeInt, Default: "57671680", Validate: atLeast(1024), Doc: "Maximum bytes returned by one fetch."},
	{Name: "replica.lag.time.max.ms", Type: typeLong, Default: "30000", Doc: "A follower not caught up for this long leaves the ISR."},
	{Name: "replica.fetch.max.bytes", Type: typeInt, Default: "1048576", Validate: atLeast(0), Doc: "Bytes fetched per partition by replicas."},
	{Name: "replica.fetch.wait.max.ms", Type: typeInt, Default: "500", Doc: "Maximum wait of a replica fetch."},
	{Name: "unclean.leader.election.enable", Type: typeBoolean, Default: "false", Dynamic: true, Doc: "Allow out-of-sync replicas to become leader."},
	{Name: "broker.session.timeout.ms", Type: typeInt, Default: "9000", Validate: atLeast(1), Doc: "A broker that sends no heartbeat to the active controller for this long is fenced."},
	{Name: "broker.heartbeat.interval.ms", Type: typeInt, Default: "2000", Validate: atLeast(1), Doc: "Interval between a broker's heartbeats to the active controller."},
	{Name: "auto.leader.rebalance.enable", Type: typeBoolean, Default: "true", Doc: "Move leadership back to preferred replicas."},
	{Name: "leader.imbalance.check.interval.seconds", Type: typeLong, Default: "300", Validate: atLeast(1), Doc: "How often the active controller checks for leader imbalance."},
	{Name: "leader.imbalance.per.broker.percentage", Type: typeInt, Default: "10", Validate: atLeast(0), Doc: "Share of a broker's preferred partitions led elsewhere above which leadership is moved back."},
	{Name: "request.timeout.ms", Type: typeInt, Default: "30000", Doc: "Internal request timeout."},
	{Name: "sasl.enabled.mechanisms", Type: typeList, Default: "GSSAPI", Dynamic: true, Doc: "Enabled SASL mechanisms."},
	{Name: "ssl.keystore.password", Type: typePass, NoDefault: true, Sensitive: true, Dynamic: true, Doc: "Keystore password (unused)."},
}

// brokerIndex maps a broker config name to its definition.
var brokerIndex = indexDefinitions(brokerDefinitions)

func indexDefinitions(definitions []Definition) map[string]*Definition {
	index := make(map[string]*Definition, len(definitions))
	for position := range definitions {
		index[definitions[position].Name] = &definitions[position]
	}
	return index
}

// BrokerDefinition returns the definition of a broker config, if known.
func BrokerDefinition(name string) (*Definition, bool) {
	definition, ok := brokerIndex[name]
	return definition, ok
}
