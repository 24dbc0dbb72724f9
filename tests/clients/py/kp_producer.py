"""kafka-python: KafkaProducer with JSON serializers, explicit partition,
partitions_for and key-hash partitioning, verified by consuming back.

argv[1]: {"bootstrap", "topic", "hash_keys": [str]}; prints JSON.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def dumps(value):
    return json.dumps(value).encode()


def metadata(future):
    md = future.get(timeout=10)
    return {"topic": md.topic, "partition": md.partition, "offset": md.offset}


def main():
    params = json.loads(sys.argv[1])
    topic = params["topic"]
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], acks="all",
                             key_serializer=dumps, value_serializer=dumps)
    explicit = [metadata(producer.send(topic, key={"id": i}, value={"n": i, "text": "explicit-%d" % i},
                                       partition=1)) for i in range(3)]
    partitions = sorted(producer.partitions_for(topic))
    hashed = [metadata(producer.send(topic, key=key, value={"key": key})) for key in params["hash_keys"]]
    producer.flush(timeout=10)
    producer.close(timeout=10)

    want = len(explicit) + len(hashed)
    consumer = KafkaConsumer(bootstrap_servers=params["bootstrap"], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=10000)
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    consumed = []
    for message in consumer:
        consumed.append({"partition": message.partition, "offset": message.offset,
                         "key": message.key.decode(), "value": message.value.decode()})
        if len(consumed) == want:
            break
    consumer.close()
    consumed.sort(key=lambda r: (r["partition"], r["offset"]))
    print(json.dumps({"explicit": explicit, "partitions": partitions, "hashed": hashed, "consumed": consumed}))


main()
