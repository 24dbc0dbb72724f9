"""confluent-kafka: one consumer-group member driven from stdin.

argv[1]: {"bootstrap", "topic", "group", "name", "lifetime", "config": {...}}.
Subscribes with on_assign/on_revoke/on_lost and prints JSON lines:
assigned/revoked/lost (partitions of the callback, assignment owned after
it), record, committed, closed, error. stdin commands: "commit" (synchronous
commit, then committed() of the owned partitions), "stop" (close, exit).
"""
import json
import select
import sys
import time
import traceback

from confluent_kafka import Consumer, TopicPartition


def emit(**event):
    print(json.dumps(event), flush=True)


def run(params):
    topic = params["topic"]
    deadline = time.time() + params["lifetime"]
    config = {"bootstrap.servers": params["bootstrap"], "group.id": params["group"],
              "client.id": params["name"]}
    config.update(params.get("config", {}))
    consumer = Consumer(config)
    owned = set()

    def callback(kind):
        def handle(_, partitions):
            numbers = sorted(tp.partition for tp in partitions)
            if kind == "assigned":
                owned.update(numbers)
            else:
                owned.difference_update(numbers)
            emit(event=kind, partitions=numbers, assignment=sorted(owned))
        return handle

    consumer.subscribe([topic], on_assign=callback("assigned"), on_revoke=callback("revoked"),
                       on_lost=callback("lost"))
    emit(event="ready")
    while time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None:
            if message.error():
                if message.error().fatal():
                    raise RuntimeError(str(message.error()))
                emit(event="warning", message=str(message.error()))
            else:
                emit(event="record", partition=message.partition(), offset=message.offset(),
                     value=message.value().decode())
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if not readable:
            continue
        words = sys.stdin.readline().split()
        if not words or words[0] == "stop":
            break
        if words[0] == "commit":
            consumer.commit(asynchronous=False)
            partitions = consumer.committed([TopicPartition(topic, p) for p in sorted(owned)], timeout=10)
            emit(event="committed", committed={str(tp.partition): tp.offset for tp in partitions})
    consumer.close()
    emit(event="closed")


def main():
    try:
        run(json.loads(sys.argv[1]))
    except Exception:
        emit(event="error", message=traceback.format_exc())
        sys.exit(1)


main()
