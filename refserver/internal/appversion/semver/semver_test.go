package semver

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch uint64
		pre                 []string
		build               string
	}{
		{in: "0.0.0"},
		{in: "1.4.2", major: 1, minor: 4, patch: 2},
		{in: "1.4.0-beta", major: 1, minor: 4, pre: []string{"beta"}},
		{in: "1.0.0-alpha.1", major: 1, pre: []string{"alpha", "1"}},
		{in: "1.0.0-0.3.7", major: 1, pre: []string{"0", "3", "7"}},
		{in: "1.0.0-x.7.z.92", major: 1, pre: []string{"x", "7", "z", "92"}},
		{in: "1.0.0-x-y-z.--", major: 1, pre: []string{"x-y-z", "--"}},
		{in: "1.0.0+20130313144700", major: 1, build: "20130313144700"},
		{in: "1.0.0-beta+exp.sha.5114f85", major: 1, pre: []string{"beta"}, build: "exp.sha.5114f85"},
		{in: "1.0.0+21AF26D3----117B344092BD", major: 1, build: "21AF26D3----117B344092BD"},
		{in: "1.0.0+001", major: 1, build: "001"}, // leading zeros allowed in build metadata
		{in: "18446744073709551615.0.0", major: 18446744073709551615},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Major != tt.major || v.Minor != tt.minor || v.Patch != tt.patch || !slices.Equal(v.Pre, tt.pre) || v.Build != tt.build {
				t.Fatalf("Parse(%q) = %+v", tt.in, v)
			}
			if v.String() != tt.in {
				t.Fatalf("String() = %q, want %q", v.String(), tt.in)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"", "1", "1.2", "1.2.3.4", "v1.2.3", "V1.2.3", " 1.2.3", "1.2.3 ", "01.2.3", "1.02.3", "1.2.03",
		"1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-a..b", "1.2.3+a..b", "1.2.3-a_b", "1..3", ".1.2.3", "1.2.3.",
		"-1.2.3", "1.2.-3", "+1.2.3", "1.2.3-beta+", "1.2.3+b+c", "１.２.３", "1.2.3-ä", "a.b.c", "1.2.x",
		"18446744073709551616.0.0", "1.2.3\x00", "1.2.3\n", "1.2.3-" + strings.Repeat("a", 60),
		strings.Repeat("1", 10<<10), "1.2.3-alpha.01", "=1.2.3", "^1.2.3", "~1.2.3", "latest", "1.2.3 - 2.0.0",
	} {
		if v, err := Parse(in); !errors.Is(err, ErrVersionSyntax) {
			t.Errorf("Parse(%q) = %v, %v; want ErrVersionSyntax", in, v, err)
		}
	}
}

func TestParseLengthLimit(t *testing.T) {
	ok := "1.2.3-" + strings.Repeat("a", MaxVersionLen-6)
	if _, err := Parse(ok); err != nil {
		t.Fatalf("%d-byte version rejected: %v", len(ok), err)
	}
	if _, err := Parse(ok + "a"); err == nil {
		t.Fatalf("%d-byte version accepted", len(ok)+1)
	}
}

// TestComparePrecedence checks SemVer §11 with the spec's own example
// chain plus build metadata and numeric edge cases.
func TestComparePrecedence(t *testing.T) {
	chain := []string{
		"0.9.99", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.0.10", "1.1.0",
		"1.4.0-beta", "1.4.0", "1.10.0", "2.0.0", "10.0.0", "18446744073709551615.0.0",
	}
	vs := make([]Version, len(chain))
	for i, s := range chain {
		v, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", chain[i], chain[j], got, want)
			}
		}
	}
	a, _ := Parse("1.4.0+build.1")
	b, _ := Parse("1.4.0+build.2")
	if !a.Equal(b) || a.Less(b) || b.Less(a) {
		t.Error("build metadata takes part in precedence")
	}
}

// FuzzParse: Parse never panics, accepts nothing longer than the limit,
// and what it accepts round-trips through String with equal precedence.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.4.2", "1.0.0-alpha.1+build.5", "v1.2", "01.2.3", "1.2.3-", "１.２.３",
		"18446744073709551616.0.0", "1.0.0-x-y-z.--", "1.2.3+a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrVersionSyntax) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(s) > MaxVersionLen {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if v.String() != s {
			t.Fatalf("String() = %q, input %q", v.String(), s)
		}
		w, err := Parse(v.String())
		if err != nil || w.Compare(v) != 0 || v.Compare(w) != 0 {
			t.Fatalf("round trip of %q failed", s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse("1.7.3-beta.2+build.77")
	}
}
