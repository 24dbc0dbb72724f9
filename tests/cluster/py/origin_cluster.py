"""kafka-python: the origin notes' producer.py and customer.py against a
three-broker cluster. producer.py: partitions_for on an auto-created topic,
then keyed JSON records; customer.py: a group consumer that commits after
every record.

argv[1]: {"bootstrap": [addr, ...], "topic", "group", "count"}; prints JSON.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer


def produce(params):
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"],
                             key_serializer=lambda k: json.dumps(k).encode(),
                             value_serializer=lambda v: json.dumps(v).encode(),
                             max_block_ms=30000)
    partitions = sorted(producer.partitions_for(params["topic"]))
    sent = []
    for i in range(params["count"]):
        md = producer.send(params["topic"], key="count_num", value=str(i)).get(timeout=30)
        sent.append({"partition": md.partition, "offset": md.offset})
    producer.close(timeout=10)
    return partitions, sent


def consume(params):
    consumer = KafkaConsumer(params["topic"], bootstrap_servers=params["bootstrap"],
                             group_id=params["group"], auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=30000,
                             key_deserializer=lambda k: json.loads(k.decode()),
                             value_deserializer=lambda v: json.loads(v.decode()))
    received = []
    for message in consumer:
        received.append({"partition": message.partition, "offset": message.offset,
                         "key": message.key, "value": message.value})
        consumer.commit()
        if len(received) >= params["count"]:
            break
    consumer.close()
    return received


def main():
    params = json.loads(sys.argv[1])
    partitions, sent = produce(params)
    received = consume(params)
    print(json.dumps({"partitions": partitions, "sent": sent, "received": received}))


main()
