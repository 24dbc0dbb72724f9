"""kafka-python: the origin notes' snippet. Producing to a topic that does
not exist creates it (auto.create.topics.enable defaults to true).

argv[1]: {"bootstrap"}; prints JSON.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer


def main():
    params = json.loads(sys.argv[1])
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], max_block_ms=20000)
    md = producer.send("test-topic1", b"some_message_bytes").get(timeout=10)
    printed = str(producer.partitions_for("test-topic1"))
    producer.close(timeout=10)
    consumer = KafkaConsumer("test-topic1", bootstrap_servers=params["bootstrap"], group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=10000)
    values = []
    for message in consumer:
        values.append({"partition": message.partition, "offset": message.offset,
                       "value": message.value.decode()})
        break
    consumer.close()
    print(json.dumps({"metadata": {"topic": md.topic, "partition": md.partition, "offset": md.offset},
                      "printed": printed, "consumed": values}))


main()
