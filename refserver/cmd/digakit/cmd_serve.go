package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/digakit/digakit/refserver/internal/app"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/logx"
)

func init() {
	register(command{name: "serve", summary: "run the reference server", run: runServe})
	register(command{name: "config", summary: "validate the configuration (config check)", run: runConfig})
}

// serveFlags parses the flags shared by serve and config check.
func serveFlags(name string, args []string, withServe bool) (config.Flags, error) {
	fs := newFlags(name)
	var f config.Flags
	fs.StringVar(&f.Config, "config", "", "configuration file (JSON)")
	if withServe {
		fs.StringVar(&f.Addr, "addr", "", "listen address HOST:PORT")
		fs.StringVar(&f.Data, "data", "", "data directory")
		fs.StringVar(&f.TLSCert, "tls-cert", "", "TLS certificate chain (PEM)")
		fs.StringVar(&f.TLSKey, "tls-key", "", "TLS private key (PEM)")
		fs.BoolVar(&f.AllowRoot, "allow-root", false, "allow running as uid 0")
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return f, err
	}
	if len(pos) > 0 {
		return f, errors.New("unexpected argument " + pos[0])
	}
	return f, nil
}

func runServe(ctx context.Context, e *env, args []string) int {
	f, err := serveFlags("serve", args, true)
	if err != nil {
		return e.fail(exitUsage, "serve: %v", err)
	}
	cfg, err := config.Load(f, e.getenv)
	if err != nil {
		return e.fail(exitUsage, "serve: %v", err)
	}
	logger := logx.New(e.stdout, logx.Options{Level: cfg.LogLevel(), Instance: logx.InstanceID()})
	// zitadel/oidc and River log through the default logger: it gets the
	// redacting handler too (refserver spec §3.6).
	slog.SetDefault(logger)
	err = app.Run(ctx, app.Options{Config: cfg, Logger: logger, Version: buildVersion()})
	if err != nil {
		var se *app.StartupError
		if errors.As(err, &se) {
			return e.fail(exitUsage, "serve: %v", se)
		}
		return e.fail(exitUsage, "serve: shutdown: %v", err)
	}
	return exitOK
}

func runConfig(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "config", args, map[string]func(context.Context, *env, []string) int{
		"check": runConfigCheck,
	})
}

// runConfigCheck validates everything serve would validate, starting
// nothing: exit 0 valid, 1 invalid (one line per problem), 2 usage or an
// unreadable file.
func runConfigCheck(_ context.Context, e *env, args []string) int {
	f, err := serveFlags("config check", args, false)
	if err != nil {
		return e.fail(exitUsage, "config check: %v", err)
	}
	cfg, err := config.Load(f, e.getenv)
	if err != nil {
		return e.fail(exitUsage, "config check: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				e.fail(exitInvalid, "config check: %s", p)
			}
			return exitInvalid
		}
		return e.fail(exitInvalid, "config check: %v", err)
	}
	_, _ = io.WriteString(e.stdout, "configuration valid\n")
	return exitOK
}
