package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

// TestReassignmentFields: a PartitionChange sets adding and removing
// replicas (surviving the JSON encoding and a snapshot), nil keeps them and
// an empty list clears them.
func TestReassignmentFields(t *testing.T) {
	topicID := NewUUID()
	start := []Record{
		TopicRecord{Name: "moving", ID: topicID},
		PartitionRecord{TopicID: topicID, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
		PartitionChange{TopicID: topicID, Partition: 0, Replicas: []int32{2, 1}, AddingReplicas: []int32{2}, RemovingReplicas: []int32{1}},
	}
	image := applyEncoded(t, Empty(), 1, start)
	want := PartitionImage{Partition: 0, Replicas: []int32{2, 1}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 1, AddingReplicas: []int32{2}, RemovingReplicas: []int32{1}}
	if got := image.Topics["moving"].Partitions[0]; !reflect.DeepEqual(got, want) || !got.Reassigning() {
		t.Fatalf("after start: %+v", got)
	}
	var buffer bytes.Buffer
	if _, err := image.WriteTo(&buffer); err != nil {
		t.Fatal(err)
	}
	restored, err := ReadImage(&buffer)
	if err != nil || !reflect.DeepEqual(restored, image) {
		t.Fatalf("snapshot: %v\n%+v\n%+v", err, restored, image)
	}
	image = applyEncoded(t, image, 2, []Record{PartitionChange{TopicID: topicID, Partition: 0, ISR: []int32{1, 2}}})
	if got := image.Topics["moving"].Partitions[0]; !reflect.DeepEqual(got.AddingReplicas, []int32{2}) || !reflect.DeepEqual(got.RemovingReplicas, []int32{1}) {
		t.Fatalf("nil lists must keep the reassignment: %+v", got)
	}
	two := int32(2)
	image = applyEncoded(t, image, 3, []Record{PartitionChange{TopicID: topicID, Partition: 0, Leader: &two, ISR: []int32{2}, Replicas: []int32{2}, AddingReplicas: []int32{}, RemovingReplicas: []int32{}}})
	want = PartitionImage{Partition: 0, Replicas: []int32{2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 3}
	if got := image.Topics["moving"].Partitions[0]; !reflect.DeepEqual(got, want) || got.Reassigning() {
		t.Fatalf("after completion: %+v", got)
	}
}

func applyEncoded(t *testing.T, image *Image, index uint64, records []Record) *Image {
	t.Helper()
	encoded, err := EncodeBatch(records)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := DecodeBatch(encoded)
	if err != nil {
		t.Fatal(err)
	}
	next, err := image.Apply(index, decoded)
	if err != nil {
		t.Fatal(err)
	}
	return next
}
