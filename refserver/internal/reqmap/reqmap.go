package reqmap

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Row is one requirement of the map.
type Row struct {
	ID       string
	Level    string // MUSS, SOLL, KANN
	Gist     string
	Kind     string // lib, ref, doc, ci, n.a. (several joined with "+")
	Code     string
	Tests    []string
	Evidence string
	Line     int
}

// Location is where a marker stands.
type Location struct {
	File string
	Line int
}

// Violation is one failed check.
type Violation struct {
	ID      string
	Message string
}

func (v Violation) String() string { return v.ID + ": " + v.Message }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+:[A-Za-z0-9_.§-]+$`)

// ParseMap reads the rows of every Markdown table whose header starts with
// "| ID |".
func ParseMap(md []byte) ([]Row, error) {
	var rows []Row
	in := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := splitRow(line)
		if len(cells) > 0 && cells[0] == "ID" {
			in = true
			continue
		}
		if !in || strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != 7 {
			return nil, fmt.Errorf("REQUIREMENTS.md:%d: want 7 columns, got %d", n, len(cells))
		}
		id := strings.Trim(cells[0], "`")
		if !idPattern.MatchString(id) {
			return nil, fmt.Errorf("REQUIREMENTS.md:%d: malformed id %q", n, id)
		}
		var tests []string
		for _, t := range strings.Split(cells[5], ",") {
			if t = strings.Trim(strings.TrimSpace(t), "`"); t != "" && t != "—" && t != "-" {
				tests = append(tests, t)
			}
		}
		rows = append(rows, Row{ID: id, Level: cells[1], Gist: cells[2], Kind: cells[3], Code: cells[4], Tests: tests, Evidence: cells[6], Line: n})
	}
	return rows, sc.Err()
}

func splitRow(line string) []string {
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	parts := strings.Split(line, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

var markerPattern = regexp.MustCompile(`^\s*//\s*REQ:\s*(.+)$`)

// Scan walks root for Go files and returns the markers in non-test files
// and the names of test functions (func TestXxx, FuzzXxx, BenchmarkXxx,
// ExampleXxx) in test files.
func Scan(root string) (markers map[string][]Location, tests map[string]bool, err error) {
	markers = map[string][]Location{}
	tests = map[string]bool{}
	testFunc := regexp.MustCompile(`^func ((?:Test|Fuzz|Benchmark|Example)[A-Za-z0-9_]*)\(`)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "node_modules", "digakit-data":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		isTest := strings.HasSuffix(path, "_test.go")
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(b), "\n") {
			if isTest {
				if m := testFunc.FindStringSubmatch(line); m != nil {
					tests[m[1]] = true
				}
				continue
			}
			m := markerPattern.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			for _, id := range strings.Split(m[1], ",") {
				id = strings.TrimSpace(id)
				if id != "" {
					markers[id] = append(markers[id], Location{File: rel, Line: i + 1})
				}
			}
		}
		return nil
	})
	return markers, tests, err
}

// Check compares the map with the markers and tests found.
func Check(rows []Row, markers map[string][]Location, tests map[string]bool) []Violation {
	var vs []Violation
	listed := map[string]bool{}
	for _, r := range rows {
		if listed[r.ID] {
			vs = append(vs, Violation{r.ID, "listed twice"})
		}
		listed[r.ID] = true
		kinds := strings.Split(r.Kind, "+")
		code := false
		for _, k := range kinds {
			switch strings.TrimSpace(k) {
			case "lib", "ref":
				code = true
			case "doc", "ci", "n.a.":
			default:
				vs = append(vs, Violation{r.ID, fmt.Sprintf("unknown kind %q", k)})
			}
		}
		if code {
			if len(markers[r.ID]) == 0 {
				vs = append(vs, Violation{r.ID, "no // REQ: marker in non-test code"})
			}
			if len(r.Tests) == 0 {
				vs = append(vs, Violation{r.ID, "no test named"})
			}
		} else if strings.TrimSpace(r.Evidence) == "" || r.Evidence == "—" {
			vs = append(vs, Violation{r.ID, "doc/ci/n.a. row without evidence"})
		}
		for _, t := range r.Tests {
			if !tests[t] {
				vs = append(vs, Violation{r.ID, fmt.Sprintf("named test %s does not exist", t)})
			}
		}
	}
	var unknown []string
	for id := range markers {
		if !listed[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		l := markers[id][0]
		vs = append(vs, Violation{id, fmt.Sprintf("marker at %s:%d names an id the map does not list", l.File, l.Line)})
	}
	return vs
}
