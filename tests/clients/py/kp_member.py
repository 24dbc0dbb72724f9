"""kafka-python: one consumer-group member driven from stdin.

argv[1]: {"bootstrap", "topic", "group", "name", "lifetime", "config": {...}}.
Subscribes with a ConsumerRebalanceListener and prints JSON lines:
assigned/revoked (partitions, assignment), record (partition, offset, value),
committed, woke, closed, error. stdin commands: "commit" (commit() then
report committed(tp) of the owned partitions), "sleep S" (stop polling for S
seconds), "stop" (close and exit). Exits by itself after lifetime seconds.
"""
import json
import select
import sys
import time
import traceback

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition


def emit(**event):
    print(json.dumps(event), flush=True)


class Listener(ConsumerRebalanceListener):
    def __init__(self):
        self.owned = set()

    def on_partitions_revoked(self, revoked):
        partitions = sorted(tp.partition for tp in revoked)
        self.owned -= set(partitions)
        emit(event="revoked", partitions=partitions, assignment=sorted(self.owned))

    def on_partitions_assigned(self, assigned):
        partitions = sorted(tp.partition for tp in assigned)
        self.owned = set(partitions)
        emit(event="assigned", partitions=partitions, assignment=sorted(self.owned))


def command(consumer, listener, topic, line):
    words = line.split()
    if not words or words[0] == "stop":
        return False
    if words[0] == "commit":
        consumer.commit()
        committed = {str(p): consumer.committed(TopicPartition(topic, p)) for p in sorted(listener.owned)}
        emit(event="committed", committed=committed)
    elif words[0] == "sleep":
        time.sleep(float(words[1]))
        emit(event="woke")
    return True


def run(params):
    topic = params["topic"]
    deadline = time.time() + params["lifetime"]
    consumer = KafkaConsumer(bootstrap_servers=params["bootstrap"], group_id=params["group"],
                             client_id=params["name"], **params.get("config", {}))
    listener = Listener()
    consumer.subscribe([topic], listener=listener)
    emit(event="ready")
    running = True
    while running and time.time() < deadline:
        for tp, messages in consumer.poll(timeout_ms=200).items():
            for message in messages:
                emit(event="record", partition=tp.partition, offset=message.offset, value=message.value.decode())
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable:
            running = command(consumer, listener, topic, sys.stdin.readline())
    consumer.close()
    emit(event="closed")


def main():
    try:
        run(json.loads(sys.argv[1]))
    except Exception:
        emit(event="error", message=traceback.format_exc())
        sys.exit(1)


main()
