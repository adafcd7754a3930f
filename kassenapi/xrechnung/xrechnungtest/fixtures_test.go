package xrechnungtest

import "testing"

func TestFixtures(t *testing.T) {
	for _, g := range Goldens() {
		if _, err := Build(g.Name); err != nil {
			t.Errorf("%s: %v", g.Name, err)
		}
	}
	if _, err := Build("nope"); err == nil {
		t.Error("Build of an unknown golden succeeded")
	}
	cs, err := NegativeCases()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cs {
		if names[c.Name] {
			t.Errorf("duplicate case %q", c.Name)
		}
		names[c.Name] = true
		if len(c.Doc) == 0 {
			t.Errorf("%s: empty document", c.Name)
		}
	}
}
