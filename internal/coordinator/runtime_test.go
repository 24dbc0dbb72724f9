package coordinator

import "testing"

func TestPartitionForMatchesKafka(t *testing.T) {
	// Expected values printed by Java 17: s.hashCode() and
	// (s.hashCode() & 0x7fffffff) % 50, Kafka's partitionFor.
	cases := []struct {
		key  string
		hash int32
		p50  int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"my-group", -1906497762, 36},
		{"test", 3556498, 48},
		{"group-\U0001F600", 508083057, 7}, // a surrogate pair in UTF-16
		{"console-consumer-12345", 158455506, 6},
	}
	for _, c := range cases {
		if got := JavaStringHash(c.key); got != c.hash {
			t.Errorf("JavaStringHash(%q) = %d, want %d", c.key, got, c.hash)
		}
		if got := PartitionFor(c.key, 50); got != c.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", c.key, got, c.p50)
		}
	}
}
