// Package clients holds end-to-end tests that drive a Samsa broker with
// unmodified Kafka clients: kcat (librdkafka), kafka-python, confluent-kafka
// and franz-go. Everything lives in the _test.go files; see harness_test.go.
//
// Environment:
//
//	SAMSA_TEST_BROKER=kfake   run against franz-go's in-process kfake broker
//	                          instead of the samsa binary (for harness debugging)
//	SAMSA_BIN=/path/to/samsa  use this binary instead of building ./cmd/samsa
//	SAMSA_REQUIRE_CLIENTS=1   fail, rather than skip, when a client is missing
package clients
