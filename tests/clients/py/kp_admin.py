"""kafka-python: KafkaAdminClient create/list/describe topics,
create_partitions, delete_topics, TopicAlreadyExistsError.

argv[1]: {"bootstrap", "topic"}; prints JSON.
"""
import json
import sys
import time

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic


def describe(admin, topic):
    described = admin.describe_topics([topic])
    return [{"topic": t["topic"], "error_code": t["error_code"],
             "partitions": sorted(p["partition"] for p in t["partitions"]),
             "leaders": sorted(set(p["leader"] for p in t["partitions"]))} for t in described]


def topic_config(admin, topic, name):
    response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0]
    for resource in response.resources:
        for entry in resource[4]:
            if entry[0] == name:
                return entry[1]
    return None


def main():
    params = json.loads(sys.argv[1])
    topic = params["topic"]
    admin = KafkaAdminClient(bootstrap_servers=params["bootstrap"], request_timeout_ms=20000)
    result = {}
    response = admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1,
                                             topic_configs={"retention.ms": "3600000"})])
    result["create_errors"] = [list(e[:2]) for e in response.topic_errors]
    result["listed"] = topic in admin.list_topics()
    result["described"] = describe(admin, topic)
    result["retention_ms"] = topic_config(admin, topic, "retention.ms")
    try:
        admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)])
        result["create_again"] = "no error"
    except Exception as error:  # the class name is what the test checks
        result["create_again"] = type(error).__name__
    response = admin.create_partitions({topic: NewPartitions(total_count=4)})
    result["create_partitions_errors"] = [list(e[:2]) for e in response.topic_errors]
    result["described_after_partitions"] = describe(admin, topic)
    response = admin.delete_topics([topic])
    result["delete_errors"] = [list(e) for e in response.topic_error_codes]
    deadline = time.time() + 10
    while topic in admin.list_topics() and time.time() < deadline:
        time.sleep(0.1)
    result["listed_after_delete"] = topic in admin.list_topics()
    admin.close()
    print(json.dumps(result))


main()
