package reqmap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository root seen from this package.
const repoRoot = "../../.."

// TestRequirementMap is the requirement-map check (T35 skeleton): it fails
// when a listed requirement has no // REQ: marker or names a missing test,
// or when a marker names an unlisted id.
func TestRequirementMap(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(repoRoot, "REQUIREMENTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseMap(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("REQUIREMENTS.md lists no requirement")
	}
	markers, tests, err := Scan(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(rows, markers, tests) {
		t.Error(v)
	}
}

func TestCheckFindsEveryViolation(t *testing.T) {
	md := []byte(`intro
| ID | level | gist | kind | code | tests | evidence |
|---|---|---|---|---|---|---|
| TR03161-3:O.Arch_10 | MUSS | x | ref | app | TestA | |
| TR03161-3:O.Arch_11 | MUSS | x | lib | logx | TestMissing | |
| TR03161-3:O.Source_9 | MUSS | x | ci | .ci/run | — |  |
| TR03161-3:O.Cryp_1 | MUSS | x | ref | config | — | |
`)
	rows, err := ParseMap(md)
	if err != nil {
		t.Fatal(err)
	}
	markers := map[string][]Location{
		"TR03161-3:O.Arch_10": {{"a.go", 1}},
		"TR03161-3:O.Auth_99": {{"b.go", 2}},
	}
	got := Check(rows, markers, map[string]bool{"TestA": true})
	var msgs []string
	for _, v := range got {
		msgs = append(msgs, v.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"O.Arch_11: no // REQ: marker",
		"O.Arch_11: named test TestMissing does not exist",
		"O.Source_9: doc/ci/n.a. row without evidence",
		"O.Cryp_1: no test named",
		"O.Auth_99: marker at b.go:2 names an id the map does not list",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing violation %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "O.Arch_10:") {
		t.Errorf("O.Arch_10 is complete but reported:\n%s", all)
	}
}

func TestParseMapRejectsMalformedRows(t *testing.T) {
	for _, md := range []string{
		"| ID | a | b | c | d | e | f |\n|---|\n| X:1 | only | three |\n",
		"| ID | a | b | c | d | e | f |\n| not an id | a | b | ref | c | T | e |\n",
	} {
		if _, err := ParseMap([]byte(md)); err == nil {
			t.Errorf("accepted %q", md)
		}
	}
}
