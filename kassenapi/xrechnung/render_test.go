package xrechnung_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

// TestRenderTextGolden: the printable rendering of every golden invoice
// is stable (testdata/golden/*.txt).
func TestRenderTextGolden(t *testing.T) {
	for _, g := range xrechnungtest.Goldens() {
		t.Run(g.Name, func(t *testing.T) {
			doc, err := g.Builder.Build(g.Invoice)
			if err != nil {
				t.Fatal(err)
			}
			got, err := xrechnung.RenderText(doc)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", g.Name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("rendering differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestRenderTextRefusesInvalid(t *testing.T) {
	cases, err := xrechnungtest.NegativeCases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if len(c.Errors) == 0 {
			continue
		}
		out, err := xrechnung.RenderText(c.Doc)
		var ce *xrechnung.CheckError
		if out != "" || !errors.As(err, &ce) || !errors.Is(err, xrechnung.ErrInvalidInvoice) {
			t.Errorf("%s: RenderText = %q, %v", c.Name, out, err)
		}
		if err != nil && strings.Contains(err.Error(), xrechnungtest.Code) {
			t.Errorf("%s: error leaks the code", c.Name)
		}
	}
}
