package kassenapi

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Namespaces of the endpoint directory (spec A2.4). Note the spelling:
// "XML-Schema" in the MVZ namespaces, "XMLSchema" in the basis ones.
const (
	NamespaceMVZv3   = "http://www.gkv-datenaustausch.de/XML-Schema/EDRE0_MVZ/3.0"
	NamespaceMVZv2   = "http://www.gkv-datenaustausch.de/XML-Schema/EDRE0_MVZ/2.0.0"
	NamespaceBasisv3 = "http://www.gkv-datenaustausch.de/XMLSchema/EDFC0-basis/3.0"
	NamespaceBasisv2 = "http://www.gkv-datenaustausch.de/XMLSchema/EDFC0-basis/2.0.0"
)

// Size limits of directory files (spec A3 "ZIP", "XML hardening"). The
// one XML member of a ZIP is also capped at 10 MiB (stricter than the
// 20 MiB uncompressed limit of the spec, since the XML cap applies anyway).
const (
	MaxDirectoryXMLSize    = 10 << 20 // raw XML, and each unpacked XML
	MaxDirectoryZIPSize    = 10 << 20 // compressed ZIP
	maxDirectoryDepth      = 16
	maxDirectoryEndpoint   = 200
	directoryRootName      = "Kostentraeger_Mappingverzeichnis"
	directoryEntryName     = "Krankenkasseninformation"
	directoryFieldNummer   = "Nummer"
	directoryFieldEnd      = "Endpunkt_Kommunikationsstelle"
	directoryFieldPrefix   = "Kostentraegerkuerzel"
	directoryFieldDispatch = "Versandart"
)

// DirectoryOptions are the optional settings of directory parsing. The
// zero value is the production setting.
type DirectoryOptions struct {
	// AllowTestEndpoints accepts IP literals, ports and single-label hosts
	// such as 127.0.0.1:8443 or localhost as endpoints (fakes, sandbox).
	// Default false: the host must be a DNS name with at least one dot.
	AllowTestEndpoints bool
}

// ParseDirectory parses an endpoint directory file, raw XML or a ZIP with
// exactly one XML member (spec A2.4, A3). It is ParseDirectory with the
// zero DirectoryOptions.
func ParseDirectory(b []byte) (*Directory, []EntryProblem, error) {
	return DirectoryOptions{}.Parse(b)
}

// Parse parses a directory file. Every entry is validated on its own: an
// entry with a bad prefix, IK or Versandart, bad v3 attributes, or a
// prefix that occurs twice with overlapping validity is dropped with a
// fatal EntryProblem; an entry with an unusable endpoint is kept without a
// URL (non-fatal problem). The whole file is rejected with a
// *DirectoryError when it is not XML or ZIP, has a wrong root or
// namespace, carries a DTD, exceeds the limits, or has no entry with a
// usable endpoint. Problems are returned also on success; they are the
// same as Directory.Problems.
//
// REQ: kassenapi-spec:A2.4
func (o DirectoryOptions) Parse(b []byte) (*Directory, []EntryProblem, error) {
	raw, err := UnpackDirectory(b)
	if err != nil {
		return nil, nil, err
	}
	d, err := o.parseXML(raw)
	if err != nil {
		var de *DirectoryError
		if errors.As(err, &de) {
			return nil, de.Problems, err
		}
		return nil, nil, err
	}
	return d, d.Problems(), nil
}

// UnpackDirectory returns the XML of a directory file: b itself when it is
// not a ZIP, else the only *.xml member of the ZIP (detected by
// "PK\x03\x04"). It enforces the size limits and refuses path tricks and
// archives with zero or several XML members.
func UnpackDirectory(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, &DirectoryError{Reason: "empty file"}
	}
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		if len(b) > MaxDirectoryXMLSize {
			return nil, &DirectoryError{Reason: fmt.Sprintf("XML larger than %d bytes", MaxDirectoryXMLSize)}
		}
		return b, nil
	}
	if len(b) > MaxDirectoryZIPSize {
		return nil, &DirectoryError{Reason: fmt.Sprintf("ZIP larger than %d bytes", MaxDirectoryZIPSize)}
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, &DirectoryError{Reason: "broken ZIP", Err: err}
	}
	var member *zip.File
	for _, f := range zr.File {
		name := f.Name
		if strings.Contains(name, `\`) || strings.HasPrefix(name, "/") || path.Clean(name) != name && path.Clean(name)+"/" != name || strings.HasPrefix(path.Clean(name), "..") {
			return nil, &DirectoryError{Reason: "ZIP member with an unsafe path"}
		}
		if f.FileInfo().IsDir() || strings.HasPrefix(name, "__MACOSX/") || !strings.HasSuffix(strings.ToLower(name), ".xml") {
			continue
		}
		if member != nil {
			return nil, &DirectoryError{Reason: "ZIP has more than one XML member"}
		}
		member = f
	}
	if member == nil {
		return nil, &DirectoryError{Reason: "ZIP has no XML member"}
	}
	if member.UncompressedSize64 > MaxDirectoryXMLSize {
		return nil, &DirectoryError{Reason: "unpacked XML too large"}
	}
	rc, err := member.Open()
	if err != nil {
		return nil, &DirectoryError{Reason: "broken ZIP member", Err: err}
	}
	defer rc.Close()
	out, err := io.ReadAll(io.LimitReader(rc, MaxDirectoryXMLSize+1))
	if err != nil {
		return nil, &DirectoryError{Reason: "broken ZIP member", Err: err}
	}
	if len(out) > MaxDirectoryXMLSize {
		return nil, &DirectoryError{Reason: "unpacked XML too large"}
	}
	return out, nil
}

// dirRawEntry is one Krankenkasseninformation as read, before validation.
type dirRawEntry struct {
	index  int
	attrs  map[string]string
	fields map[string]string
	dups   []string // element names that occurred twice
	nested []string // element names with child elements
}

func (o DirectoryOptions) parseXML(b []byte) (*Directory, error) {
	d := &Directory{}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) && !declaresNonUTF8(b) {
		b = dirDecodeWindows1252(b)
		d.warnings = append(d.warnings, "bytes invalid as UTF-8; decoded as windows-1252")
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = dirCharsetReader
	var raws []dirRawEntry
	var rootNS string
	depth := 0
	var cur *dirRawEntry
	var field string
	var text strings.Builder
	childNSWarned := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &DirectoryError{Reason: "not well-formed XML", Err: dirSanitizeXMLErr(err)}
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, &DirectoryError{Reason: "DTD or directive not allowed"}
		case xml.StartElement:
			depth++
			if depth > maxDirectoryDepth {
				return nil, &DirectoryError{Reason: "XML nested too deeply"}
			}
			switch depth {
			case 1:
				if t.Name.Local != directoryRootName {
					return nil, &DirectoryError{Reason: fmt.Sprintf("root element %q is not %s", t.Name.Local, directoryRootName)}
				}
				switch t.Name.Space {
				case NamespaceMVZv3:
					d.version = 3
				case NamespaceMVZv2:
					d.version = 2
				default:
					return nil, &DirectoryError{Reason: fmt.Sprintf("unknown root namespace %q", t.Name.Space)}
				}
				rootNS = t.Name.Space
				for _, a := range t.Attr {
					if a.Name.Local == "version" && a.Name.Space == "" {
						want := map[int]string{3: "003.000.000", 2: "002.000.000"}[d.version]
						if strings.TrimSpace(a.Value) != want {
							d.warnings = append(d.warnings, fmt.Sprintf("root version %q does not match namespace v%d", a.Value, d.version))
						}
					}
				}
			case 2:
				if t.Name.Local != directoryEntryName {
					d.warnings = append(d.warnings, fmt.Sprintf("ignored element %q under the root", t.Name.Local))
					if err := dec.Skip(); err != nil {
						return nil, &DirectoryError{Reason: "not well-formed XML", Err: dirSanitizeXMLErr(err)}
					}
					depth--
					continue
				}
				if t.Name.Space != rootNS && !childNSWarned {
					d.warnings = append(d.warnings, fmt.Sprintf("entry namespace %q differs from the root", t.Name.Space))
					childNSWarned = true
				}
				raws = append(raws, dirRawEntry{index: len(raws), attrs: map[string]string{}, fields: map[string]string{}})
				cur = &raws[len(raws)-1]
				for _, a := range t.Attr {
					if a.Name.Space == "" {
						cur.attrs[a.Name.Local] = a.Value
					}
				}
			case 3:
				want := map[int]string{3: NamespaceBasisv3, 2: NamespaceBasisv2}[d.version]
				if t.Name.Space != want && !childNSWarned {
					d.warnings = append(d.warnings, fmt.Sprintf("entry field namespace %q, expected %q", t.Name.Space, want))
					childNSWarned = true
				}
				field = t.Name.Local
				text.Reset()
			default: // depth 4+: a field with child elements
				if cur != nil && field != "" {
					cur.nested = append(cur.nested, field)
				}
				if err := dec.Skip(); err != nil {
					return nil, &DirectoryError{Reason: "not well-formed XML", Err: dirSanitizeXMLErr(err)}
				}
				depth--
			}
		case xml.CharData:
			if depth == 3 {
				if text.Len()+len(t) > 4096 {
					return nil, &DirectoryError{Reason: "field value too long"}
				}
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 3 && cur != nil {
				if _, dup := cur.fields[field]; dup {
					cur.dups = append(cur.dups, field)
				}
				cur.fields[field] = text.String()
				field = ""
			}
			if depth == 2 {
				cur = nil
			}
			depth--
		}
	}
	if rootNS == "" {
		return nil, &DirectoryError{Reason: "not XML (no root element)"}
	}
	d.size = len(raws)
	if len(raws) == 0 {
		return nil, &DirectoryError{Reason: "no Krankenkasseninformation entries"}
	}
	for i := range raws {
		e, probs, httpsStripped := o.validateEntry(&raws[i])
		d.problems = append(d.problems, probs...)
		if httpsStripped {
			d.warnings = append(d.warnings, fmt.Sprintf("entry %d: leading https:// stripped from the endpoint", raws[i].index))
		}
		if e != nil {
			d.entries = append(d.entries, *e)
		}
	}
	d.dropOverlaps()
	d.byPrefix = map[string][]int{}
	for i, e := range d.entries {
		d.byPrefix[e.Prefix] = append(d.byPrefix[e.Prefix], i)
	}
	if d.Usable() == 0 {
		return nil, &DirectoryError{Reason: "no usable entry", Problems: d.problems}
	}
	d.digest = d.canonicalDigest()
	return d, nil
}

// declaresNonUTF8 reports whether the XML declaration names an encoding
// other than UTF-8 (then the charset reader handles the bytes).
func declaresNonUTF8(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return false
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return false
	}
	decl := strings.ToLower(string(b[:end]))
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return false
	}
	v := strings.Trim(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(decl[i+len("encoding"):]), "=")), `"'`)
	if j := strings.IndexAny(v, `"' `); j >= 0 {
		v = v[:j]
	}
	return v != "utf-8" && v != "utf8"
}

// dirSanitizeXMLErr keeps the decoder's message (line numbers, syntax) but
// drops nothing secret: directory files carry no secrets, so it returns err.
func dirSanitizeXMLErr(err error) error { return err }

// dropOverlaps drops every entry whose prefix occurs again with an
// overlapping validity range (spec A4: drop both, alert).
func (d *Directory) dropOverlaps() {
	drop := make([]bool, len(d.entries))
	groups := map[string][]int{}
	for i, e := range d.entries {
		groups[e.Prefix] = append(groups[e.Prefix], i)
	}
	for _, idx := range groups {
		for x := range idx {
			for _, j := range idx[x+1:] {
				if dirOverlap(d.entries[idx[x]], d.entries[j]) {
					drop[idx[x]], drop[j] = true, true
				}
			}
		}
	}
	kept := d.entries[:0:0]
	for i, e := range d.entries {
		if drop[i] {
			d.problems = append(d.problems, EntryProblem{Index: e.Index, Nummer: e.Nummer, Prefix: e.Prefix, Field: directoryFieldPrefix,
				Reason: "duplicate prefix with overlapping validity", Fatal: true})
			continue
		}
		kept = append(kept, e)
	}
	d.entries = kept
}

func dirOverlap(a, b Entry) bool {
	// [a.From,a.Until] and [b.From,b.Until] overlap unless one ends before the other starts.
	if !a.ValidUntil.IsZero() && !b.ValidFrom.IsZero() && a.ValidUntil.Before(b.ValidFrom) {
		return false
	}
	if !b.ValidUntil.IsZero() && !a.ValidFrom.IsZero() && b.ValidUntil.Before(a.ValidFrom) {
		return false
	}
	return true
}

// validateEntry checks one raw entry. It returns nil when the entry has a
// fatal problem.
func (o DirectoryOptions) validateEntry(r *dirRawEntry) (*Entry, []EntryProblem, bool) {
	e := &Entry{Index: r.index, Nummer: r.attrs[directoryFieldNummer]}
	e.Prefix = strings.TrimSpace(r.fields[directoryFieldPrefix])
	var probs []EntryProblem
	fatal := false
	add := func(field, reason string, isFatal bool) {
		probs = append(probs, EntryProblem{Index: r.index, Nummer: e.Nummer, Prefix: e.Prefix, Field: field, Reason: reason, Fatal: isFatal})
		if isFatal {
			fatal = true
		}
	}
	for _, f := range r.dups {
		add(f, "element occurs twice", true)
	}
	for _, f := range r.nested {
		add(f, "element has child elements", true)
	}
	if !isPrefix(e.Prefix) {
		add(directoryFieldPrefix, "not 2 characters of A-Z2-7", true)
	}
	ik := func(name string) string {
		v := strings.TrimSpace(r.fields[name])
		if !IsIK(v) {
			if v == "" {
				add(name, "missing IK", true)
			} else {
				add(name, "not a 9-digit IK", true)
			}
		}
		return v
	}
	e.IK = ik("Kostentraegerkennung")
	e.BillingIK = ik("IK_des_Rechnungsempfaengers")
	e.ClearingIK = ik("IK_Abrechnungsstelle")
	e.Name = strings.TrimSpace(r.fields["Name_des_Kostentraegers"])
	if e.Name == "" {
		add("Name_des_Kostentraegers", "missing name", false)
	} else if utf8.RuneCountInString(e.Name) > 100 {
		add("Name_des_Kostentraegers", "longer than 100 characters", false)
	}
	e.CommunicationName = strings.TrimSpace(r.fields["Name_Kommunikationsstelle"])
	switch v := strings.TrimSpace(r.fields[directoryFieldDispatch]); v {
	case "1", "2", "3":
		e.Dispatch = Dispatch(v[0] - '0')
	case "":
		add(directoryFieldDispatch, "missing Versandart", true)
	default:
		add(directoryFieldDispatch, "Versandart not 1, 2 or 3", true)
	}
	e.Email = strings.TrimSpace(r.fields["EMail_Kostentraeger"])
	e.Address = PostalAddress{
		Addition:    strings.TrimSpace(r.fields["Postalische_Zusaetze"]),
		Street:      strings.TrimSpace(r.fields["Strasse_Postfach"]),
		HouseNumber: strings.TrimSpace(r.fields["Hausnummer_Postfachnummer"]),
		PostalCode:  strings.TrimSpace(r.fields["PLZ"]),
		City:        strings.TrimSpace(r.fields["Ort"]),
	}
	if e.Dispatch == DispatchEmail && e.Email == "" {
		add("EMail_Kostentraeger", "Versandart 2 without e-mail address", false)
	}
	if e.Dispatch == DispatchPost && !e.Address.Complete() {
		add("Strasse_Postfach", "Versandart 3 without a full postal address", false)
	}
	e.TechPhone = strings.TrimSpace(r.fields["Kontaktdaten_Technisch_Telefon"])
	e.TechEmail = strings.TrimSpace(r.fields["Kontaktdaten_Technisch_EMail"])

	// v3 attributes.
	switch v := strings.TrimSpace(r.attrs["insolvenz"]); v {
	case "", "N":
	case "J":
		e.Insolvent = true
	default:
		add("insolvenz", "not J or N", true)
	}
	date := func(name string) Date {
		v, ok := r.attrs[name]
		if !ok {
			return Date{}
		}
		dt, err := ParseDate(strings.TrimSpace(v))
		if err != nil {
			add(name, "not a date YYYY-MM-DD", true)
		}
		return dt
	}
	e.ValidFrom = date("gueltig_ab")
	e.ValidUntil = date("gueltig_bis")
	if !e.ValidFrom.IsZero() && !e.ValidUntil.IsZero() && e.ValidUntil.Before(e.ValidFrom) {
		add("gueltig_bis", "before gueltig_ab", true)
	}
	if v, ok := r.attrs["nachfolge_kostentraegerkuerzel"]; ok {
		e.SuccessorPrefix = strings.TrimSpace(v)
		switch {
		case !isPrefix(e.SuccessorPrefix):
			add("nachfolge_kostentraegerkuerzel", "not 2 characters of A-Z2-7", true)
		case e.SuccessorPrefix == e.Prefix:
			add("nachfolge_kostentraegerkuerzel", "successor is the entry itself", true)
		}
	}
	if !e.ValidUntil.IsZero() && e.SuccessorPrefix == "" && !e.Insolvent {
		add("gueltig_bis", "gueltig_bis without nachfolge_kostentraegerkuerzel (DRE0-MVZ-1-1)", false)
	}

	e.Endpoint = strings.TrimSpace(r.fields[directoryFieldEnd])
	u, stripped, reason := normalizeEndpoint(e.Endpoint, o.AllowTestEndpoints)
	if reason != "" {
		add(directoryFieldEnd, reason, false)
	}
	e.URL = u
	if fatal {
		return nil, probs, false
	}
	return e, probs, stripped
}

// isPrefix reports whether s is 2 characters of A–Z2–7.
func isPrefix(s string) bool {
	return len(s) == 2 && codeIndex(rune(s[0])) >= 0 && codeIndex(rune(s[1])) >= 0
}

// IsIK reports whether s is an Institutionskennzeichen on the wire: exactly
// 9 ASCII digits, no "IK" prefix.
func IsIK(s string) bool {
	if len(s) != 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// EndpointURL normalises an Endpunkt_Kommunikationsstelle value and returns
// the API URL "https://<host>[/path]/diga" (spec A2.4 "Normalisation").
// allowTest accepts IP literals, ports and single-label hosts.
//
// REQ: kassenapi-spec:A2.4
func EndpointURL(endpoint string, allowTest bool) (string, error) {
	u, _, reason := normalizeEndpoint(endpoint, allowTest)
	if reason != "" {
		return "", fmt.Errorf("kassenapi: endpoint %q: %s: %w", endpoint, reason, ErrNoElectronicEndpoint)
	}
	return u, nil
}

// normalizeEndpoint returns the URL, whether a leading https:// was
// stripped, and a reason when the value is unusable.
func normalizeEndpoint(v string, allowTest bool) (u string, stripped bool, reason string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", false, "empty endpoint"
	}
	if len(v) > maxDirectoryEndpoint {
		return "", false, "endpoint longer than 200 characters"
	}
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "https://"):
		v = v[len("https://"):]
		stripped = true
	case strings.HasPrefix(lower, "http://"):
		return "", false, "plain http:// endpoint refused"
	case strings.Contains(v, "://"):
		return "", false, "endpoint with an unsupported scheme"
	}
	v = strings.TrimRight(v, "/")
	if strings.ContainsAny(v, "?#") {
		return "", stripped, "endpoint with query or fragment"
	}
	if strings.Contains(v, "@") {
		return "", stripped, "endpoint with userinfo"
	}
	host, p, _ := strings.Cut(v, "/")
	if p != "" {
		p = "/" + p
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-._~", r)) {
				return "", stripped, "endpoint path with unsupported characters"
			}
		}
		if strings.Contains(p, "//") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/./") || strings.HasSuffix(p, "/.") {
			return "", stripped, "endpoint path not clean"
		}
	}
	hostname, port := host, ""
	if h, pt, err := net.SplitHostPort(host); err == nil {
		hostname, port = h, pt
	}
	if port != "" {
		if !allowTest {
			return "", stripped, "endpoint with a port (only with AllowTestEndpoints)"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", stripped, "endpoint with a bad port"
		}
	}
	hostname = strings.ToLower(strings.Trim(hostname, "[]"))
	if ip := net.ParseIP(hostname); ip != nil {
		if !allowTest {
			return "", stripped, "endpoint is an IP address (only with AllowTestEndpoints)"
		}
		if ip.To4() == nil {
			hostname = "[" + hostname + "]"
		}
	} else {
		if !isDNSName(hostname) {
			return "", stripped, "endpoint is not a DNS host name"
		}
		if !strings.Contains(hostname, ".") && !allowTest {
			return "", stripped, "endpoint host without a dot"
		}
	}
	if port != "" {
		hostname += ":" + port
	}
	return "https://" + hostname + p + "/diga", stripped, ""
}

func isDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	allDigits := true
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c == '-':
				allDigits = false
			case c >= '0' && c <= '9':
			default:
				return false
			}
		}
	}
	return !allDigits // "3" or "1.2" are not host names
}

// canonicalDigest hashes the kept entries in a fixed text form, sorted by
// prefix and validity start.
func (d *Directory) canonicalDigest() string {
	lines := make([]string, 0, len(d.entries))
	for _, e := range d.entries {
		lines = append(lines, strings.Join([]string{
			e.Prefix, e.ValidFrom.String(), e.ValidUntil.String(), strconv.FormatBool(e.Insolvent), e.SuccessorPrefix,
			e.IK, e.Name, e.BillingIK, e.ClearingIK, e.CommunicationName, e.Endpoint, e.URL, strconv.Itoa(int(e.Dispatch)),
			e.Email, e.Address.Addition, e.Address.Street, e.Address.HouseNumber, e.Address.PostalCode, e.Address.City,
			e.TechPhone, e.TechEmail,
		}, "\x1f"))
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
