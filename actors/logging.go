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

// expectedNoise are the warnings and errors protoactor logs in the normal
// life of a cluster: a node that stops or dies breaks the other nodes'
// connections to it, and their transport says so, at ERROR, once or dozens
// of times, while the cluster has already told us who left (and we log
// that). An operator reads ERROR as something to fix; these are logged at
// INFO. Everything else protoactor logs at WARN or ERROR stays as it is.
var expectedNoise = map[string]bool{
	"EndpointWriter lost connection":                                  true,
	"EndpointWriter failed to connect":                                true,
	"EndpointWriter failed to create receive stream":                  true,
	"EndpointWriter failed to send connect request":                   true,
	"EndpointWriter failed to receive connect response":               true,
	"EndpointWriter error when closing the stream":                    true,
	"EndpointWriter error when closing the client conn":               true,
	"EndpointReader failed to send disconnection message":             true,
	"EndpointWatcher receive message for already terminated endpoint": true,
	"sendGossipForMember failed":                                      true,
}

// protoactorHandler passes protoactor's records at WARN and above, but for
// its expected noise, which it passes at INFO; the rest (routine events that
// our own actors already log once, with their context) it drops.
type protoactorHandler struct {
	slog.Handler
}

func (h protoactorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, min(l, slog.LevelInfo))
}

func (h protoactorHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case expectedNoise[r.Message]:
		r.Level = slog.LevelInfo
	case r.Level < protoactorMinLevel:
		return nil
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h protoactorHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return protoactorHandler{h.Handler.WithAttrs(attrs)}
}

func (h protoactorHandler) WithGroup(name string) slog.Handler {
	return protoactorHandler{h.Handler.WithGroup(name)}
}

// protoactorLogger routes protoactor's logs into logger, quieter.
func protoactorLogger(logger *slog.Logger) *slog.Logger {
	return slog.New(protoactorHandler{logger.Handler()}).With("lib", "protoactor")
}
