"""confluent-kafka: idempotent acks=all producer with one compression codec,
delivery reports, consumed back with assign().

argv[1]: {"bootstrap", "topic", "codec", "count"}; prints JSON.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def value_for(codec, i):
    # Repetitive so that every codec really compresses.
    return ("%s-value-%d-" % (codec, i)) * 8


def produce(params):
    topic, codec, count = params["topic"], params["codec"], params["count"]
    producer = Producer({"bootstrap.servers": params["bootstrap"], "acks": "all",
                         "enable.idempotence": True, "compression.type": codec,
                         "linger.ms": 20, "message.timeout.ms": 30000})
    reports = []

    def on_delivery(error, message):
        reports.append({"error": None if error is None else str(error), "partition": message.partition(),
                        "offset": message.offset(), "key": message.key().decode()})

    for i in range(count):
        producer.produce(topic, key=b"key-%d" % i, value=value_for(codec, i).encode(), partition=0,
                         headers=[("index", str(i).encode())], on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(30)
    return reports, remaining


def consume(params):
    topic, count = params["topic"], params["count"]
    consumer = Consumer({"bootstrap.servers": params["bootstrap"], "group.id": "cf-codecs",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    records, errors = [], []
    deadline = time.time() + 30
    while len(records) < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            errors.append(str(message.error()))
            continue
        records.append({"partition": message.partition(), "offset": message.offset(),
                        "key": message.key().decode(), "value": message.value().decode(),
                        "headers": [[k, v.decode()] for k, v in (message.headers() or [])]})
    consumer.close()
    return records, errors


def main():
    params = json.loads(sys.argv[1])
    reports, remaining = produce(params)
    records, errors = consume(params)
    print(json.dumps({"reports": reports, "unflushed": remaining, "records": records, "errors": errors}))


main()
