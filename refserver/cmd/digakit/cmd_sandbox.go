//go:build !production

package main

import (
	"context"
	"log/slog"

	"github.com/digakit/digakit/refserver/internal/sandbox"
)

func init() {
	register(command{name: "sandbox", summary: "run every fake peer on loopback and print their URLs as JSON", run: runSandbox})
}

// runSandbox starts the fakes, prints one JSON document on stdout, logs to
// stderr and runs until SIGINT or SIGTERM (refserver spec §3.11).
func runSandbox(ctx context.Context, e *env, args []string) int {
	fs := newFlags("sandbox")
	if pos, err := parseFlags(fs, args); err != nil || len(pos) > 0 {
		return e.fail(exitUsage, "sandbox: takes no arguments")
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	sb, err := sandbox.Start(ctx, sandbox.Options{Logger: log})
	if err != nil {
		return e.fail(exitUsage, "sandbox: %v", err)
	}
	if err := e.writeJSON(sb.Info()); err != nil {
		_ = sb.Close()
		return exitUsage
	}
	log.Info("sandbox running; stop with SIGINT or SIGTERM", "peers", sb.Names())
	<-ctx.Done()
	if err := sb.Close(); err != nil {
		return e.fail(exitUsage, "sandbox: close: %v", err)
	}
	return exitOK
}
