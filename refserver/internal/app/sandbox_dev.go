//go:build !production

package app

import (
	"context"
	"log/slog"

	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/sandbox"
)

type sandboxPeers = *sandbox.Sandbox

func startSandbox(ctx context.Context, log *slog.Logger) (*sandbox.Sandbox, error) {
	return sandbox.Start(ctx, sandbox.Options{Logger: log.With("component", "sandbox")})
}

func checkSandboxAllowed(*config.Config) error { return nil }
