package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(string) string { return "" },
	})
	return out.String(), errb.String(), code
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string
		err  string
	}{
		{"no args", nil, exitUsage, "", "missing command"},
		{"help", []string{"help"}, exitOK, "version", ""},
		{"unknown", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, exitOK, "digakit ", ""},
		{"version json", []string{"version", "--json"}, exitOK, `"fips"`, ""},
		{"version bad flag", []string{"version", "--nope"}, exitUsage, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit code = %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("stdout %q does not contain %q", out, tt.out)
			}
			if !strings.Contains(errs, tt.err) {
				t.Errorf("stderr %q does not contain %q", errs, tt.err)
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 {
				t.Errorf("stderr has %d lines, want at most one: %q", n+1, errs)
			}
		})
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	fs := newFlags("x")
	j := fs.Bool("json", false, "")
	a := fs.Bool("allow-test", false, "")
	pos, err := parseFlags(fs, []string{"A", "--json", "B", "--allow-test", "--", "--C"})
	if err != nil {
		t.Fatal(err)
	}
	if !*j || !*a {
		t.Fatalf("flags not set: json=%v allow-test=%v", *j, *a)
	}
	if got := strings.Join(pos, ","); got != "A,B,--C" {
		t.Fatalf("positional = %q, want A,B,--C", got)
	}
}
