// Package hostile runs the real samsa binary with connection and memory
// limits set and attacks it with hostile clients (random bytes, truncated
// and oversized frames, negative counts, unknown APIs and versions, slow
// partial frames, thousands of connections) while real clients (franz-go,
// kcat, kafka-python) produce and consume. It checks that every hostile
// input gets Kafka's reaction, that the broker's peak RSS stays under a
// bound derived from the limits, and that the real clients see no error
// and every record. Everything lives in hostile_test.go.
//
// Environment:
//
//	SAMSA_BIN=/path/to/samsa  use this binary instead of building ./cmd/samsa
//	SAMSA_REQUIRE_CLIENTS=1   fail, rather than skip, when kcat or kafka-python is missing
package hostile
