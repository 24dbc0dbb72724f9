package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func stringPointer(value string) *string { return &value }

func sampleRecords(topicID UUID) []Record {
	leader := int32(2)
	return []Record{
		ClusterIDRecord{ClusterID: "cluster-1"},
		RegisterBroker{ID: 1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092}}, Rack: "a", IncarnationID: NewUUID()},
		RegisterBroker{ID: 2, Fenced: true},
		UnfenceBroker{ID: 2},
		TopicRecord{Name: "orders", ID: topicID},
		ConfigRecord{ResourceType: ResourceTopic, Name: "orders", Key: "retention.ms", Value: stringPointer("100")},
		PartitionRecord{TopicID: topicID, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		PartitionRecord{TopicID: topicID, Partition: 1, Replicas: []int32{2, 1}, ISR: []int32{2, 1}, Leader: 2},
		PartitionChange{TopicID: topicID, Partition: 0, Leader: &leader, ISR: []int32{2}},
		ConfigRecord{ResourceType: ResourceBroker, Name: "", Key: "message.max.bytes", Value: stringPointer("5")},
		ProducerIDsBlock{BrokerID: 1, NextProducerID: 1000},
	}
}

func TestApplyAndCopyOnWrite(t *testing.T) {
	topicID := NewUUID()
	encoded, err := EncodeBatch(sampleRecords(topicID))
	if err != nil {
		t.Fatal(err)
	}
	records, err := DecodeBatch(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 11 {
		t.Fatalf("%d records", len(records))
	}
	empty := Empty()
	image, err := empty.Apply(7, records)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Topics) != 0 || len(empty.Brokers) != 0 {
		t.Fatal("apply modified the previous image")
	}
	topic, ok := image.Topic("orders")
	if !ok || topic.ID != topicID || image.TopicsByID[topicID] != topic {
		t.Fatalf("topic = %+v", topic)
	}
	wantPartition := PartitionImage{Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1}
	if !reflect.DeepEqual(topic.Partitions[0], wantPartition) || len(topic.Partitions) != 2 {
		t.Fatalf("partition 0 = %+v", topic.Partitions[0])
	}
	if topic.Configs["retention.ms"] != "100" || image.BrokerConfigs[""]["message.max.bytes"] != "5" {
		t.Fatalf("configs %v %v", topic.Configs, image.BrokerConfigs)
	}
	if image.Brokers[2].Fenced || image.Brokers[1].Epoch != 7 || image.NextProducerID != 1000 || image.ClusterID != "cluster-1" || image.AppliedIndex != 7 {
		t.Fatalf("image = %+v", image)
	}
	later, err := image.Apply(8, []Record{
		PartitionChange{TopicID: topicID, Partition: 1, ISR: []int32{2}},
		ConfigRecord{ResourceType: ResourceTopic, Name: "orders", Key: "retention.ms"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(image.Topics["orders"].Partitions[1].ISR) != 2 || image.Topics["orders"].Configs["retention.ms"] != "100" {
		t.Fatal("change leaked into the previous image")
	}
	if _, ok := later.Topics["orders"].Configs["retention.ms"]; ok || later.Topics["orders"].Partitions[1].PartitionEpoch != 1 {
		t.Fatalf("later = %+v", later.Topics["orders"])
	}
	removed, err := later.Apply(9, []Record{RemoveTopic{ID: topicID}})
	if err != nil || len(removed.Topics) != 0 || len(removed.TopicsByID) != 0 || len(later.Topics) != 1 {
		t.Fatalf("remove: %v", err)
	}
}

func TestApplyRejectsAtomically(t *testing.T) {
	topicID := NewUUID()
	image, err := Empty().Apply(1, []Record{TopicRecord{Name: "a", ID: topicID}})
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]Record{
		{TopicRecord{Name: "b", ID: NewUUID()}, TopicRecord{Name: "a", ID: NewUUID()}},
		{TopicRecord{Name: "c", ID: UUID{}}},
		{PartitionRecord{TopicID: topicID, Partition: 3}},
		{PartitionChange{TopicID: topicID, Partition: 0}},
		{FenceBroker{ID: 9}},
		{ConfigRecord{ResourceType: 99}},
		{ProducerIDsBlock{NextProducerID: -1}},
	}
	for _, records := range bad {
		if _, err := image.Apply(2, records); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("%v: err = %v", records, err)
		}
	}
	if len(image.Topics) != 1 {
		t.Fatal("rejected batch changed the image")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	image, err := Empty().Apply(11, sampleRecords(NewUUID()))
	if err != nil {
		t.Fatal(err)
	}
	var buffer bytes.Buffer
	if _, err := image.WriteTo(&buffer); err != nil {
		t.Fatal(err)
	}
	restored, err := ReadImage(&buffer)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored, image) {
		t.Fatalf("restored %+v\nwant %+v", restored, image)
	}
	if _, err := ReadImage(bytes.NewReader([]byte(`{"Version":2}`))); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("bad version: %v", err)
	}
}

func TestUUID(t *testing.T) {
	id := NewUUID()
	parsed, err := ParseUUID(id.String())
	if err != nil || parsed != id || id.IsZero() {
		t.Fatalf("parse %s: %v %v", id, parsed, err)
	}
	for _, text := range []string{"", "short", "!!!!!!!!!!!!!!!!!!!!!!", "AAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := ParseUUID(text); !errors.Is(err, ErrInvalidUUID) {
			t.Fatalf("%q: %v", text, err)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	encoded, _ := EncodeBatch(sampleRecords(NewUUID()))
	f.Add(encoded)
	f.Add([]byte(`[{"type":"Topic","version":1,"data":{"ID":"x"}}]`))
	f.Add([]byte(`[{"type":"Nope","version":1,"data":{}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, err := DecodeBatch(data)
		if err != nil {
			return
		}
		_, _ = Empty().Apply(1, records)
	})
}

func TestControlledShutdownRecord(t *testing.T) {
	encoded, err := EncodeBatch([]Record{RegisterBroker{ID: 1}, RegisterBroker{ID: 2, Fenced: true}, RegisterBroker{ID: 3}, BrokerControlledShutdown{ID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	records, err := DecodeBatch(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if records[3] != (BrokerControlledShutdown{ID: 1}) {
		t.Fatalf("decoded %#v", records[3])
	}
	image, err := Empty().Apply(5, records)
	if err != nil {
		t.Fatal(err)
	}
	if image.IsUsable(1) || image.IsUsable(2) || !image.IsUsable(3) || image.IsUsable(4) || len(image.UnfencedBrokers()) != 2 {
		t.Fatalf("usable: %v %v %v", image.IsUsable(1), image.IsUsable(2), image.IsUsable(3))
	}
	if usable := image.UsableBrokers(); len(usable) != 1 || usable[0].ID != 3 {
		t.Fatalf("usable brokers %+v", usable)
	}
	var buffer bytes.Buffer
	if _, err := image.WriteTo(&buffer); err != nil {
		t.Fatal(err)
	}
	restored, err := ReadImage(&buffer)
	if err != nil || !restored.Brokers[1].InControlledShutdown {
		t.Fatalf("snapshot lost the controlled shutdown: %v", err)
	}
	unfenced, err := image.Apply(6, []Record{FenceBroker{ID: 1}, UnfenceBroker{ID: 1}})
	if err != nil || !unfenced.IsUsable(1) || unfenced.Brokers[1].InControlledShutdown || !image.Brokers[1].InControlledShutdown {
		t.Fatalf("unfence after shutdown: %+v %v", unfenced.Brokers[1], err)
	}
	if _, err := image.Apply(7, []Record{BrokerControlledShutdown{ID: 9}}); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("shutdown of an unknown broker: %v", err)
	}
}
