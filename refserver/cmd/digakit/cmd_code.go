package main

import (
	"context"
	"fmt"

	"github.com/digakit/digakit/kassenapi"
)

func init() {
	register(command{name: "code", summary: "check Freischaltcodes offline (format, Base32Check1)", run: runCode})
}

func runCode(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "code", args, map[string]func(context.Context, *env, []string) int{
		"check": runCodeCheck,
	})
}

// codeResult is one row of "digakit code check --json" (CLI.md, spec A3).
type codeResult struct {
	Input  string  `json:"input"`  // as given on the command line
	Code   string  `json:"code"`   // normalised form, also when invalid
	Valid  bool    `json:"valid"`  //
	Prefix string  `json:"prefix"` // first 2 characters of code, "" if shorter
	Test   bool    `json:"test"`   // prefix 77
	Error  *string `json:"error"`  // null, length, charset, checksum or test-code-not-allowed
}

// runCodeCheck implements "digakit code check CODE... [--allow-test]
// [--json]": offline kassenapi.ParseCode only, no network. Exit 0 when all
// codes are valid, 1 when any is invalid, 2 on usage errors. The codes are
// the caller's own input: they go to stdout only, never to stderr.
func runCodeCheck(_ context.Context, e *env, args []string) int {
	fs := newFlags("code check")
	asJSON := fs.Bool("json", false, "print JSON")
	allowTest := fs.Bool("allow-test", false, "accept test codes (prefix 77)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "code check: %v", err)
	}
	if len(pos) == 0 {
		return e.fail(exitUsage, "code check: missing CODE argument")
	}
	mode := kassenapi.CodeModeProduction
	if *allowTest {
		mode = kassenapi.CodeModeTest
	}
	exit := exitOK
	out := make([]codeResult, 0, len(pos))
	for _, in := range pos {
		n := kassenapi.NormalizeCode(in)
		r := codeResult{Input: in, Code: n, Valid: true}
		if rs := []rune(n); len(rs) >= 2 {
			r.Prefix = string(rs[:2])
		}
		r.Test = r.Prefix == kassenapi.TestCodePrefix
		if _, err := kassenapi.ParseCodeMode(in, mode); err != nil {
			exit = exitInvalid
			r.Valid = false
			reason := kassenapi.CodeProblem(err)
			r.Error = &reason
		}
		out = append(out, r)
	}
	if *asJSON {
		if err := e.writeJSON(out); err != nil {
			return exitUsage
		}
		return exit
	}
	for _, r := range out {
		status := "valid"
		if r.Test {
			status = "valid test code"
		}
		if !r.Valid {
			status = "invalid " + *r.Error
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", r.Code, status)
	}
	return exit
}
