package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKVNRCheck(t *testing.T) {
	out, errOut, code := runCLI(t, "", "kvnr", "check", "X110411319", "A123456789", "a123456780", "--json")
	if code != exitInvalid || errOut != "" {
		t.Fatalf("code %d stderr %q", code, errOut)
	}
	var rows []struct {
		Input string  `json:"input"`
		Valid bool    `json:"valid"`
		Error *string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !rows[0].Valid || rows[0].Error != nil ||
		rows[1].Valid || *rows[1].Error != "check_digit" || rows[2].Valid || *rows[2].Error != "format" {
		t.Fatalf("rows %+v", rows)
	}
	if !strings.Contains(out, `"error": null`) {
		t.Fatalf("null error missing: %s", out)
	}

	out, _, code = runCLI(t, "", "kvnr", "check", "X110411675", "P179293933")
	if code != exitOK || !strings.Contains(out, "X110411675\tvalid") {
		t.Fatalf("code %d out %q", code, out)
	}
	if _, _, code = runCLI(t, "", "kvnr", "check"); code != exitUsage {
		t.Fatalf("no args: code %d", code)
	}
	if _, _, code = runCLI(t, "", "kvnr", "nope"); code != exitUsage {
		t.Fatalf("unknown sub: code %d", code)
	}
}
