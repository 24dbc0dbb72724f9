"""kafka-python with a pinned old api_version: (0, 10) uses magic 1 message
sets (Produce v2, Fetch v2), (0, 9) uses magic 0 (Produce v1, Fetch v1).

argv[1]: {"bootstrap", "topic", "api_version": [major, minor], "base_ts"}; prints JSON.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def main():
    params = json.loads(sys.argv[1])
    topic, version, base = params["topic"], tuple(params["api_version"]), params["base_ts"]
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], api_version=version, acks=1,
                             max_block_ms=20000)
    produced = []
    for i in range(3):
        timestamp = base + 1000 * i if version >= (0, 10) else None
        md = producer.send(topic, key=b"legacy-key-%d" % i, value=b"legacy-value-%d" % i, partition=0,
                           timestamp_ms=timestamp).get(timeout=10)
        produced.append({"partition": md.partition, "offset": md.offset})
    producer.close(timeout=10)

    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=params["bootstrap"], api_version=version, group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=10000)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    consumed = []
    for message in consumer:
        consumed.append({"partition": message.partition, "offset": message.offset,
                         "timestamp": message.timestamp, "key": message.key.decode(),
                         "value": message.value.decode()})
        if len(consumed) == 3:
            break
    consumer.close()
    print(json.dumps({"produced": produced, "consumed": consumed}))


main()
