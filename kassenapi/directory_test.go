package kassenapi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readDirTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "directory", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseDirTestdata(t testing.TB, name string) *Directory {
	t.Helper()
	d, _, err := ParseDirectory(readDirTestdata(t, name))
	if err != nil {
		t.Fatalf("ParseDirectory(%s): %v", name, err)
	}
	return d
}

// TestDirectoryLookupITSGMerger is the spec A2.4 vector from the ITSG sample.
func TestDirectoryLookupITSGMerger(t *testing.T) {
	d := mustParseDirTestdata(t, "v3_itsg_merger.xml")
	tests := []struct {
		name   string
		prefix string
		day    string
		want   string // IK of the entry, "" when none
		err    error
		hops   []string
	}{
		{"ZY while valid", "ZY", "2021-01-01", "990000103", nil, nil},
		{"ZY first day", "ZY", "2020-08-19", "990000103", nil, nil},
		{"ZY last day", "ZY", "2022-06-19", "990000103", nil, nil},
		{"ZY after end follows to insolvent ZX", "ZY", "2022-07-01", "990000104", ErrInsurerInsolvent, []string{"ZX"}},
		{"ZY before start", "ZY", "2020-08-18", "", ErrUnknownPrefix, nil},
		{"ZX insolvent while valid", "ZX", "2021-01-01", "990000104", ErrInsurerInsolvent, nil},
		{"ZX insolvent after end", "ZX", "2023-01-01", "990000104", ErrInsurerInsolvent, nil},
		{"ZZ open", "ZZ", "1999-01-01", "990000101", nil, nil},
		{"unknown", "QQ", "2021-01-01", "", ErrUnknownPrefix, nil},
		{"case-sensitive", "zz", "2021-01-01", "", ErrUnknownPrefix, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.Route(tt.prefix, MustDate(tt.day))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				var re *RouteError
				if !errors.As(err, &re) {
					t.Fatalf("error %T is not *RouteError", err)
				}
			}
			if r.Entry.IK != tt.want {
				t.Errorf("IK = %q, want %q", r.Entry.IK, tt.want)
			}
			if len(r.Hops) != len(tt.hops) {
				t.Errorf("hops = %v, want %v", r.Hops, tt.hops)
			}
		})
	}
}
