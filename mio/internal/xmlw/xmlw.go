package xmlw

import (
	"encoding/xml"
	"io"
)

// Writer writes FHIR XML tokens.
type Writer struct {
	enc   *xml.Encoder
	stack []string
	attrs []xml.Attr
	err   error
}

// New returns a Writer on w. indent "" means no indentation.
func New(w io.Writer, indent string) *Writer {
	enc := xml.NewEncoder(w)
	if indent != "" {
		enc.Indent("", indent)
	}
	return &Writer{enc: enc}
}

// Start opens an element with optional attribute pairs (name, value, ...).
func (w *Writer) Start(name string, attrs ...string) {
	if w.err != nil {
		return
	}
	// The encoder does not retain the token, so the attribute buffer is
	// reused across calls.
	w.attrs = w.attrs[:0]
	for i := 0; i+1 < len(attrs); i += 2 {
		w.attrs = append(w.attrs, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	w.err = w.enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: name}, Attr: w.attrs})
	w.stack = append(w.stack, name)
}

// End closes the innermost open element.
func (w *Writer) End() {
	if w.err != nil || len(w.stack) == 0 {
		return
	}
	name := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	w.err = w.enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}})
}

// Prim writes <name value="v"></name>; an empty v writes nothing (FHIR
// ele-1 forbids empty values).
func (w *Writer) Prim(name, v string) {
	if v == "" {
		return
	}
	w.Start(name, "value", v)
	w.End()
}

// Flush flushes the encoder's buffer to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.enc.Flush()
	return w.err
}

// Depth returns the number of open elements.
func (w *Writer) Depth() int { return len(w.stack) }

// Err returns the first error.
func (w *Writer) Err() error { return w.err }
