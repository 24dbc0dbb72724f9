"""kafka-python consumer groups in one process: subscribe/iterate, commit()
and committed(), commit with OffsetAndMetadata then resume in a new
consumer, max_poll_records, auto_offset_reset latest (the default).

argv[1]: {"bootstrap", "topic", "per_partition"}: topic has 3 partitions
holding per_partition records each ("p<partition>-<offset>"). Prints JSON.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

PARTITIONS = 3


def view(message):
    return {"partition": message.partition, "offset": message.offset, "value": message.value.decode()}


def iterate(consumer, want, linger_ms=0):
    """Iterates until want records (bounded by consumer_timeout_ms), then, if
    linger_ms, keeps iterating until linger_ms pass with nothing new."""
    records = []
    for message in consumer:
        records.append(view(message))
        if len(records) == want:
            break
    if linger_ms:
        consumer.config["consumer_timeout_ms"] = linger_ms
        for message in consumer:
            records.append(view(message))
    records.sort(key=lambda r: (r["partition"], r["offset"]))
    return records


def committed(consumer, topic):
    return [consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)]


def subscribe_all(params, group, want):
    consumer = KafkaConsumer(params["topic"], bootstrap_servers=params["bootstrap"], group_id=group,
                             auto_offset_reset="earliest", consumer_timeout_ms=20000)
    records = iterate(consumer, want)
    consumer.commit()
    result = {"records": records, "committed": committed(consumer, params["topic"])}
    consumer.close()
    return result


def manual_commit(params, group, total):
    topic = params["topic"]
    consumer = KafkaConsumer(topic, bootstrap_servers=params["bootstrap"], group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=20000)
    first = iterate(consumer, total)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "meta-0"),
                     TopicPartition(topic, 1): OffsetAndMetadata(7, "meta-1"),
                     TopicPartition(topic, 2): OffsetAndMetadata(total // PARTITIONS, "")})
    after_commit = committed(consumer, topic)
    consumer.close(autocommit=False)
    admin = KafkaAdminClient(bootstrap_servers=params["bootstrap"])
    listed = admin.list_consumer_group_offsets(group)
    admin.close()
    resumed_consumer = KafkaConsumer(topic, bootstrap_servers=params["bootstrap"], group_id=group,
                                     auto_offset_reset="earliest", enable_auto_commit=False,
                                     consumer_timeout_ms=20000)
    want = (total // PARTITIONS - 4) + (total // PARTITIONS - 7)
    resumed = iterate(resumed_consumer, want, linger_ms=2000)
    resumed_consumer.close(autocommit=False)
    return {"first_count": len(first), "committed": after_commit, "resumed": resumed,
            "listed": sorted([tp.partition, meta.offset, meta.metadata] for tp, meta in listed.items())}


def max_poll_records(params, group, total):
    consumer = KafkaConsumer(params["topic"], bootstrap_servers=params["bootstrap"], group_id=group,
                             auto_offset_reset="earliest", max_poll_records=4)
    sizes, records = [], []
    deadline = time.time() + 30
    while len(records) < total and time.time() < deadline:
        batch = consumer.poll(timeout_ms=500)
        size = sum(len(messages) for messages in batch.values())
        if size:
            sizes.append(size)
        for messages in batch.values():
            records.extend(view(m) for m in messages)
    consumer.close()
    records.sort(key=lambda r: (r["partition"], r["offset"]))
    return {"max_batch": max(sizes) if sizes else 0, "records": records}


def latest(params, group):
    topic = params["topic"]
    consumer = KafkaConsumer(topic, bootstrap_servers=params["bootstrap"], group_id=group,
                             consumer_timeout_ms=20000)
    deadline = time.time() + 30
    while len(consumer.assignment()) < PARTITIONS and time.time() < deadline:
        consumer.poll(timeout_ms=200)
    # position() resolves the reset (to the log end) before anything new.
    positions = [consumer.position(TopicPartition(topic, p)) for p in range(PARTITIONS)]
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], acks="all")
    for p in range(PARTITIONS):
        producer.send(topic, value=b"late-%d" % p, partition=p).get(timeout=10)
    producer.close(timeout=10)
    records = iterate(consumer, PARTITIONS)
    consumer.close()
    return {"positions": positions, "records": records}


def main():
    params = json.loads(sys.argv[1])
    total = PARTITIONS * params["per_partition"]
    result = {
        "subscribe": subscribe_all(params, "kp-subscribe", total),
        "manual": manual_commit(params, "kp-manual", total),
        "max_poll": max_poll_records(params, "kp-max-poll", total),
        "latest": latest(params, "kp-latest"),
    }
    print(json.dumps(result))


main()
