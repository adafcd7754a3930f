//go:build production

package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/digakit/digakit/refserver/internal/config"
)

// sandboxPeers is never non-nil in a production build.
type sandboxPeers = interface {
	Names() []string
	Close() error
}

func startSandbox(context.Context, *slog.Logger) (sandboxPeers, error) {
	return nil, errors.New("not available in this build")
}

func checkSandboxAllowed(c *config.Config) error {
	if c.File == "" || c.SandboxEnabled() {
		return errors.New("the sandbox is not available in this build: give a configuration file with real peers and \"sandbox\": false")
	}
	return nil
}

// sandboxKasse is unreachable in a production build (no sandbox).
func sandboxKasse(sandboxPeers) (*kassePeers, error) {
	return nil, errors.New("not available in this build")
}
