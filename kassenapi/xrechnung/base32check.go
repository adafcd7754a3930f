package xrechnung

import (
	"crypto/subtle"

	"github.com/digakit/digakit/kassenapi"
)

// base32Check1Valid reports whether a 16-character Freischaltcode passes
// the GKV check character "Base32Check1" (Anhang 3, spec A2.2). The
// algorithm lives in kassenapi ([kassenapi.ParseCode]); only a wrong check
// character counts as invalid here, the format is checked by the caller.
func base32Check1Valid(code string) bool {
	_, err := kassenapi.ParseCode(code)
	return err == nil
}

// equalCode compares two codes in constant time for equal lengths.
func equalCode(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
