package actors

import (
	"context"
	"log/slog"
)

// protoactorMinLevel is the least severe protoactor log record that reaches
// our log. Below it protoactor reports routine events (dead letters of input
// racing a closing connection, supervision steps) that our own actors already
// log once, with their context.
const protoactorMinLevel = slog.LevelWarn

// minLevelHandler drops records below a level, whatever the handler under it
// accepts.
type minLevelHandler struct {
	min slog.Level
	slog.Handler
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{h.min, h.Handler.WithAttrs(attrs)}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{h.min, h.Handler.WithGroup(name)}
}

// protoactorLogger routes protoactor's logs into logger, quieter.
func protoactorLogger(logger *slog.Logger) *slog.Logger {
	return slog.New(minLevelHandler{protoactorMinLevel, logger.Handler()}).With("lib", "protoactor")
}
