package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/digakit/digakit/internal/kvnr"
)

func init() {
	register(command{name: "kvnr", summary: "check KVNRs (format and check digit)", run: runKVNR})
}

func runKVNR(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "kvnr", args, map[string]func(context.Context, *env, []string) int{
		"check": runKVNRCheck,
	})
}

// kvnrResult is one row of "digakit kvnr check --json".
type kvnrResult struct {
	Input string  `json:"input"`
	Valid bool    `json:"valid"`
	Error *string `json:"error"`
}

// runKVNRCheck implements "digakit kvnr check KVNR... [--json]": exit 0
// when all are valid, 1 when any is invalid, 2 on usage errors. The input
// is echoed only to stdout (the caller's own data), never to stderr.
//
// REQ: gidrp-spec:2.8
func runKVNRCheck(_ context.Context, e *env, args []string) int {
	fs := newFlags("kvnr check")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "kvnr check: %v", err)
	}
	if len(pos) == 0 {
		return e.fail(exitUsage, "kvnr check: missing KVNR argument")
	}
	code := exitOK
	out := make([]kvnrResult, 0, len(pos))
	for _, s := range pos {
		r := kvnrResult{Input: s, Valid: true}
		if err := kvnr.Validate(s); err != nil {
			code = exitInvalid
			r.Valid = false
			reason := "format"
			if errors.Is(err, kvnr.ErrCheckDigit) {
				reason = "check_digit"
			}
			r.Error = &reason
		}
		out = append(out, r)
	}
	if *asJSON {
		if err := e.writeJSON(out); err != nil {
			return exitUsage
		}
		return code
	}
	for _, r := range out {
		status := "valid"
		if !r.Valid {
			status = "invalid " + *r.Error
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", r.Input, status)
	}
	return code
}
