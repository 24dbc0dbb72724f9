package handlers

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/controller"
	"samsa/internal/log"
	"samsa/internal/partition"
	"samsa/internal/producerstate"
	"samsa/internal/record"
)

// errorCode maps an internal error to its Kafka error code. This is the one
// place where sentinel errors become wire codes.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, record.ErrTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, record.ErrCorrupt), errors.Is(err, record.ErrShort):
		return kerr.CorruptMessage.Code
	case errors.Is(err, partition.ErrUnsupportedCodec):
		return kerr.UnsupportedCompressionType.Code
	case errors.Is(err, record.ErrInvalid), errors.Is(err, partition.ErrKeyRequired), errors.Is(err, partition.ErrControlBatch):
		return kerr.InvalidRecord.Code
	case errors.Is(err, partition.ErrInvalidTimestamp):
		return kerr.InvalidTimestamp.Code
	case errors.Is(err, partition.ErrTransactionalBatch):
		return kerr.InvalidTxnState.Code
	case errors.Is(err, partition.ErrNotEnoughReplicas):
		return kerr.NotEnoughReplicas.Code
	case errors.Is(err, partition.ErrNotEnoughReplicasAfterAppend):
		return kerr.NotEnoughReplicasAfterAppend.Code
	case errors.Is(err, partition.ErrNotLeader), errors.Is(err, partition.ErrNotFollower):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, partition.ErrUnknownPartition):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, partition.ErrFencedLeaderEpoch):
		return kerr.FencedLeaderEpoch.Code
	case errors.Is(err, partition.ErrUnknownLeaderEpoch):
		return kerr.UnknownLeaderEpoch.Code
	case errors.Is(err, log.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, producerstate.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, producerstate.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, log.ErrOffline), log.IsDiskFull(err):
		// A failed log directory, or a full disk (the append was undone).
		return kerr.KafkaStorageError.Code
	case controller.KafkaError(err) != kerr.UnknownServerError:
		return controller.KafkaError(err).Code
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	case errors.Is(err, log.ErrClosed):
		return kerr.NotLeaderForPartition.Code
	}
	return kerr.UnknownServerError.Code
}
