package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Exit codes of the CLI contract.
const (
	exitOK      = 0 // success, or the input is valid
	exitInvalid = 1 // the input is invalid or was rejected
	exitUsage   = 2 // usage or environment error
)

// env is what a subcommand may touch of the outside world. Tests run
// subcommands in-process with buffers in place of the real streams.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one top-level subcommand. Files named cmd_<name>.go register
// theirs in an init function with register, so that areas do not edit a
// shared table.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]command{}

// register adds a subcommand; it panics on a duplicate name, which is a
// programming error caught by every test run.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("digakit: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		return e.fail(exitUsage, "missing command (run 'digakit help')")
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(e.stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		return e.fail(exitUsage, "unknown command %q (run 'digakit help')", args[0])
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: digakit <command> [arguments]")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}

// fail prints one error line to stderr and returns code. The message must
// not contain secrets; callers pass only typed, redacted error texts.
func (e *env) fail(code int, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintln(e.stderr, "digakit: "+msg)
	return code
}

// writeJSON prints v as one JSON document on stdout.
func (e *env) writeJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newFlags returns a flag set that reports errors through the caller (no
// usage dump on stderr).
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args allowing flags and positional arguments in any
// order (digakit code check CODE --json). "--" ends flag parsing. It
// returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errors.New("help requested")
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := slices.Index(args, "--"); i >= 0 && len(args)-i-1 == len(rest) {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// subcommands dispatches to a nested subcommand table such as
// "directory show|diff|fetch".
func subcommands(ctx context.Context, e *env, parent string, args []string, table map[string]func(context.Context, *env, []string) int) int {
	if len(args) == 0 {
		return e.fail(exitUsage, "%s: missing subcommand (one of %s)", parent, strings.Join(sortedKeys(table), ", "))
	}
	f, ok := table[args[0]]
	if !ok {
		return e.fail(exitUsage, "%s: unknown subcommand %q (one of %s)", parent, args[0], strings.Join(sortedKeys(table), ", "))
	}
	return f(ctx, e, args[1:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
