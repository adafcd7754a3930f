package xmlw_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/digakit/digakit/mio/internal/xmlw"
)

func Example() {
	var sb strings.Builder
	w := xmlw.New(&sb, "")
	w.Start("Patient", "xmlns", "http://hl7.org/fhir")
	w.Prim("gender", "female")
	w.Prim("birthDate", "")
	w.Start("name")
	w.Prim("text", "a\nb & \"c\"")
	w.End()
	w.End()
	_ = w.Flush()
	fmt.Println(sb.String())
	// Output: <Patient xmlns="http://hl7.org/fhir"><gender value="female"></gender><name><text value="a&#xA;b &amp; &#34;c&#34;"></text></name></Patient>
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestStickyError(t *testing.T) {
	w := xmlw.New(failing{}, "")
	w.Start("a")
	w.Prim("b", "c")
	w.End()
	if err := w.Flush(); err == nil || w.Err() == nil {
		t.Fatal("error lost")
	}
	w.End() // no panic on an empty stack after an error
}
