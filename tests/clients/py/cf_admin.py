"""confluent-kafka AdminClient: create_topics with configs, describe_configs,
alter_configs, create_partitions, delete_topics, list_topics.

argv[1]: {"bootstrap", "topic"}; prints JSON.
"""
import json
import sys
import time

from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic

NAMES = ("cleanup.policy", "retention.ms", "segment.bytes")


def wait(futures):
    return {key: future.result(timeout=30) for key, future in futures.items()}


def configs(admin, topic):
    resource = ConfigResource("topic", topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=30)
    return {name: {"value": entries[name].value, "source": ConfigSource(entries[name].source).name,
                   "is_default": entries[name].is_default} for name in NAMES if name in entries}


def partitions(admin, topic):
    metadata = admin.list_topics(topic=topic, timeout=30)
    return sorted(metadata.topics[topic].partitions)


def main():
    params = json.loads(sys.argv[1])
    topic = params["topic"]
    admin = AdminClient({"bootstrap.servers": params["bootstrap"]})
    result = {}
    wait(admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                       config={"cleanup.policy": "delete", "retention.ms": "1000000"})],
                             operation_timeout=30))
    result["configs_created"] = configs(admin, topic)
    alter = ConfigResource("topic", topic, set_config={"retention.ms": "2000000"})
    wait(admin.alter_configs([alter]))
    result["configs_altered"] = configs(admin, topic)
    result["partitions_created"] = partitions(admin, topic)
    wait(admin.create_partitions([NewPartitions(topic, 5)], operation_timeout=30))
    result["partitions_grown"] = partitions(admin, topic)
    metadata = admin.list_topics(timeout=30)
    result["brokers"] = [[b.id, b.host, b.port] for b in metadata.brokers.values()]
    result["listed"] = topic in metadata.topics
    wait(admin.delete_topics([topic], operation_timeout=30))
    deadline = time.time() + 10
    while topic in admin.list_topics(timeout=30).topics and time.time() < deadline:
        time.sleep(0.1)
    result["listed_after_delete"] = topic in admin.list_topics(timeout=30).topics
    print(json.dumps(result))


main()
