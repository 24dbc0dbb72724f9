"""confluent-kafka consumer groups in one process: manual commit
(enable.auto.commit=false, commit(asynchronous=False), commit(offsets=...))
with committed() and an exact resume; auto commit committing on close and
an exact resume after new records.

argv[1]: {"bootstrap", "topic", "per_partition"}: topic has 3 partitions
holding per_partition records each. Prints JSON.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

PARTITIONS = 3


def consumer_for(params, group, **extra):
    config = {"bootstrap.servers": params["bootstrap"], "group.id": group, "auto.offset.reset": "earliest"}
    config.update(extra)
    consumer = Consumer(config)
    consumer.subscribe([params["topic"]])
    return consumer


def consume(consumer, want, linger=0.0):
    """Polls until want records (within 30 s), then for linger more seconds."""
    records = []
    deadline = time.time() + 30
    while len(records) < want and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            raise RuntimeError(str(message.error()))
        records.append({"partition": message.partition(), "offset": message.offset(),
                        "value": message.value().decode()})
    end = time.time() + linger
    while time.time() < end:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            records.append({"partition": message.partition(), "offset": message.offset(),
                            "value": message.value().decode()})
    records.sort(key=lambda r: (r["partition"], r["offset"]))
    return records


def committed(consumer, topic):
    partitions = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    return [tp.offset for tp in partitions]


def manual(params, total):
    topic = params["topic"]
    consumer = consumer_for(params, "cf-manual", **{"enable.auto.commit": False})
    first = consume(consumer, total)
    consumer.commit(asynchronous=False)
    after_commit = committed(consumer, topic)
    consumer.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 7)], asynchronous=False)
    after_explicit = committed(consumer, topic)
    consumer.close()
    resumed_consumer = consumer_for(params, "cf-manual", **{"enable.auto.commit": False})
    want = 2 * (total // PARTITIONS) - 4 - 7
    resumed = consume(resumed_consumer, want, linger=2.0)
    resumed_consumer.close()
    return {"first_count": len(first), "committed": after_commit, "committed_explicit": after_explicit,
            "resumed": resumed}


def auto(params, total):
    topic = params["topic"]
    consumer = consumer_for(params, "cf-auto", **{"enable.auto.commit": True, "auto.commit.interval.ms": 200})
    first = consume(consumer, total)
    consumer.close()  # commits the final positions
    producer = Producer({"bootstrap.servers": params["bootstrap"]})
    for p in range(PARTITIONS):
        producer.produce(topic, value=b"later-%d" % p, partition=p)
    producer.flush(10)
    resumed_consumer = consumer_for(params, "cf-auto", **{"enable.auto.commit": True})
    before = committed(resumed_consumer, topic)
    resumed = consume(resumed_consumer, PARTITIONS, linger=2.0)
    resumed_consumer.close()
    return {"first_count": len(first), "committed": before, "resumed": resumed}


def main():
    params = json.loads(sys.argv[1])
    total = PARTITIONS * params["per_partition"]
    print(json.dumps({"manual": manual(params, total), "auto": auto(params, total)}))


main()
