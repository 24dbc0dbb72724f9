package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBadRecord is wrapped by every error decoding or applying records.
var ErrBadRecord = errors.New("bad metadata record")

// MaxBatchBytes bounds one encoded batch of records.
const MaxBatchBytes = 64 << 20

// Resource types of ConfigRecord, as in Kafka's protocol.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

// Record is one metadata change. Each concrete type has a stable type tag.
type Record interface {
	recordType() string
}

// Endpoint is one advertised listener of a broker.
type Endpoint struct {
	Listener         string
	Host             string
	Port             int32
	SecurityProtocol int16
}

// ClusterIDRecord sets the cluster id (written once, first).
type ClusterIDRecord struct{ ClusterID string }

// RegisterBroker registers (or re-registers) a broker.
type RegisterBroker struct {
	ID            int32
	Endpoints     []Endpoint
	Rack          string
	IncarnationID UUID
	Fenced        bool
}

// FenceBroker marks a broker fenced: it leads nothing and gets no new replicas.
type FenceBroker struct{ ID int32 }

// UnfenceBroker marks a broker unfenced (and ends any controlled shutdown).
type UnfenceBroker struct{ ID int32 }

// BrokerControlledShutdown marks a broker as shutting down: it stays
// registered but may not become a leader or join an ISR.
type BrokerControlledShutdown struct{ ID int32 }

// TopicRecord creates a topic; its partitions follow as PartitionRecords.
type TopicRecord struct {
	Name string
	ID   UUID
}

// PartitionRecord creates a partition (or replaces it wholesale).
type PartitionRecord struct {
	TopicID        UUID
	Partition      int32
	Replicas       []int32
	ISR            []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// AddingReplicas and RemovingReplicas: see PartitionImage.
	AddingReplicas   []int32 `json:",omitempty"`
	RemovingReplicas []int32 `json:",omitempty"`
}

// PartitionChange changes some fields of a partition; nil fields are kept.
// A leader change bumps the leader epoch; any change bumps the partition epoch.
// AddingReplicas and RemovingReplicas follow the same rule: nil keeps them,
// an empty (non-nil) slice clears them, which the JSON encoding preserves
// ([] versus null).
type PartitionChange struct {
	TopicID          UUID
	Partition        int32
	Leader           *int32
	ISR              []int32 // nil = unchanged
	Replicas         []int32 // nil = unchanged
	AddingReplicas   []int32 // nil = unchanged, empty = none
	RemovingReplicas []int32 // nil = unchanged, empty = none
}

// RemoveTopic deletes a topic and its configs.
type RemoveTopic struct{ ID UUID }

// ConfigRecord sets (Value non-nil) or deletes (Value nil) one config of a
// topic (by name) or broker (Name "" = cluster default, else broker id).
type ConfigRecord struct {
	ResourceType int8
	Name         string
	Key          string
	Value        *string
}

// ProducerIDsBlock records that producer ids below NextProducerID are
// allocated (the last block went to BrokerID).
type ProducerIDsBlock struct {
	BrokerID       int32
	NextProducerID int64
}

func (ClusterIDRecord) recordType() string { return "ClusterID" }
func (RegisterBroker) recordType() string  { return "RegisterBroker" }
func (FenceBroker) recordType() string     { return "FenceBroker" }
func (UnfenceBroker) recordType() string   { return "UnfenceBroker" }
func (BrokerControlledShutdown) recordType() string {
	return "BrokerControlledShutdown"
}
func (TopicRecord) recordType() string      { return "Topic" }
func (PartitionRecord) recordType() string  { return "Partition" }
func (PartitionChange) recordType() string  { return "PartitionChange" }
func (RemoveTopic) recordType() string      { return "RemoveTopic" }
func (ConfigRecord) recordType() string     { return "Config" }
func (ProducerIDsBlock) recordType() string { return "ProducerIDsBlock" }

// recordVersion is the encoding version of every record type.
const recordVersion = 1

var recordFactories = map[string]func() Record{
	"ClusterID":                func() Record { return &ClusterIDRecord{} },
	"RegisterBroker":           func() Record { return &RegisterBroker{} },
	"FenceBroker":              func() Record { return &FenceBroker{} },
	"UnfenceBroker":            func() Record { return &UnfenceBroker{} },
	"BrokerControlledShutdown": func() Record { return &BrokerControlledShutdown{} },
	"Topic":                    func() Record { return &TopicRecord{} },
	"Partition":                func() Record { return &PartitionRecord{} },
	"PartitionChange":          func() Record { return &PartitionChange{} },
	"RemoveTopic":              func() Record { return &RemoveTopic{} },
	"Config":                   func() Record { return &ConfigRecord{} },
	"ProducerIDsBlock":         func() Record { return &ProducerIDsBlock{} },
}

type envelope struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// EncodeBatch encodes records (values, not pointers) as one log entry.
func EncodeBatch(records []Record) ([]byte, error) {
	envelopes := make([]envelope, 0, len(records))
	for _, record := range records {
		data, err := json.Marshal(record)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
		}
		envelopes = append(envelopes, envelope{Type: record.recordType(), Version: recordVersion, Data: data})
	}
	return json.Marshal(envelopes)
}

// DecodeBatch decodes a log entry into records (values, not pointers).
func DecodeBatch(data []byte) ([]Record, error) {
	if len(data) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: batch of %d bytes", ErrBadRecord, len(data))
	}
	var envelopes []envelope
	if err := json.Unmarshal(data, &envelopes); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	records := make([]Record, 0, len(envelopes))
	for _, current := range envelopes {
		factory, ok := recordFactories[current.Type]
		if !ok || current.Version != recordVersion {
			return nil, fmt.Errorf("%w: type %q version %d", ErrBadRecord, current.Type, current.Version)
		}
		record := factory()
		if err := json.Unmarshal(current.Data, record); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadRecord, current.Type, err)
		}
		records = append(records, dereference(record))
	}
	return records, nil
}

// dereference turns the decoded pointer into the value type callers switch on.
func dereference(record Record) Record {
	switch typed := record.(type) {
	case *ClusterIDRecord:
		return *typed
	case *RegisterBroker:
		return *typed
	case *FenceBroker:
		return *typed
	case *UnfenceBroker:
		return *typed
	case *BrokerControlledShutdown:
		return *typed
	case *TopicRecord:
		return *typed
	case *PartitionRecord:
		return *typed
	case *PartitionChange:
		return *typed
	case *RemoveTopic:
		return *typed
	case *ConfigRecord:
		return *typed
	case *ProducerIDsBlock:
		return *typed
	}
	return record
}
