"""kafka-python: KafkaConsumer assign/seek/seek_to_beginning,
beginning_offsets/end_offsets, offsets_for_times, consumer_timeout_ms.

argv[1]: {"bootstrap", "topic", "base_ts", "count"}; produces count records
to partition 0 with timestamps base_ts + 1000*i and prints JSON.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def record(message):
    return {"partition": message.partition, "offset": message.offset, "timestamp": message.timestamp,
            "timestamp_type": message.timestamp_type, "key": message.key.decode(),
            "value": message.value.decode()}


def drain(consumer, limit):
    records = []
    for message in consumer:
        records.append(record(message))
        if len(records) == limit:
            break
    return records


def lookup(consumer, tp, timestamp):
    found = consumer.offsets_for_times({tp: timestamp})[tp]
    return None if found is None else {"offset": found.offset, "timestamp": found.timestamp}


def main():
    params = json.loads(sys.argv[1])
    topic, base, count = params["topic"], params["base_ts"], params["count"]
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], acks="all")
    produced = []
    for i in range(count):
        md = producer.send(topic, key=b"key-%d" % i, value=b"value-%d" % i, partition=0,
                           timestamp_ms=base + 1000 * i).get(timeout=10)
        produced.append({"offset": md.offset, "timestamp": md.timestamp})
    producer.close(timeout=10)

    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=params["bootstrap"], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    consumer.assign([tp])
    result = {
        "produced": produced,
        "beginning": consumer.beginning_offsets([tp])[tp],
        "end": consumer.end_offsets([tp])[tp],
        "times": {
            "first": lookup(consumer, tp, base),
            "between_1_2": lookup(consumer, tp, base + 1500),
            "last": lookup(consumer, tp, base + 1000 * (count - 1)),
            "after_last": lookup(consumer, tp, base + 1000 * count),
        },
    }
    consumer.seek_to_beginning(tp)
    result["all"] = drain(consumer, count)
    consumer.seek(tp, 3)
    result["from_3"] = drain(consumer, count)
    result["position_after"] = consumer.position(tp)
    # Nothing left: the iterator must stop after consumer_timeout_ms.
    result["after_end"] = drain(consumer, count)
    consumer.close()
    print(json.dumps(result))


main()
