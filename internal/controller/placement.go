package controller

import (
	"math/rand/v2"
	"slices"

	"samsa/internal/metadata"
)

// placer assigns replicas to brokers the way Kafka does: a random first
// broker, consecutive partitions on consecutive brokers, and followers
// shifted so that leadership and replicas spread evenly. When any broker
// has a rack, the broker list alternates racks and each partition prefers
// replicas on racks it does not use yet.
type placer struct {
	brokers  []int32
	racks    map[int32]string
	start    int
	shift    int
	rackMode bool
}

func newPlacer(brokers []*metadata.BrokerImage, random *rand.Rand) *placer {
	racks := make(map[int32]string, len(brokers))
	rackMode := false
	for _, broker := range brokers {
		racks[broker.ID] = broker.Rack
		rackMode = rackMode || broker.Rack != ""
	}
	ids := make([]int32, 0, len(brokers))
	for _, broker := range brokers {
		ids = append(ids, broker.ID)
	}
	if rackMode {
		ids = alternateRacks(ids, racks)
	}
	current := &placer{brokers: ids, racks: racks, rackMode: rackMode}
	if len(ids) > 0 {
		current.start = random.IntN(len(ids))
		current.shift = random.IntN(len(ids))
	}
	return current
}

// alternateRacks orders brokers rack by rack: the first of each rack, then the second of each, ...
func alternateRacks(ids []int32, racks map[int32]string) []int32 {
	var rackOrder []string
	byRack := map[string][]int32{}
	for _, id := range ids {
		rack := racks[id]
		if _, seen := byRack[rack]; !seen {
			rackOrder = append(rackOrder, rack)
		}
		byRack[rack] = append(byRack[rack], id)
	}
	slices.Sort(rackOrder)
	alternated := make([]int32, 0, len(ids))
	for round := 0; len(alternated) < len(ids); round++ {
		for _, rack := range rackOrder {
			if round < len(byRack[rack]) {
				alternated = append(alternated, byRack[rack][round])
			}
		}
	}
	return alternated
}

// assign returns replicas for partition (counted from the first new one).
func (current *placer) assign(partition int, replicationFactor int) []int32 {
	count := len(current.brokers)
	if partition > 0 && partition%count == 0 {
		current.shift++
	}
	first := (partition + current.start) % count
	replicas := []int32{current.brokers[first]}
	for replica := 1; replica < replicationFactor; replica++ {
		offset := 1 + (current.shift+replica-1)%(count-1)
		replicas = append(replicas, current.pick(replicas, (first+offset)%count))
	}
	return replicas
}

// pick returns the broker at candidate, or the next one (cyclically) that
// is unused and, in rack mode, on an unused rack when one remains.
func (current *placer) pick(chosen []int32, candidate int) int32 {
	count := len(current.brokers)
	usedRacks := map[string]bool{}
	for _, id := range chosen {
		usedRacks[current.racks[id]] = true
	}
	fallback := int32(-1)
	for step := 0; step < count; step++ {
		id := current.brokers[(candidate+step)%count]
		if slices.Contains(chosen, id) {
			continue
		}
		if !current.rackMode || !usedRacks[current.racks[id]] {
			return id
		}
		if fallback < 0 {
			fallback = id
		}
	}
	return fallback
}
