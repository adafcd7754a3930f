package xrechnung

import (
	"fmt"
	"regexp"
	"strings"
)

// Level is the severity of a [Finding].
type Level string

// Finding levels. Only LevelError makes a document invalid.
const (
	LevelError   Level = "error"   // Schematron flag "fatal": the insurer rejects the invoice
	LevelWarning Level = "warning" // accepted, but worth fixing
	LevelInfo    Level = "info"    // hint, e.g. DRE0-UPD-1..3
)

// Finding is one rule violation found by [Check]. Rule is the id of the
// rule in its source (dre0.sch, EN 16931, XRechnung) or one of the
// structural ids "XML" (not well-formed or not readable), "XSD" (CII D16B
// element structure) and "DIGAKIT-FSC-1" (Freischaltcode check
// character). Message is English and never contains the Freischaltcode.
type Finding struct {
	Rule    string `json:"rule"`
	Level   Level  `json:"level"`
	XPath   string `json:"path"`
	Message string `json:"message"`
}

// Valid reports whether findings has no LevelError finding.
func Valid(findings []Finding) bool {
	for _, f := range findings {
		if f.Level == LevelError {
			return false
		}
	}
	return true
}

var (
	rePhone = regexp.MustCompile(`^.*([0-9].*){3,}.*$`)
	reEmail = regexp.MustCompile(`^[0-9a-zA-Z]([0-9a-zA-Z.]*)[^.\s@]@[^.\s@]([0-9a-zA-Z.]*)[0-9a-zA-Z]$`)
	reDay   = regexp.MustCompile(`^[0-9]{8}$`)
	// reReasonInsurer is the insurer's looser DRE0-CORR-4 regex (XPath
	// matches() searches, it does not anchor the whole string).
	reReasonInsurer = regexp.MustCompile(`^(001|002|003|004)|010:(UST-ID|KK-Adresse|LE-Adresse)(\+(UST-ID|KK-Adresse|LE-Adresse))*$`)
)

// iso6523 is the ISO 6523 ICD list of XRechnung 2.2 (common.sch,
// ISO-6523-ICD-EXT-CODES) including the extension codes XR01-XR03, which
// the ITSG DiGA patch also adds to EN 16931 BR-CL-11/BR-CL-21.
var iso6523 = func() map[string]bool {
	m := map[string]bool{"XR01": true, "XR02": true, "XR03": true}
	skip := map[int]bool{1: true, 92: true, 103: true, 181: true, 182: true}
	for i := 2; i <= 213; i++ {
		if !skip[i] {
			m[fmt.Sprintf("%04d", i)] = true
		}
	}
	return m
}()

// checker collects the findings of one document.
type checker struct {
	root *xnode
	out  []Finding
}

func (c *checker) add(rule string, lvl Level, n *xnode, format string, args ...any) {
	c.out = append(c.out, Finding{Rule: rule, Level: lvl, XPath: n.path(), Message: fmt.Sprintf(format, args...)})
}

// assert adds a finding when ok is false.
func (c *checker) assert(ok bool, rule string, lvl Level, n *xnode, format string, args ...any) {
	if !ok {
		c.add(rule, lvl, n, format, args...)
	}
}

// Check runs the DiGA billing rules on an invoice and returns the
// findings in a stable order; the invoice is valid when none has
// [LevelError] (see [Valid]). It implements, in Go:
//
//   - "XML": well-formedness, size and depth limits, no DTD;
//   - "XSD": the element structure of UN/CEFACT CII D16B (names, order,
//     cardinality, decimal content) from the schema's own tables;
//   - every assertion of the ITSG DiGA rules dre0.sch (DRE0-*), with
//     DRE0-CORR-4 checked in the exact Anhang 7 form (spec B2.2);
//   - the EN 16931 rules a one-line DiGA invoice can break: mandatory
//     elements (BR-01..BR-16, BR-21..BR-27), sums (BR-CO-10/13/14/15/16),
//     seller identification (BR-CO-26), VAT category S and AE
//     (BR-S-*, BR-AE-*), scheme ids (BR-CL-11/BR-CL-21 with the DiGA
//     patch);
//   - the XRechnung 2.2 rules of the same kind (BR-DE-1..28, BR-DEX-04..06).
//
// Check never panics and never quotes the Freischaltcode.
func Check(doc []byte) []Finding {
	root, err := parseXML(doc)
	if err != nil {
		return []Finding{{Rule: "XML", Level: LevelError, XPath: "/", Message: "document is not readable: " + err.Error()}}
	}
	c := &checker{root: root}
	if root.ns != NSRSM || root.local != "CrossIndustryInvoice" {
		c.add("XSD", LevelError, root, "root element must be rsm:CrossIndustryInvoice (%s)", NSRSM)
		return c.out
	}
	c.structure(root, "rsm:CrossIndustryInvoiceType")
	c.dre0()
	c.en16931()
	c.xrechnung()
	c.fsc()
	return c.out
}

// nsXSI is the XML Schema instance namespace (xsi:schemaLocation).
const nsXSI = "http://www.w3.org/2001/XMLSchema-instance"

// attrsOK reports attributes of n that the type does not declare, or
// whose fixed value differs. xsi:schemaLocation and
// xsi:noNamespaceSchemaLocation are allowed everywhere, as in XSD.
func (c *checker) attrsOK(n *xnode, allowed [][2]string) bool {
	for _, a := range n.attrs {
		if a.Name.Space == nsXSI && (a.Name.Local == "schemaLocation" || a.Name.Local == "noNamespaceSchemaLocation") {
			continue
		}
		ok := false
		for _, d := range allowed {
			if a.Name.Space == "" && a.Name.Local == d[0] {
				ok = d[1] == "" || strings.TrimSpace(a.Value) == d[1]
				break
			}
		}
		if !ok {
			c.add("XSD", LevelError, n, "attribute %s is not allowed on %s (or has the wrong fixed value)", a.Name.Local, n.local)
			return false
		}
	}
	return true
}

var (
	reXSDDateTime = regexp.MustCompile(`^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`)
	reXSDDate     = regexp.MustCompile(`^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$`)
	formatAttr    = [][2]string{{"format", ""}}
)

// leafText checks the text content of a simple element of XSD type typ.
func (c *checker) leafText(n *xnode, typ string) {
	for _, k := range n.kids {
		c.add("XSD", LevelError, k, "element %s is not allowed in %s", k.local, n.local)
		return
	}
	v := strings.TrimSpace(n.value())
	ok := true
	switch typ {
	case "decimal", "xsd:decimal":
		_, ok = parseDecimal(v)
	case "xsd:dateTime":
		ok = reXSDDateTime.MatchString(v)
	case "xsd:date":
		ok = reXSDDate.MatchString(v)
	case "xsd:boolean":
		ok = v == "true" || v == "false" || v == "1" || v == "0"
	}
	if !ok {
		c.add("XSD", LevelError, n, "element %s has content that is not a valid %s", n.local, strings.TrimPrefix(typ, "xsd:"))
	}
}

// structure checks n against the CII D16B type typ: the children's names,
// order and cardinality, attributes, and simple content.
func (c *checker) structure(n *xnode, typ string) {
	seq, ok := ciiTypes[typ]
	if !ok {
		leaf, known := ciiLeaves[typ]
		switch {
		case !known: // an inline element such as qdt:FormattedDateTimeType/DateTimeString
			if c.attrsOK(n, formatAttr) {
				c.leafText(n, "")
			}
		case leaf.kind == "choice":
			if !c.attrsOK(n, nil) {
				return
			}
			if strings.TrimSpace(n.text.String()) != "" {
				c.add("XSD", LevelError, n, "element %s must not contain text", n.local)
				return
			}
			if len(n.kids) != 1 {
				c.add("XSD", LevelError, n, "element %s must contain exactly one of its alternatives", n.local)
				return
			}
			k := n.kids[0]
			for _, alt := range leaf.choice {
				if k.ns == NSUDT && k.local == alt.name {
					if c.attrsOK(k, formatAttr) {
						c.leafText(k, alt.typ)
					}
					return
				}
			}
			c.add("XSD", LevelError, k, "element %s is not allowed in %s", k.local, n.local)
		default:
			if c.attrsOK(n, leaf.attrs) {
				c.leafText(n, leaf.kind)
			}
		}
		return
	}
	if !c.attrsOK(n, nil) {
		return
	}
	if strings.TrimSpace(n.text.String()) != "" {
		c.add("XSD", LevelError, n, "element %s must not contain text", n.local)
		return
	}
	i := 0 // position in seq
	count := 0
	for _, k := range n.kids {
		if k.ns != NSRAM && !(typ == "rsm:CrossIndustryInvoiceType" && k.ns == NSRSM) {
			c.add("XSD", LevelError, k, "element %s is in the wrong namespace", k.local)
			return
		}
		// advance to k's position in the sequence
		j := i
		for j < len(seq) && seq[j].name != k.local {
			j++
		}
		if j == len(seq) {
			c.add("XSD", LevelError, k, "element %s is not allowed here in %s (unknown or out of order)", k.local, n.local)
			return
		}
		if j != i {
			for _, e := range seq[i:j] {
				if e.min > 0 && !(e.name == seq[i].name && count > 0) {
					c.add("XSD", LevelError, n, "element %s misses required child %s before %s", n.local, e.name, k.local)
					return
				}
			}
			i, count = j, 0
		}
		count++
		if seq[i].max > 0 && count > seq[i].max {
			c.add("XSD", LevelError, k, "element %s may occur at most %d times", k.local, seq[i].max)
			return
		}
		c.structure(k, seq[i].typ)
	}
	for j := i; j < len(seq); j++ {
		if seq[j].min > 0 && !(j == i && count > 0) {
			c.add("XSD", LevelError, n, "element %s misses required child %s", n.local, seq[j].name)
			return
		}
	}
}
