package xrechnungtest_test

import (
	"fmt"
	"slices"

	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

// Run a rule checker (here xrechnung.Check itself; a fake insurer runs
// its own) over the shared negative table.
func ExampleNegativeCases() {
	cases, err := xrechnungtest.NegativeCases()
	if err != nil {
		panic(err)
	}
	agree := 0
	for _, c := range cases {
		var errs []string
		for _, f := range xrechnung.Check(c.Doc) {
			if f.Level == xrechnung.LevelError && !slices.Contains(errs, f.Rule) {
				errs = append(errs, f.Rule)
			}
		}
		slices.Sort(errs)
		if slices.Equal(errs, c.Errors) {
			agree++
		}
	}
	fmt.Println(agree == len(cases), len(cases) > 60)
	// Output: true true
}

func ExampleBuild() {
	doc, err := xrechnungtest.Build("384_003")
	if err != nil {
		panic(err)
	}
	fmt.Println(xrechnung.Valid(xrechnung.Check(doc)))
	// Output: true
}
