package metadata

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// MaxSnapshotBytes bounds a snapshot read by ReadImage.
const MaxSnapshotBytes = 1 << 30

// snapshotVersion is the encoding version of image snapshots.
const snapshotVersion = 1

type snapshotForm struct {
	Version        int
	ClusterID      string
	Brokers        []*BrokerImage
	Topics         []*TopicImage
	BrokerConfigs  map[string]map[string]string
	NextProducerID int64
	AppliedIndex   uint64
}

// WriteTo writes the image as a snapshot.
func (image *Image) WriteTo(writer io.Writer) (int64, error) {
	form := snapshotForm{
		Version: snapshotVersion, ClusterID: image.ClusterID, BrokerConfigs: image.BrokerConfigs,
		NextProducerID: image.NextProducerID, AppliedIndex: image.AppliedIndex,
	}
	for _, id := range image.BrokerIDs() {
		form.Brokers = append(form.Brokers, image.Brokers[id])
	}
	for _, name := range image.TopicNames() {
		form.Topics = append(form.Topics, image.Topics[name])
	}
	data, err := json.Marshal(form)
	if err != nil {
		return 0, err
	}
	written, err := writer.Write(data)
	return int64(written), err
}

// ReadImage reads a snapshot written by WriteTo.
func ReadImage(reader io.Reader) (*Image, error) {
	data, err := io.ReadAll(io.LimitReader(reader, MaxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(data) > MaxSnapshotBytes {
		return nil, fmt.Errorf("%w: snapshot larger than %d bytes", ErrBadRecord, MaxSnapshotBytes)
	}
	var form snapshotForm
	if err := json.Unmarshal(data, &form); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrBadRecord, err)
	}
	if form.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d", ErrBadRecord, form.Version)
	}
	image := Empty()
	image.ClusterID, image.NextProducerID, image.AppliedIndex = form.ClusterID, form.NextProducerID, form.AppliedIndex
	if form.BrokerConfigs != nil {
		image.BrokerConfigs = form.BrokerConfigs
	}
	for _, broker := range form.Brokers {
		if broker == nil {
			return nil, fmt.Errorf("%w: snapshot has a null broker", ErrBadRecord)
		}
		image.Brokers[broker.ID] = broker
	}
	for _, topic := range form.Topics {
		if topic == nil || topic.ID.IsZero() || image.Topics[topic.Name] != nil || image.TopicsByID[topic.ID] != nil {
			return nil, fmt.Errorf("%w: snapshot has a bad or repeated topic", ErrBadRecord)
		}
		if topic.Configs == nil {
			topic.Configs = map[string]string{}
		}
		image.Topics[topic.Name] = topic
		image.TopicsByID[topic.ID] = topic
	}
	return image, nil
}

// imageSnapshot adapts an Image to raft.FSMSnapshot.
type imageSnapshot struct{ image *Image }

// Snapshot returns a raft.FSMSnapshot of the image; the image is immutable
// so Persist may run concurrently with further applies.
func (image *Image) Snapshot() raft.FSMSnapshot {
	return imageSnapshot{image: image}
}

// Persist writes the snapshot to sink and closes it.
func (snapshot imageSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := snapshot.image.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist metadata snapshot: %w", err)
	}
	return sink.Close()
}

// Release does nothing: the image is garbage collected.
func (imageSnapshot) Release() {}
