package audit

import (
	"fmt"
	"slices"
	"strconv"
)

// MaxEventSize is the largest canonical event in bytes (spec §2.4).
const MaxEventSize = 8192

const maxSafeInt = 1<<53 - 1

// AppendCanonical appends the canonical JSON (spec §2.4, a strict subset of
// RFC 8785) of v to dst. v is built from map[string]any, []any, string,
// bool and the integer types. Strings must be printable ASCII; anything else
// (floats, nil, control characters) yields ErrForbiddenContent.
//
// REQ: ASVS5:16.4.1, audit-spec:2.4
func AppendCanonical(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, k); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = AppendCanonical(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case string:
		return appendString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return appendInt(dst, int64(x))
	case int64:
		return appendInt(dst, x)
	case uint64:
		if x > maxSafeInt {
			return nil, fmt.Errorf("%w: integer out of range", ErrForbiddenContent)
		}
		return appendInt(dst, int64(x))
	case int32:
		return appendInt(dst, int64(x))
	case uint32:
		return appendInt(dst, int64(x))
	default:
		return nil, fmt.Errorf("%w: value of type %T", ErrForbiddenContent, v)
	}
}

func appendInt(dst []byte, n int64) ([]byte, error) {
	if n > maxSafeInt || n < -maxSafeInt {
		return nil, fmt.Errorf("%w: integer out of range", ErrForbiddenContent)
	}
	return strconv.AppendInt(dst, n, 10), nil
}

func appendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return nil, fmt.Errorf("%w: non-printable character", ErrForbiddenContent)
		}
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"'), nil
}

// DecodeCanonical parses canonical event bytes strictly: duplicate keys,
// non-canonical member order, whitespace, non-ASCII, escapes other than \"
// and \\, floats, leading zeros and null are rejected with ErrNonCanonical.
// Objects decode to map[string]any, arrays to []any, numbers to int64.
//
// REQ: audit-spec:2.4
func DecodeCanonical(b []byte) (map[string]any, error) {
	if len(b) > MaxEventSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEventTooLarge, len(b))
	}
	p := parser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(b) {
		return nil, fmt.Errorf("%w: trailing bytes at offset %d", ErrNonCanonical, p.i)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not an object", ErrNonCanonical)
	}
	return m, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrNonCanonical, what, p.i)
}

func (p *parser) value(depth int) (any, error) {
	if depth > 8 {
		return nil, p.fail("nesting too deep")
	}
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		last := ""
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return m, nil
		}
		for n := 0; ; n++ {
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			if n > 0 && k <= last {
				return nil, p.fail("member order or duplicate key")
			}
			last = k
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.fail("expected colon")
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			if p.i >= len(p.b) {
				return nil, p.fail("unexpected end")
			}
			if p.b[p.i] == '}' {
				p.i++
				return m, nil
			}
			if p.b[p.i] != ',' {
				return nil, p.fail("expected comma")
			}
			p.i++
		}
	case c == '[':
		p.i++
		a := []any{}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return a, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			if p.i >= len(p.b) {
				return nil, p.fail("unexpected end")
			}
			if p.b[p.i] == ']' {
				p.i++
				return a, nil
			}
			if p.b[p.i] != ',' {
				return nil, p.fail("expected comma")
			}
			p.i++
		}
	case c == '"':
		return p.str()
	case c == 't' || c == 'f':
		for _, lit := range []string{"true", "false"} {
			if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				return lit == "true", nil
			}
		}
		return nil, p.fail("bad literal")
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		if c == '-' {
			p.i++
		}
		ds := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		digits := p.b[ds:p.i]
		if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') || (c == '-' && string(digits) == "0") || len(digits) > 16 {
			return nil, p.fail("bad number")
		}
		n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
		if err != nil || n > maxSafeInt || n < -maxSafeInt {
			return nil, p.fail("bad number")
		}
		return n, nil
	default:
		return nil, p.fail("unexpected character")
	}
}

func (p *parser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", p.fail("expected string")
	}
	p.i++
	start := p.i
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !escaped {
				return string(raw), nil
			}
			out := make([]byte, 0, len(raw))
			for k := 0; k < len(raw); k++ {
				if raw[k] == '\\' {
					k++
				}
				out = append(out, raw[k])
			}
			return string(out), nil
		case c == '\\':
			if p.i+1 >= len(p.b) || (p.b[p.i+1] != '"' && p.b[p.i+1] != '\\') {
				return "", p.fail("bad escape")
			}
			escaped = true
			p.i += 2
		case c < 0x20 || c > 0x7e:
			return "", p.fail("non-printable character")
		default:
			p.i++
		}
	}
	return "", p.fail("unterminated string")
}
