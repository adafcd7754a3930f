package xrechnung

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of the XML reader for outside documents (invoices, reports).
const (
	// MaxDocumentSize is the largest document Check and ParseReport read.
	// A DiGA invoice is about 6 KiB; a KoSIT report rarely exceeds 100 KiB.
	MaxDocumentSize = 4 << 20
	maxDepth        = 64
	maxElements     = 100_000
)

// xnode is one element of a parsed document with resolved namespaces.
type xnode struct {
	ns, local string
	attrs     []xml.Attr
	text      strings.Builder // direct character data
	kids      []*xnode
	parent    *xnode
	pos       int // 1-based position among same-named siblings
	line      int
}

var errTooLarge = errors.New("document too large")

// parseXML reads doc into a tree. It rejects DTDs (no entity tricks),
// documents over MaxDocumentSize, deeper than maxDepth or with more than
// maxElements elements, and anything that is not exactly one root element.
// Errors carry a line number but never document content.
func parseXML(doc []byte) (*xnode, error) {
	if len(doc) > MaxDocumentSize {
		return nil, errTooLarge
	}
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark is legal XML
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.CharsetReader = nil
	var root, cur *xnode
	count := 0
	line := func() int { l, _ := d.InputPos(); return l }
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("not well-formed XML (line %d)", se.Line)
			}
			return nil, fmt.Errorf("not well-formed XML (line %d)", line())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, errors.New("too many elements")
			}
			n := &xnode{ns: t.Name.Space, local: t.Name.Local, parent: cur, line: line()}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, a)
			}
			if cur == nil {
				if root != nil {
					return nil, fmt.Errorf("not well-formed XML: second root element (line %d)", n.line)
				}
				root = n
				n.pos = 1
			} else {
				if depth(cur) >= maxDepth {
					return nil, errors.New("elements nested too deeply")
				}
				n.pos = 1
				for _, s := range cur.kids {
					if s.ns == n.ns && s.local == n.local {
						n.pos++
					}
				}
				cur.kids = append(cur.kids, n)
			}
			cur = n
		case xml.EndElement:
			if cur == nil {
				return nil, errors.New("not well-formed XML: unbalanced end tag")
			}
			cur = cur.parent
		case xml.CharData:
			if cur != nil {
				if cur.text.Len()+len(t) > MaxDocumentSize {
					return nil, errTooLarge
				}
				cur.text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("not well-formed XML: text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("document type declarations are not allowed")
		}
	}
	if root == nil {
		return nil, errors.New("not well-formed XML: no root element")
	}
	if cur != nil {
		return nil, errors.New("not well-formed XML: unclosed element")
	}
	return root, nil
}

func depth(n *xnode) int {
	d := 0
	for ; n != nil; n = n.parent {
		d++
	}
	return d
}

// prefixes maps namespace URIs to the conventional prefixes used in
// finding paths.
var prefixes = map[string]string{NSRSM: "rsm", NSRAM: "ram", NSUDT: "udt", NSQDT: "qdt", nsVARL: "rep"}

// path returns an XPath to n, e.g. /rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID[1]
// style with positions: /rsm:CrossIndustryInvoice[1]/rsm:ExchangedDocument[1]/ram:ID[1].
func (n *xnode) path() string {
	if n == nil {
		return ""
	}
	var parts []string
	for x := n; x != nil; x = x.parent {
		p, ok := prefixes[x.ns]
		name := x.local
		switch {
		case ok:
			name = p + ":" + name
		case x.ns != "":
			name = "*:" + name
		}
		parts = append(parts, name+"["+strconv.Itoa(x.pos)+"]")
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString("/" + parts[i])
	}
	return b.String()
}

// all returns the descendants reached by the relative path steps, each
// "ram:Name" (prefix from the conventional table), in document order.
func (n *xnode) all(steps ...string) []*xnode {
	if n == nil {
		return nil
	}
	cur := []*xnode{n}
	for _, s := range steps {
		ns, local := splitStep(s)
		var next []*xnode
		for _, c := range cur {
			for _, k := range c.kids {
				if k.local == local && k.ns == ns {
					next = append(next, k)
				}
			}
		}
		cur = next
	}
	return cur
}

// first returns the first node of all(steps...), or nil.
func (n *xnode) first(steps ...string) *xnode {
	a := n.all(steps...)
	if len(a) == 0 {
		return nil
	}
	return a[0]
}

func splitStep(s string) (ns, local string) {
	p, l, ok := strings.Cut(s, ":")
	if !ok {
		return "", s
	}
	switch p {
	case "rsm":
		return NSRSM, l
	case "ram":
		return NSRAM, l
	case "udt":
		return NSUDT, l
	case "qdt":
		return NSQDT, l
	case "rep":
		return nsVARL, l
	case "s":
		return nsScenarios, l
	}
	return p, l
}

// attr returns the value of the unqualified attribute name.
func (n *xnode) attr(name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// value returns the XPath string value of n: all descendant text.
func (n *xnode) value() string {
	if n == nil {
		return ""
	}
	if len(n.kids) == 0 {
		return n.text.String()
	}
	var b strings.Builder
	var walk func(*xnode)
	walk = func(x *xnode) {
		b.WriteString(x.text.String())
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(n)
	return b.String()
}

// norm is XPath normalize-space of the string value of n.
func (n *xnode) norm() string { return normalizeSpace(n.value()) }

// normalizeSpace is XPath normalize-space: it strips and collapses the
// XML whitespace characters space, tab, CR and LF (not other Unicode
// spaces).
func normalizeSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}), " ")
}
