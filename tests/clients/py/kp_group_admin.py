"""kafka-python KafkaAdminClient on consumer groups: list_consumer_groups,
describe_consumer_groups, list_consumer_group_offsets,
delete_consumer_groups (refused while the group has a member, done once it
is empty).

argv[1]: {"bootstrap", "topic", "group"}: topic has 2 partitions. A member
joins, commits {0: 3 "m0", 1: 5 "m1"}, and stays while the admin looks.
Prints JSON.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import OffsetAndMetadata


def describe(admin, group):
    (info,) = admin.describe_consumer_groups([group])
    members = []
    for member in info.members:
        assignment = member.member_assignment
        members.append({
            "client_id": member.client_id,
            "subscription": list(member.member_metadata.subscription),
            "assignment": sorted([topic, sorted(partitions)] for topic, partitions in assignment.assignment),
        })
    return {"group": info.group, "error_code": info.error_code, "state": info.state,
            "protocol_type": info.protocol_type, "protocol": info.protocol, "members": members}


def main():
    params = json.loads(sys.argv[1])
    topic, group = params["topic"], params["group"]
    consumer = KafkaConsumer(topic, bootstrap_servers=params["bootstrap"], group_id=group,
                             client_id="admin-member", enable_auto_commit=False,
                             partition_assignment_strategy=[RangePartitionAssignor])
    deadline = time.time() + 30
    while len(consumer.assignment()) < 2 and time.time() < deadline:
        consumer.poll(timeout_ms=200)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "m0"),
                     TopicPartition(topic, 1): OffsetAndMetadata(5, "m1")})
    admin = KafkaAdminClient(bootstrap_servers=params["bootstrap"])
    result = {
        "listed": sorted(list(entry) for entry in admin.list_consumer_groups()),
        "described": describe(admin, group),
        "offsets": sorted([tp.topic, tp.partition, meta.offset, meta.metadata]
                          for tp, meta in admin.list_consumer_group_offsets(group).items()),
        "delete_while_active": [[g, error.__name__] for g, error in admin.delete_consumer_groups([group])],
    }
    consumer.close(autocommit=False)
    result["described_empty"] = describe(admin, group)
    result["delete_empty"] = [[g, error.__name__] for g, error in admin.delete_consumer_groups([group])]
    result["listed_after_delete"] = sorted(list(entry) for entry in admin.list_consumer_groups())
    try:  # Kafka answers an unknown group with no offsets and no error
        result["offsets_after_delete"] = len(admin.list_consumer_group_offsets(group))
    except Exception as error:
        result["offsets_after_delete"] = type(error).__name__
    admin.close()
    print(json.dumps(result))


main()
