package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCodeCheckCLI(t *testing.T) {
	tests := []struct {
		name string
		args []string
		exit int
		rows []codeResult // for --json runs
		out  string       // substring of stdout otherwise
		err  string       // substring of stderr
	}{
		{name: "valid", args: []string{"code", "check", "--json", " ch-aaaa aaaa aaaa aj "}, exit: exitOK,
			rows: []codeResult{{Input: " ch-aaaa aaaa aaaa aj ", Code: "CHAAAAAAAAAAAAAJ", Valid: true, Prefix: "CH"}}},
		{name: "checksum", args: []string{"code", "check", "CHAAAAAAAAAAAAAX", "--json"}, exit: exitInvalid,
			rows: []codeResult{{Input: "CHAAAAAAAAAAAAAX", Code: "CHAAAAAAAAAAAAAX", Prefix: "CH", Error: ptr("checksum")}}},
		{name: "mixed", args: []string{"code", "check", "--json", "ZZAAAAAAAAAAAAAW", "ZZ0", "c", "CHAAAAAAAAAAAA1J"}, exit: exitInvalid,
			rows: []codeResult{
				{Input: "ZZAAAAAAAAAAAAAW", Code: "ZZAAAAAAAAAAAAAW", Valid: true, Prefix: "ZZ"},
				{Input: "ZZ0", Code: "ZZ0", Prefix: "ZZ", Error: ptr("length")},
				{Input: "c", Code: "C", Prefix: "", Error: ptr("length")},
				{Input: "CHAAAAAAAAAAAA1J", Code: "CHAAAAAAAAAAAA1J", Prefix: "CH", Error: ptr("charset")},
			}},
		{name: "test code refused", args: []string{"code", "check", "--json", "77AAAAAAAAAAAAAX"}, exit: exitInvalid,
			rows: []codeResult{{Input: "77AAAAAAAAAAAAAX", Code: "77AAAAAAAAAAAAAX", Prefix: "77", Test: true, Error: ptr("test-code-not-allowed")}}},
		{name: "test code allowed", args: []string{"code", "check", "--allow-test", "--json", "77AAAAAAAAAAADEV"}, exit: exitOK,
			rows: []codeResult{{Input: "77AAAAAAAAAAADEV", Code: "77AAAAAAAAAAADEV", Valid: true, Prefix: "77", Test: true}}},
		{name: "bad test code with allow-test", args: []string{"code", "check", "--allow-test", "--json", "77AAAAAAAAAAAAAA"}, exit: exitInvalid,
			rows: []codeResult{{Input: "77AAAAAAAAAAAAAA", Code: "77AAAAAAAAAAAAAA", Prefix: "77", Test: true, Error: ptr("checksum")}}},
		{name: "text", args: []string{"code", "check", "CHAAAAAAAAAAAAAJ"}, exit: exitOK, out: "CHAAAAAAAAAAAAAJ\tvalid\n"},
		{name: "text invalid", args: []string{"code", "check", "CHAAAAAAAAAAAAAX"}, exit: exitInvalid, out: "CHAAAAAAAAAAAAAX\tinvalid checksum\n"},
		{name: "no code", args: []string{"code", "check", "--json"}, exit: exitUsage, err: "missing CODE"},
		{name: "bad flag", args: []string{"code", "check", "--nope", "CHAAAAAAAAAAAAAJ"}, exit: exitUsage, err: "flag provided but not defined"},
		{name: "no subcommand", args: []string{"code"}, exit: exitUsage, err: "missing subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runCLI(t, "", tt.args...)
			if code != tt.exit {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.exit, errs)
			}
			if !strings.Contains(errs, tt.err) {
				t.Errorf("stderr %q does not contain %q", errs, tt.err)
			}
			// Codes never reach stderr.
			for _, a := range tt.args[1:] {
				if len(a) > 6 && !strings.HasPrefix(a, "--") && strings.Contains(errs, strings.TrimSpace(a)) {
					t.Errorf("stderr leaks %q", a)
				}
			}
			if tt.rows == nil {
				if !strings.Contains(out, tt.out) {
					t.Errorf("stdout %q does not contain %q", out, tt.out)
				}
				return
			}
			var got []codeResult
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			if len(got) != len(tt.rows) {
				t.Fatalf("rows = %+v", got)
			}
			for i := range got {
				g, w := got[i], tt.rows[i]
				if g.Input != w.Input || g.Code != w.Code || g.Valid != w.Valid || g.Prefix != w.Prefix || g.Test != w.Test ||
					(g.Error == nil) != (w.Error == nil) || (g.Error != nil && *g.Error != *w.Error) {
					t.Errorf("row %d = %+v (error %v), want %+v (error %v)", i, g, deref(g.Error), w, deref(w.Error))
				}
			}
			// error is null (not absent) for valid codes.
			if strings.Count(out, `"error":`) != len(tt.rows) {
				t.Errorf("error member missing: %s", out)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
