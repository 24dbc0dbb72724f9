"""A producer that keeps writing while the test kills the partition leader.

argv[1]: {"client": "confluent"|"kafka-python", "bootstrap": [...], "topic": t,
          "count": n, "signal_after": k, "marker": path}
Produces n records "v00000".. to partition 0 with acks=all, pacing itself;
after k acknowledgements it creates the marker file (the test then kills the
leader) and goes on. Prints {"acked": [values], "errors": [messages]}.
"""
import json
import os
import sys
import time

params = json.loads(sys.argv[1])
acked, errors = [], []
deadline = time.time() + 90


def signal_if_due():
    if len(acked) >= params["signal_after"] and not os.path.exists(params["marker"]):
        open(params["marker"], "w").close()


def run_confluent():
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": ",".join(params["bootstrap"]), "acks": "all",
                         "enable.idempotence": True, "linger.ms": 0,
                         "message.timeout.ms": 60000})

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked.append(msg.value().decode())

    for i in range(params["count"]):
        producer.produce(params["topic"], value=b"v%05d" % i, partition=0, on_delivery=report)
        producer.poll(0.005)
        signal_if_due()
        if time.time() > deadline:
            errors.append("out of time")
            break
    while producer.flush(1) > 0 and time.time() < deadline:
        signal_if_due()


def run_kafka_python():
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=params["bootstrap"], acks="all", retries=5,
                             retry_backoff_ms=500, request_timeout_ms=30000,
                             max_in_flight_requests_per_connection=1)
    for i in range(params["count"]):
        value = b"v%05d" % i
        try:
            producer.send(params["topic"], value=value, partition=0).get(timeout=60)
            acked.append(value.decode())
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append("%s: %s" % (value.decode(), e))
        signal_if_due()
        time.sleep(0.005)
        if time.time() > deadline:
            errors.append("out of time")
            break
    producer.close(timeout=10)


if params["client"] == "confluent":
    run_confluent()
else:
    run_kafka_python()
print(json.dumps({"acked": acked, "errors": errors}))
