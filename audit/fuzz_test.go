package audit_test

import (
	"bytes"
	"testing"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"golang.org/x/mod/sumdb/note"
)

// FuzzDecodeCanonical: decode then encode must reproduce the input exactly,
// or the decoder must reject it; it never panics.
func FuzzDecodeCanonical(f *testing.F) {
	for _, l := range vectorLeaves {
		f.Add([]byte(l))
	}
	f.Add([]byte(privacyLeaf))
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":-0}`, `{"a":01}`, `{"b":1,"a":2}`, `{"a":1,"a":1}`, `{"a":null}`,
		`{"a":1.5}`, `{"a":"\u0041"}`, `{"a":"\\\""}`, `{"a":[1,[2,{}]]}`, `{ "a":1}`, `{"a":true,"b":false}`, `[1]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := audit.DecodeCanonical(b)
		if err != nil {
			return
		}
		enc, err := audit.AppendCanonical(nil, m)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip differs:\n in %q\nout %q", b, enc)
		}
	})
}

// FuzzParseCheckpoint: the strict parser never panics, accepts only notes
// whose re-formatted text equals the body, and never accepts a note that
// note.Open rejects as malformed when signatures verify.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(vectorCheckpoint))
	f.Add([]byte("audit.example-diga.de/security/2026-01\n03\niv4YDkflzBvLizKZx3ILW8fGZsAqcTQyAcYJGZZNfNg=\n\n\u2014 audit.example-diga.de/security 5BIkdi1MeO/zV8A43w8hITkip90QNBLSrXQR+zvsiqnA0FJzhL3GRML17toAURoBM8jAeWq5CAeOPpMdc0IO/QIYgAM=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u2014 o AAAAAAAA\n"))
	f.Add([]byte("o\n1\nx\nextension\n\n\u2014 o AAAA\n"))
	f.Add([]byte(""))
	vs := audittest.Verifiers()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := audit.ParseCheckpoint(b)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, []byte(c.Text()+"\n")) {
			t.Fatalf("accepted body differs from its canonical text")
		}
		if _, err := audit.OpenCheckpoint(b, vs); err == nil {
			if _, err := note.Open(b, note.VerifierList(vs...)); err != nil {
				t.Fatalf("OpenCheckpoint accepted what note.Open rejects")
			}
		}
	})
}
