package semver

import (
	"errors"
	"strconv"
	"strings"
)

// MaxVersionLen is the longest version string accepted (refserver spec
// §3.4): longer header values are unparseable, whatever they contain.
const MaxVersionLen = 64

// ErrVersionSyntax is returned by [Parse] for anything that is not a
// strict SemVer 2.0.0 version of at most [MaxVersionLen] bytes. The error
// never quotes the input: header values are client data.
var ErrVersionSyntax = errors.New("semver: version is not strict SemVer 2.0.0")

// Version is a parsed SemVer 2.0.0 version. The zero value is 0.0.0.
type Version struct {
	Major, Minor, Patch uint64
	// Pre holds the dot-separated pre-release identifiers ("beta", "1").
	Pre []string
	// Build is the build metadata after "+" without the plus sign; it
	// takes no part in precedence (SemVer §10).
	Build string
}

// Parse parses a strict SemVer 2.0.0 version: MAJOR.MINOR.PATCH with
// optional "-pre" and "+build", no "v" prefix, no leading zeros in
// numeric identifiers, no surrounding spaces, at most [MaxVersionLen]
// bytes, numbers within uint64. It never panics; every malformed input
// yields [ErrVersionSyntax].
func Parse(s string) (Version, error) {
	var v Version
	if len(s) == 0 || len(s) > MaxVersionLen {
		return v, ErrVersionSyntax
	}
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		v.Build = rest[i+1:]
		rest = rest[:i]
		if !validIdents(v.Build, false) {
			return Version{}, ErrVersionSyntax
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre := rest[i+1:]
		rest = rest[:i]
		if !validIdents(pre, true) {
			return Version{}, ErrVersionSyntax
		}
		v.Pre = strings.Split(pre, ".")
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, ErrVersionSyntax
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, ok := numeric(p)
		if !ok {
			return Version{}, ErrVersionSyntax
		}
		*nums[i] = n
	}
	return v, nil
}

// numeric parses a SemVer numeric identifier: digits only, no leading
// zero unless the identifier is "0", within uint64.
func numeric(s string) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; for
// pre-release identifiers (pre) numeric ones must not have leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if pre && digits && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// String returns the canonical form, including build metadata.
func (v Version) String() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(v.Major, 10))
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(v.Minor, 10))
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(v.Patch, 10))
	if len(v.Pre) > 0 {
		b.WriteByte('-')
		b.WriteString(strings.Join(v.Pre, "."))
	}
	if v.Build != "" {
		b.WriteByte('+')
		b.WriteString(v.Build)
	}
	return b.String()
}

// Compare returns -1, 0 or +1 by SemVer §11 precedence: numbers first,
// then a version with a pre-release is lower than one without, then the
// pre-release identifiers left to right (numeric < alphanumeric, numeric
// compared as numbers, others in ASCII order, a shorter prefix is lower).
// Build metadata is ignored.
func (v Version) Compare(w Version) int {
	for _, p := range [3][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		if c := compareIdent(v.Pre[i], w.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.Pre) < len(w.Pre):
		return -1
	case len(v.Pre) > len(w.Pre):
		return 1
	}
	return 0
}

// Less reports whether v has lower precedence than w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// Equal reports equal precedence (build metadata ignored).
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

func compareIdent(a, b string) int {
	an, aNum := numericIdent(a)
	bn, bNum := numericIdent(b)
	switch {
	case aNum && bNum:
		switch {
		case len(an) != len(bn): // no leading zeros: longer is larger
			if len(an) < len(bn) {
				return -1
			}
			return 1
		default:
			return strings.Compare(an, bn)
		}
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(a, b)
}

// numericIdent reports whether id is all digits. Numeric pre-release
// identifiers are compared by length then lexically, which equals numeric
// order without leading zeros and cannot overflow.
func numericIdent(id string) (string, bool) {
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return id, false
		}
	}
	return id, true
}
