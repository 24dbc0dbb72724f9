package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"samsa/internal/controller"
	"samsa/internal/log"
	"samsa/internal/partition"
)

// TestErrorCodeStorage: disk trouble reaches the client as
// KAFKA_STORAGE_ERROR (56); the cases after the controller's table are
// reachable.
func TestErrorCodeStorage(t *testing.T) {
	full := fmt.Errorf("log: append to x: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	for _, c := range []struct {
		name string
		err  error
		want int16
	}{
		{"disk full", full, 56},
		{"quota", &fs.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, 56},
		{"offline log", fmt.Errorf("%w: %w", log.ErrOffline, syscall.EIO), 56},
		{"offline directory", partition.ErrLogDirOffline, 56},
		{"closed log", fmt.Errorf("read: %w", log.ErrClosed), kerr.NotLeaderForPartition.Code},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), kerr.RequestTimedOut.Code},
		{"controller", controller.ErrInvalidRequest, kerr.InvalidRequest.Code},
		{"unknown", errors.New("something else"), kerr.UnknownServerError.Code},
	} {
		if got := errorCode(c.err); got != c.want {
			t.Errorf("%s: code %d, want %d", c.name, got, c.want)
		}
	}
}
