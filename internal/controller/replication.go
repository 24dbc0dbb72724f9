package controller

import (
	"slices"

	"samsa/internal/metadata"
)

// This file plans partition changes when a broker leaves (fencing,
// re-registration, controlled shutdown) or returns (unfencing). The plans
// are pure functions of an image; callers propose them with the broker's
// own record in one batch.

// partitionChange returns the record moving partition to leader and isr,
// or nil when neither changes.
func partitionChange(topic *metadata.TopicImage, partition *metadata.PartitionImage, leader int32, isr []int32) metadata.Record {
	change := metadata.PartitionChange{TopicID: topic.ID, Partition: partition.Partition}
	changed := false
	if leader != partition.Leader {
		change.Leader = &leader
		changed = true
	}
	if !slices.Equal(isr, partition.ISR) {
		change.ISR = slices.Clone(isr)
		changed = true
	}
	if !changed {
		return nil
	}
	return change
}

// without returns ids minus id (a new slice).
func without(ids []int32, id int32) []int32 {
	kept := make([]int32, 0, len(ids))
	for _, current := range ids {
		if current != id {
			kept = append(kept, current)
		}
	}
	return kept
}

// firstUsable returns the first replica (in replica order) that is in
// candidates, is not excluded and is usable in image; -1 if none.
func firstUsable(image *metadata.Image, replicas, candidates []int32, excluded int32) int32 {
	for _, replica := range replicas {
		if replica != excluded && slices.Contains(candidates, replica) && image.IsUsable(replica) {
			return replica
		}
	}
	return -1
}

// uncleanCache answers unclean.leader.election.enable per topic.
type uncleanCache struct {
	controller *Controller
	image      *metadata.Image
	answers    map[metadata.UUID]bool
}

func (c *Controller) newUncleanCache(image *metadata.Image) *uncleanCache {
	return &uncleanCache{controller: c, image: image, answers: map[metadata.UUID]bool{}}
}

func (cache *uncleanCache) enabled(topic *metadata.TopicImage) bool {
	if answer, ok := cache.answers[topic.ID]; ok {
		return answer
	}
	resolved, err := cache.controller.brokerConfig(cache.image).ResolveTopic(topic.Configs)
	answer := err == nil && resolved.UncleanLeaderElection
	cache.answers[topic.ID] = answer
	return answer
}

// leaveRecords plans broker id leaving leaderships and ISRs. A partition it
// leads moves to the first usable ISR member; when there is none, offline
// (fencing) sets the leader to -1 keeping the ISR, or elects any usable
// replica when unclean election is enabled, while !offline (controlled
// shutdown) leaves it leading. id leaves every other ISR unless it is the
// last member.
func (c *Controller) leaveRecords(image *metadata.Image, id int32, offline bool) []metadata.Record {
	var records []metadata.Record
	unclean := c.newUncleanCache(image)
	for _, name := range image.TopicNames() {
		topic := image.Topics[name]
		for index := range topic.Partitions {
			partition := &topic.Partitions[index]
			if record := leavePartition(image, unclean, topic, partition, id, offline); record != nil {
				records = append(records, record)
			}
		}
	}
	return records
}

func leavePartition(image *metadata.Image, unclean *uncleanCache, topic *metadata.TopicImage, partition *metadata.PartitionImage, id int32, offline bool) metadata.Record {
	shrunk := without(partition.ISR, id)
	if partition.Leader != id {
		if len(shrunk) == len(partition.ISR) || len(shrunk) == 0 {
			return nil
		}
		return partitionChange(topic, partition, partition.Leader, shrunk)
	}
	if next := firstUsable(image, partition.Replicas, shrunk, id); next >= 0 {
		return partitionChange(topic, partition, next, shrunk)
	}
	if !offline {
		return nil
	}
	if unclean.enabled(topic) {
		if next := firstUsable(image, partition.Replicas, partition.Replicas, id); next >= 0 {
			return partitionChange(topic, partition, next, []int32{next})
		}
	}
	return partitionChange(topic, partition, -1, partition.ISR)
}

// returnRecords plans broker id becoming usable again: every offline
// partition whose ISR holds id (or, with unclean election, any offline
// partition it replicates) gets id as leader.
func (c *Controller) returnRecords(image *metadata.Image, id int32) []metadata.Record {
	var records []metadata.Record
	unclean := c.newUncleanCache(image)
	for _, name := range image.TopicNames() {
		topic := image.Topics[name]
		for index := range topic.Partitions {
			partition := &topic.Partitions[index]
			if partition.Leader >= 0 || !slices.Contains(partition.Replicas, id) {
				continue
			}
			isr := partition.ISR
			if !slices.Contains(isr, id) {
				if !unclean.enabled(topic) {
					continue
				}
				isr = []int32{id}
			}
			if record := partitionChange(topic, partition, id, isr); record != nil {
				records = append(records, record)
			}
		}
	}
	return records
}

// leadsMovable reports whether id leads a partition that another usable
// ISR member could lead.
func leadsMovable(image *metadata.Image, id int32) bool {
	for _, topic := range image.Topics {
		for index := range topic.Partitions {
			partition := &topic.Partitions[index]
			if partition.Leader == id && firstUsable(image, partition.Replicas, partition.ISR, id) >= 0 {
				return true
			}
		}
	}
	return false
}
