package controller

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogWriter forwards hclog's text lines to slog, mapping the level tag.
type slogWriter struct{ logger *slog.Logger }

func (writer slogWriter) Write(line []byte) (int, error) {
	level := slog.LevelInfo
	switch {
	case bytes.Contains(line, []byte("[ERROR]")):
		level = slog.LevelError
	case bytes.Contains(line, []byte("[WARN]")):
		level = slog.LevelWarn
	case bytes.Contains(line, []byte("[DEBUG]")), bytes.Contains(line, []byte("[TRACE]")):
		level = slog.LevelDebug
	}
	writer.logger.Log(context.Background(), level, "raft", "message", string(bytes.TrimSpace(line)))
	return len(line), nil
}

// newHCLogger returns an hclog logger that writes warnings and errors to logger.
func newHCLogger(logger *slog.Logger, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           hclog.Warn,
		Output:          slogWriter{logger: logger},
		DisableTime:     true,
		IncludeLocation: false,
	})
}
