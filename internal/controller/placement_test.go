package controller

import (
	"math/rand/v2"
	"testing"

	"samsa/internal/metadata"
)

func TestPlacementRackAware(t *testing.T) {
	brokers := []*metadata.BrokerImage{{ID: 1, Rack: "a"}, {ID: 2, Rack: "a"}, {ID: 3, Rack: "b"}, {ID: 4, Rack: "b"}, {ID: 5, Rack: "c"}, {ID: 6, Rack: "c"}}
	racks := map[int32]string{}
	for _, broker := range brokers {
		racks[broker.ID] = broker.Rack
	}
	for seed := uint64(0); seed < 20; seed++ {
		placement := newPlacer(brokers, rand.New(rand.NewPCG(seed, seed)))
		leaders := map[int32]int{}
		for partition := 0; partition < 12; partition++ {
			replicas := placement.assign(partition, 3)
			used := map[string]bool{}
			for _, replica := range replicas {
				if used[racks[replica]] {
					t.Fatalf("seed %d partition %d: replicas %v share a rack", seed, partition, replicas)
				}
				used[racks[replica]] = true
			}
			leaders[replicas[0]]++
		}
		for _, broker := range brokers {
			if leaders[broker.ID] != 2 {
				t.Fatalf("seed %d: uneven leaders %v", seed, leaders)
			}
		}
	}
}

func TestValidateTopicName(t *testing.T) {
	for _, name := range []string{"a", "A.b_c-9", "__consumer_offsets", string(make([]byte, 0)) + "x"} {
		if err := ValidateTopicName(name); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", "a b", "a/b", "ü", string(make([]byte, 250))} {
		if err := ValidateTopicName(name); err == nil {
			t.Fatalf("%q accepted", name)
		}
	}
}
