// Package clients holds end-to-end tests that drive a Samsa broker with
// unmodified Kafka clients: kcat (librdkafka), kafka-python, confluent-kafka
// and franz-go. Everything lives in the _test.go files; see harness_test.go.
//
// Consumer-group tests (groups_*_test.go) start the broker with
// groupOverrides (group.initial.rebalance.delay.ms=0,
// offsets.topic.num.partitions=5) through withOverrides, which kfake maps
// to its own options where it can and otherwise ignores. Multi-member tests
// run each member as a python process (py/kp_member.py, py/cf_member.py)
// that prints its rebalance callbacks and records as JSON lines and takes
// commit/sleep/stop on stdin (members_test.go).
//
// Environment:
//
//	SAMSA_TEST_BROKER=kfake   run against franz-go's in-process kfake broker
//	                          instead of the samsa binary (for harness debugging)
//	SAMSA_BIN=/path/to/samsa  use this binary instead of building ./cmd/samsa
//	SAMSA_REQUIRE_CLIENTS=1   fail, rather than skip, when a client is missing
package clients
