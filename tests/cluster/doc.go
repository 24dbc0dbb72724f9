// Package cluster holds end-to-end tests of a multi-node Samsa cluster:
// real `samsa serve` processes (broker and controller each) on free loopback
// ports, killed, paused, stopped and restarted by pid while franz-go,
// raw kmsg requests and kafka-python drive them. Everything lives in the
// _test.go files; harness_test.go starts and stops the nodes.
//
// The tests are the specification of replication and failover with Kafka's
// semantics (ISR, min.insync.replicas, leader and controller failover,
// controlled shutdown, group coordinator failover).
//
// Environment:
//
//	SAMSA_BIN=/path/to/samsa  use this binary instead of building ./cmd/samsa
//	SAMSA_REQUIRE_CLIENTS=1   fail, rather than skip, when kafka-python is missing
//
// scripts/local-cluster starts the same kind of cluster on fixed ports for
// people; these tests never use fixed ports.
package cluster
