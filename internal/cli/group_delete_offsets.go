package cli

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrPartitionFailures is wrapped when some partitions of a request failed.
var ErrPartitionFailures = errors.New("some partitions failed")

func runGroupDeleteOffsets(e *env, args []string) error {
	fs := newFlagSet(e, "group delete-offsets", "group delete-offsets --group G --topic T[:P,P...]...")
	group := fs.String("group", "", "consumer group (required)")
	var topics stringList
	fs.Var(&topics, "topic", "topic `T` or T:P,P,... whose committed offsets to delete (repeatable, required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := requireFlag("group", *group); err != nil {
		return err
	}
	if len(topics) == 0 {
		return fmt.Errorf("%w: --topic is required", ErrUsage)
	}
	specs, err := parseTopicPartitions(topics)
	if err != nil {
		return err
	}
	admin, closeAdmin, err := fs.admin()
	if err != nil {
		return err
	}
	defer closeAdmin()
	ctx, cancel := withAdminTimeout(e)
	defer cancel()
	scope, err := resolvePartitions(ctx, admin, specs)
	if err != nil {
		return err
	}
	responses, err := admin.DeleteOffsets(ctx, *group, scope)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return groupNotFound(*group)
	}
	if err != nil {
		return fmt.Errorf("deleting offsets of %s: %w", *group, err)
	}
	failed := 0
	t := newTable(e.stdout)
	t.row("TOPIC", "PARTITION", "STATUS")
	for _, tp := range setPartitions(scope) {
		status := "Successful"
		partitionErr, ok := responses[tp.topic][tp.partition]
		if !ok {
			partitionErr = errors.New("no response from the coordinator")
		}
		if partitionErr != nil {
			failed++
			status = "Error: " + partitionErr.Error()
		}
		t.row(tp.topic, fmt.Sprint(tp.partition), status)
	}
	t.flush()
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d offsets could not be deleted", ErrPartitionFailures, failed, len(setPartitions(scope)))
	}
	return nil
}
