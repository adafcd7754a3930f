// Command digakit is the reference server and operator CLI of digakit.
//
// The subcommands, their --json shapes and exit codes follow the CLI
// contract (shared CLI.md): exit 0 = ok, 1 = the input is invalid or was
// rejected, 2 = usage or environment error. Errors go to stderr, one line
// each, never with secrets.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
