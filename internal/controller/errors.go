package controller

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Errors of the cluster-management calls (BrokerHeartbeat, AlterPartition,
// ElectLeaders). KafkaError maps each to its Kafka error code.
var (
	// ErrBrokerNotRegistered: the broker id has no registration.
	ErrBrokerNotRegistered = errors.New("broker is not registered")
	// ErrStaleBrokerEpoch: the request carries an epoch other than the
	// broker's latest registration.
	ErrStaleBrokerEpoch = errors.New("stale broker epoch")
	// ErrNotLeader: AlterPartition from a broker that does not lead the partition.
	ErrNotLeader = errors.New("broker is not the partition leader")
	// ErrFencedLeaderEpoch: AlterPartition with an old leader epoch.
	ErrFencedLeaderEpoch = errors.New("fenced leader epoch")
	// ErrInvalidUpdateVersion: AlterPartition with a partition epoch other than the current one.
	ErrInvalidUpdateVersion = errors.New("partition epoch mismatch")
	// ErrIneligibleReplica: the new ISR holds a broker that is not a replica,
	// not registered, fenced, or (when added) in controlled shutdown.
	ErrIneligibleReplica = errors.New("ineligible replica in the new ISR")
	// ErrUnknownTopicOrPartition: no such topic id or partition.
	ErrUnknownTopicOrPartition = errors.New("unknown topic or partition")
	// ErrElectionNotNeeded: the partition already has the leader an election would pick.
	ErrElectionNotNeeded = errors.New("leader election not needed")
	// ErrPreferredLeaderNotAvailable: the first replica is not in the ISR or not usable.
	ErrPreferredLeaderNotAvailable = errors.New("preferred leader not available")
	// ErrEligibleLeadersNotAvailable: no replica can become leader.
	ErrEligibleLeadersNotAvailable = errors.New("no eligible leader available")
	// ErrInvalidReplicaAssignment: a reassignment target that is empty,
	// names a broker twice, or names an unregistered or fenced broker.
	ErrInvalidReplicaAssignment = errors.New("invalid replica assignment")
	// ErrNoReassignmentInProgress: a cancellation for a partition that is
	// not being reassigned.
	ErrNoReassignmentInProgress = errors.New("no partition reassignment in progress")
	// ErrReplicationFactorChange: a reassignment whose target has another
	// size than the partition's replica set, sent with
	// AllowReplicationFactorChange=false (KIP-860).
	ErrReplicationFactorChange = errors.New("replication factor change not allowed")
)

// KafkaError maps an error of this package to its Kafka error (nil for nil).
func KafkaError(err error) *kerr.Error {
	table := []struct {
		sentinel error
		code     *kerr.Error
	}{
		{ErrNotController, kerr.NotController},
		{ErrBrokerNotRegistered, kerr.BrokerIDNotRegistered},
		{ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
		{ErrNotLeader, kerr.NotLeaderForPartition},
		{ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
		{ErrInvalidUpdateVersion, kerr.InvalidUpdateVersion},
		{ErrIneligibleReplica, kerr.IneligibleReplica},
		{ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition},
		{ErrElectionNotNeeded, kerr.ElectionNotNeeded},
		{ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
		{ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
		{ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
		{ErrReplicationFactorChange, kerr.InvalidReplicationFactor},
		{ErrNoReassignmentInProgress, kerr.NoReassignmentInProgress},
		{ErrInvalidRequest, kerr.InvalidRequest},
	}
	if err == nil {
		return nil
	}
	for _, entry := range table {
		if errors.Is(err, entry.sentinel) {
			return entry.code
		}
	}
	return kerr.UnknownServerError
}
