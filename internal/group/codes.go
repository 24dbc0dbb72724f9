package group

// Kafka error codes this package answers with (the numbers of
// github.com/twmb/franz-go/pkg/kerr; constants so they can be switched on).
const (
	codeNone                      int16 = 0
	codeUnknownServerError        int16 = -1
	codeUnknownTopicOrPartition   int16 = 3
	codeOffsetMetadataTooLarge    int16 = 12
	codeCoordinatorNotAvailable   int16 = 15
	codeNotCoordinator            int16 = 16
	codeIllegalGeneration         int16 = 22
	codeInconsistentGroupProtocol int16 = 23
	codeInvalidGroupID            int16 = 24
	codeUnknownMemberID           int16 = 25
	codeInvalidSessionTimeout     int16 = 26
	codeRebalanceInProgress       int16 = 27
	codeInvalidRequest            int16 = 42
	codeNonEmptyGroup             int16 = 68
	codeGroupIDNotFound           int16 = 69
	codeMemberIDRequired          int16 = 79
	codeGroupMaxSizeReached       int16 = 81
	codeFencedInstanceID          int16 = 82
	codeGroupSubscribedToTopic    int16 = 86
)

// groupAuthorizedOperations is the bit set of ACL operations on a group
// (READ 3, DELETE 6, DESCRIBE 8) reported when no authorizer is configured.
const groupAuthorizedOperations int32 = 1<<3 | 1<<6 | 1<<8
