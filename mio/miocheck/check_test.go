package miocheck

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/digakit/digakit/mio/miotest"
)

var (
	loadOnce sync.Once
	checker  *Checker
	loadErr  error
)

func testChecker(t testing.TB) *Checker {
	t.Helper()
	loadOnce.Do(func() {
		dir, err := miotest.DataDir()
		if err != nil {
			loadErr = err
			return
		}
		checker, loadErr = Load(dir)
	})
	if loadErr != nil {
		if os.Getenv("DIGAKIT_REQUIRE_FHIR_DATA") == "1" {
			t.Fatal(loadErr)
		}
		t.Skip(loadErr)
	}
	return checker
}

// TestKBVExamples: 0 findings on all 84 shipped single-resource examples.
func TestKBVExamples(t *testing.T) {
	c := testChecker(t)
	dir, _ := miotest.DataDir()
	files, _ := filepath.Glob(filepath.Join(dir, "kbv-examples", "*", "*.xml"))
	if len(files) != 84 {
		t.Fatalf("want 84 examples, found %d", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range c.Check(bytes.NewReader(b)) {
			t.Errorf("%s: %s", filepath.Base(f), fi)
		}
	}
}

// TestGoldens: 0 findings on every builder golden.
func TestGoldens(t *testing.T) {
	c := testChecker(t)
	files, _ := filepath.Glob("../testdata/golden/*.xml")
	if len(files) == 0 {
		t.Fatal("no goldens")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range c.Check(bytes.NewReader(b)) {
			t.Errorf("%s: %s", filepath.Base(f), fi)
		}
	}
}
