package miocheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	fhirNS      = "http://hl7.org/fhir"
	profileBase = "https://fhir.kbv.de/StructureDefinition/"
	mioPrefix   = profileBase + "KBV_PR_MIO_DIGA"
	compProfile = profileBase + "KBV_PR_MIO_DIGA_Composition|1.1.0"
	extPeriod   = profileBase + "KBV_EX_MIO_DIGA_Betrachtungszeitraum"
	maxInput    = 64 << 20
)

// Finding is one problem. Entry is the Bundle entry index, -1 for the
// Bundle itself or a standalone resource.
type Finding struct {
	Entry   int    `json:"entry"`
	Profile string `json:"profile"`
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// String renders one finding line.
func (f Finding) String() string {
	return fmt.Sprintf("entry %d %s %s [%s] %s", f.Entry, f.Profile, f.Path, f.Rule, f.Message)
}

// Checker validates MIO DiGA 1.1.0 documents against the MIO
// StructureDefinitions (differentials) and hand-coded invariants.
type Checker struct {
	sds map[string]*structureDef
	vss map[string]*valueSet
}

type bundleCtx struct {
	byURL map[string]*node // fullUrl → resource
}

type run struct {
	c        *Checker
	findings []Finding
}

func (r *run) add(entry int, prof, path, rule, format string, args ...any) {
	r.findings = append(r.findings, Finding{Entry: entry, Profile: prof, Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// Check validates a complete Bundle or a standalone MIO resource. XML
// that is not well-formed yields one finding with rule "xml".
//
// REQ: mio-spec:6.2, mio-spec:6.3
func (c *Checker) Check(r io.Reader) []Finding {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	ru := &run{c: c}
	if err != nil || len(data) > maxInput {
		ru.add(-1, "", "", "xml", "unreadable or larger than %d bytes", maxInput)
		return ru.findings
	}
	root, err := parse(bytes.NewReader(data))
	if err != nil {
		// The parser's message may quote document content (health data);
		// report only the line.
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			ru.add(-1, "", "", "xml", "not well-formed XML at line %d", se.Line)
		} else {
			ru.add(-1, "", "", "xml", "not well-formed or not a single FHIR document")
		}
		return ru.findings
	}
	ru.rawLexical(data)
	if root.space != fhirNS {
		ru.add(-1, "", root.name, "namespace", "root element not in namespace %s", fhirNS)
		return ru.findings
	}
	if root.name == "Bundle" {
		ru.bundle(root)
	} else {
		ru.resource(root, -1, nil)
	}
	sort.SliceStable(ru.findings, func(i, j int) bool { return ru.findings[i].Entry < ru.findings[j].Entry })
	return ru.findings
}

// rawLexical rejects literal LF, TAB and CR inside attribute values
// (parsers normalise them to spaces).
func (r *run) rawLexical(data []byte) {
	inTag, quote := false, byte(0)
	for _, b := range data {
		switch {
		case quote != 0:
			if b == quote {
				quote = 0
			} else if b == '\n' || b == '\t' || b == '\r' {
				r.add(-1, "", "", "lexical-attribute", "literal line break or tab in an attribute value")
				return
			}
		case inTag && (b == '"' || b == '\''):
			quote = b
		case b == '<':
			inTag = true
		case b == '>':
			inTag = false
		}
	}
}

func mioProfileOf(res *node) string {
	if m := res.child("meta"); m != nil {
		for _, p := range m.all("profile") {
			if strings.HasPrefix(p.value, mioPrefix) {
				return p.value
			}
		}
	}
	return ""
}

var uuidRe = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (r *run) bundle(b *node) {
	prof := mioProfileOf(b)
	if prof != profileBase+"KBV_PR_MIO_DIGA_Bundle|1.1.0" {
		r.add(-1, prof, "Bundle.meta.profile", "profile", "Bundle profile must be KBV_PR_MIO_DIGA_Bundle|1.1.0")
	}
	if sd := r.c.sds[prof]; sd != nil {
		r.applySD(sd, b, -1, prof, nil)
	}
	r.tree(b, -1, prof, "Bundle")
	id := b.child("identifier")
	if id == nil || id.val("system") == "" || id.val("value") == "" {
		r.add(-1, prof, "Bundle.identifier", "bdl-9", "document needs identifier system and value")
	}
	if b.val("type") != "document" {
		r.add(-1, prof, "Bundle.type", "fixed", "type must be document")
	}
	if b.val("timestamp") == "" {
		r.add(-1, prof, "Bundle.timestamp", "bdl-10", "document needs a timestamp")
	}
	ctx := &bundleCtx{byURL: map[string]*node{}}
	entries := b.all("entry")
	var resources []*node
	for i, e := range entries {
		fu := e.val("fullUrl")
		res := e.child("resource")
		var rn *node
		if res != nil && len(res.children) == 1 {
			rn = res.children[0]
		}
		resources = append(resources, rn)
		if fu == "" || rn == nil {
			r.add(i, "", "Bundle.entry", "min", "entry needs fullUrl and resource")
			continue
		}
		if strings.Contains(fu, "/_history/") {
			r.add(i, "", "Bundle.entry.fullUrl", "bdl-8", "fullUrl must not be version specific")
		}
		if _, dup := ctx.byURL[fu]; dup {
			r.add(i, "", "Bundle.entry.fullUrl", "bdl-7", "duplicate fullUrl")
		}
		ctx.byURL[fu] = rn
	}
	comps := 0
	for i, rn := range resources {
		if rn == nil {
			continue
		}
		p := mioProfileOf(rn)
		if p == "" {
			r.add(i, "", rn.name+".meta.profile", "bundle-1", "resource without a KBV_PR_MIO_DIGA profile")
		}
		hasComp := false
		if m := rn.child("meta"); m != nil {
			for _, pp := range m.all("profile") {
				if pp.value == compProfile {
					hasComp = true
				}
			}
		}
		if hasComp {
			comps++
			if i != 0 {
				r.add(i, p, "Bundle.entry", "bdl-11", "the Composition must be the first entry")
			}
		}
		r.resource(rn, i, ctx)
	}
	if comps != 1 {
		r.add(-1, prof, "Bundle.entry", "bundle-2", "exactly one KBV_PR_MIO_DIGA_Composition|1.1.0 required, found %d", comps)
	}
	if len(resources) > 0 && resources[0] != nil && resources[0].name != "Composition" {
		r.add(0, "", "Bundle.entry", "bdl-11", "the first entry must be the Composition")
	}
	r.bundleInvariants(resources, ctx)
}

func (r *run) bundleInvariants(resources []*node, ctx *bundleCtx) {
	questionnaires := map[string]bool{}
	for _, rn := range resources {
		if rn != nil && rn.name == "Questionnaire" {
			u := rn.val("url")
			questionnaires[u] = true
			if v := rn.val("version"); v != "" {
				questionnaires[u+"|"+v] = true
			}
		}
	}
	var period [2]time.Time
	var hasPeriod bool
	for i, rn := range resources {
		if rn == nil {
			continue
		}
		prof := mioProfileOf(rn)
		walk(rn, func(n *node, path string) {
			if n.name == "reference" && n.hasValue {
				if !uuidRe.MatchString(n.value) {
					r.add(i, prof, path, "reference", "reference must be urn:uuid with a lower-case UUID")
				} else if ctx.byURL[n.value] == nil {
					r.add(i, prof, path, "reference", "reference does not resolve inside the bundle")
				}
			}
		}, rn.name)
		switch rn.name {
		case "QuestionnaireResponse":
			if q := rn.val("questionnaire"); !questionnaires[q] {
				r.add(i, prof, "QuestionnaireResponse.questionnaire", "reference", "questionnaire not in the bundle")
			}
		case "Provenance":
			for _, t := range rn.all("target") {
				if tr := ctx.byURL[t.val("reference")]; tr != nil {
					tp := mioProfileOf(tr)
					if strings.Contains(tp, "_DocumentReference") || strings.Contains(tp, "_Goal_Treatment_Goal") {
						r.add(i, prof, "Provenance.target", "targetProfile", "Provenance may not target a DocumentReference or Goal_Treatment_Goal")
					}
				}
			}
		case "Composition":
			for _, ext := range rn.all("extension") {
				if ext.url == extPeriod {
					vp := ext.child("valuePeriod")
					if vp == nil || vp.val("start") == "" || vp.val("end") == "" {
						r.add(i, prof, "Composition.extension:betrachtungszeitraum", "min", "period needs start and end")
						continue
					}
					s, err1 := parseInstant(vp.val("start"))
					e, err2 := parseInstant(vp.val("end"))
					if err1 == nil && err2 == nil {
						period, hasPeriod = [2]time.Time{s, e}, true
					}
				}
			}
			var checkSections func(sec []*node, path string)
			checkSections = func(secs []*node, path string) {
				for _, s := range secs {
					if len(s.all("entry")) == 0 && len(s.all("section")) == 0 {
						r.add(i, prof, path, "cmp-1", "section without entries")
					}
					checkSections(s.all("section"), path+".section")
				}
			}
			checkSections(rn.all("section"), "Composition.section")
		}
	}
	if !hasPeriod {
		return
	}
	for i, rn := range resources {
		if rn == nil {
			continue
		}
		var times []string
		switch rn.name {
		case "Observation":
			times = append(times, rn.val("effectiveDateTime"), rn.val("effectivePeriod", "start"), rn.val("effectivePeriod", "end"))
		case "QuestionnaireResponse":
			times = append(times, rn.val("authored"))
		case "Procedure":
			times = append(times, rn.val("performedDateTime"), rn.val("performedPeriod", "start"), rn.val("performedPeriod", "end"))
		case "DocumentReference":
			times = append(times, rn.val("content", "attachment", "creation"))
		}
		for _, s := range times {
			if s == "" {
				continue
			}
			if t, err := parseInstant(s); err == nil && (t.Before(period[0]) || t.After(period[1])) {
				r.add(i, mioProfileOf(rn), rn.name, "betrachtungszeitraum", "event time outside the document's observation period")
			}
		}
	}
}

func parseInstant(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func walk(n *node, fn func(n *node, path string), path string) {
	walkIf(n, func(n *node, path string) bool { fn(n, path); return true }, path)
}

// walkIf visits FHIR elements depth-first; fn returns false to skip the
// element's children.
func walkIf(n *node, fn func(n *node, path string) bool, path string) {
	if !fn(n, path) {
		return
	}
	for _, c := range n.children {
		if c.space != fhirNS {
			continue
		}
		walkIf(c, fn, path+"."+c.name)
	}
}

var (
	dateTimeRe = regexp.MustCompile(`^-?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
	decimalRe  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	codeNames  = map[string]bool{"code": true, "status": true, "use": true, "gender": true, "lifecycleStatus": true,
		"language": true, "contentType": true, "intent": true, "valueCode": true}
	medStatementStatus = map[string]bool{"active": true, "completed": true, "entered-in-error": true, "intended": true,
		"stopped": true, "on-hold": true, "unknown": true, "not-taken": true}
	vitalProfiles = []string{"Blood_Pressure", "Body_Height", "Body_Temperature", "Body_Weight", "Glucose_Concentration",
		"Head_Circumference", "Heart_Rate", "Peripheral_Oxygen_Saturation", "Respiratory_Rate"}
)

// tree applies the lexical rules and ext-1 to every FHIR element.
func (r *run) tree(root *node, entry int, prof, rootPath string) {
	walkIf(root, func(n *node, path string) bool {
		if n.name == "resource" && path == "Bundle.entry.resource" {
			return false // entry resources are checked on their own
		}
		if n.hasValue {
			v := n.value
			if v == "" {
				r.add(entry, prof, path, "ele-1", "empty value attribute")
				return true
			}
			if strings.HasPrefix(v, "urn:uuid:") && !uuidRe.MatchString(v) {
				r.add(entry, prof, path, "lexical-uuid", "urn:uuid value must be a lower-case UUID")
			}
			if len(v) > 10 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && !dateTimeRe.MatchString(v) {
				r.add(entry, prof, path, "lexical-datetime", "dateTime with a time needs seconds and a zone")
			}
			if n.name == "valueDecimal" || (n.name == "value" && isQuantityParent(path)) {
				if !decimalRe.MatchString(v) {
					r.add(entry, prof, path, "lexical-decimal", "decimal without exponent, leading zeros or NaN required")
				}
			}
			if codeNames[n.name] && (strings.TrimSpace(v) != v || strings.Contains(v, "  ")) {
				r.add(entry, prof, path, "lexical-code", "code with surrounding or double whitespace")
			}
		}
		if n.name == "coding" || n.name == "valueCoding" {
			// Terminology versions of MIO DiGA 1.1.0 (spec §2.6).
			sys, ver := n.val("system"), n.val("version")
			if sys == "http://loinc.org" && ver != "" && ver != "2.72" {
				r.add(entry, prof, path, "terminology-version", "LOINC version must be 2.72")
			}
			if sys == "http://snomed.info/sct" && ver != "" && !strings.HasPrefix(ver, "http://snomed.info/sct/900000000000207008/version/") {
				r.add(entry, prof, path, "terminology-version", "SNOMED CT version must name the international edition")
			}
		}
		if n.name == "extension" || n.name == "modifierExtension" {
			hasValue, hasExt := false, false
			for _, c := range n.children {
				if strings.HasPrefix(c.name, "value") {
					hasValue = true
				}
				if c.name == "extension" {
					hasExt = true
				}
			}
			if hasValue == hasExt {
				r.add(entry, prof, path, "ext-1", "extension needs a value or nested extensions, not both")
			}
		}
		return true
	}, rootPath)
}

func isQuantityParent(path string) bool {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return false
	}
	parent := path[:i]
	if j := strings.LastIndexByte(parent, '.'); j >= 0 {
		parent = parent[j+1:]
	}
	return strings.HasSuffix(parent, "Quantity") || parent == "low" || parent == "high" || parent == "amount"
}

// resource checks one resource against its MIO profile and invariants.
func (r *run) resource(res *node, entry int, ctx *bundleCtx) {
	prof := mioProfileOf(res)
	if prof == "" {
		if entry < 0 {
			r.add(entry, "", res.name+".meta.profile", "profile", "no KBV_PR_MIO_DIGA profile")
		}
		return
	}
	if !strings.HasSuffix(prof, "|1.1.0") {
		r.add(entry, prof, res.name+".meta.profile", "profile", "profile must carry |1.1.0")
	}
	sd := r.c.sds[prof]
	if sd == nil {
		r.add(entry, prof, res.name+".meta.profile", "profile", "unknown MIO profile")
	} else {
		if sd.typ != "" && sd.typ != res.name {
			r.add(entry, prof, res.name, "profile", "resource type does not match the profile")
		}
		r.applySD(sd, res, entry, prof, ctx)
	}
	r.tree(res, entry, prof, res.name)
	r.invariants(res, entry, prof)
}

func (r *run) invariants(res *node, entry int, prof string) {
	switch res.name {
	case "Questionnaire":
		if (res.child("title") == nil) == (res.child("code") == nil) {
			r.add(entry, prof, "Questionnaire", "ques-1", "title xor code")
		}
	case "MedicationStatement":
		if s := res.val("status"); !medStatementStatus[s] {
			r.add(entry, prof, "MedicationStatement.status", "binding", "status not in medication-statement-status")
		}
	case "Patient":
		if g := res.child("gender"); g != nil && g.value == "other" {
			ok := false
			for _, e := range g.all("extension") {
				if e.url == "http://fhir.de/StructureDefinition/gender-amtlich-de" {
					ok = true
				}
			}
			if !ok {
				r.add(entry, prof, "Patient.gender", "pat-1", "gender other needs the gender-amtlich-de extension")
			}
		}
	case "Condition":
		if strings.Contains(prof, "_Condition_Problem|") && !hasPrefixChild(res, "onset") && !hasPrefixChild(res, "abatement") {
			r.add(entry, prof, "Condition", "con-1", "onset or abatement required")
		}
	case "Appointment":
		hasStart, hasEnd := res.child("start") != nil, res.child("end") != nil
		if hasStart != hasEnd {
			r.add(entry, prof, "Appointment", "app-2", "start and end both or neither")
		}
		if st := res.val("status"); !hasStart && st != "proposed" && st != "cancelled" && st != "waitlist" {
			r.add(entry, prof, "Appointment", "app-3", "only proposed, cancelled or waitlist appointments may lack start and end")
		}
	case "CarePlan":
		for _, a := range res.all("activity") {
			if a.child("reference") != nil && a.child("detail") != nil {
				r.add(entry, prof, "CarePlan.activity", "cpl-3", "activity has reference or detail, not both")
			}
		}
	case "Goal":
		for _, t := range res.all("target") {
			if hasPrefixChild(t, "detail") && t.child("measure") == nil {
				r.add(entry, prof, "Goal.target", "gol-1", "target detail needs a measure")
			}
		}
	case "Composition":
		if d := res.val("date"); len(d) < 10 {
			r.add(entry, prof, "Composition.date", "date-1", "date needs at least day precision")
		}
	case "Observation":
		if hasPrefixChild(res, "value") && res.child("dataAbsentReason") != nil {
			r.add(entry, prof, "Observation.dataAbsentReason", "obs-6", "dataAbsentReason only without a value")
		}
		if code := res.child("code"); code != nil {
			for _, comp := range res.all("component") {
				if cc := comp.child("code"); cc != nil && sameCoding(code, cc) {
					r.add(entry, prof, "Observation.component.code", "obs-7", "component code equals the observation code")
				}
			}
		}
		for _, v := range vitalProfiles {
			if strings.Contains(prof, "_Observation_"+v+"|") {
				hasValue := false
				for _, c := range res.children {
					if strings.HasPrefix(c.name, "value") {
						hasValue = true
					}
				}
				if !hasValue && len(res.all("component")) == 0 && len(res.all("hasMember")) == 0 && res.child("dataAbsentReason") == nil {
					r.add(entry, prof, "Observation", "vs-de-2", "vital sign needs a value or components")
				}
			}
		}
	}
	walk(res, func(n *node, path string) {
		if n.name == "attachment" && n.child("data") != nil && n.child("contentType") == nil {
			r.add(entry, prof, path, "att-1", "attachment data needs a contentType")
		}
		if lo, hi := n.child("low"), n.child("high"); lo != nil && hi != nil && lo.child("value") != nil && hi.child("value") != nil &&
			lo.val("code") == hi.val("code") {
			l, err1 := strconv.ParseFloat(lo.val("value"), 64)
			h, err2 := strconv.ParseFloat(hi.val("value"), 64)
			if err1 == nil && err2 == nil && l > h {
				r.add(entry, prof, path, "rng-2", "low must not exceed high")
			}
		}
		if s, e := n.child("start"), n.child("end"); s != nil && e != nil && (strings.HasSuffix(n.name, "Period") || n.name == "period") {
			ts, err1 := parseInstant(s.value)
			te, err2 := parseInstant(e.value)
			if err1 == nil && err2 == nil && ts.After(te) {
				r.add(entry, prof, path, "per-1", "period start after end")
			}
		}
	}, res.name)
}

// ---- StructureDefinition application ----

// applySD checks cardinalities, fixed and pattern values, choice types,
// closed slicing and reference targets of one profile's differential.
func (r *run) applySD(sd *structureDef, res *node, entry int, prof string, ctx *bundleCtx) {
	if sd.base != nil {
		r.applyElements(sd.base, res, entry, prof, ctx)
	}
	r.applyElements(sd, res, entry, prof, ctx)
}

func (r *run) applyElements(sd *structureDef, res *node, entry int, prof string, ctx *bundleCtx) {
	for _, e := range sd.elements {
		if len(e.segs) < 2 {
			continue
		}
		parents, ok := r.resolve(sd, res, e.segs[:len(e.segs)-1])
		if !ok {
			continue
		}
		last := e.segs[len(e.segs)-1]
		for _, p := range parents {
			matched, ok := r.matchChildren(sd, p, e.segs, last)
			if !ok {
				break
			}
			if e.min > 0 && len(matched) < e.min {
				r.add(entry, prof, e.id, "min", "at least %d required, found %d", e.min, len(matched))
			}
			if e.max != "" && e.max != "*" {
				if m, err := strconv.Atoi(e.max); err == nil && len(matched) > m {
					r.add(entry, prof, e.id, "max", "at most %s allowed, found %d", e.max, len(matched))
				}
			}
			for _, n := range matched {
				if e.fixed != nil && !matches(n, e.fixed) {
					rule := "fixed"
					if e.isPattern {
						rule = "pattern"
					}
					r.add(entry, prof, e.id, rule, "value differs from the profile's %s", e.fixed.name)
				}
				if strings.HasSuffix(last, "[x]") && len(e.types) > 0 {
					base := strings.TrimSuffix(last, "[x]")
					typ := strings.TrimPrefix(n.name, base)
					okType := false
					for _, t := range e.types {
						if strings.EqualFold(t, typ) {
							okType = true
						}
					}
					if !okType {
						r.add(entry, prof, e.id, "type", "type %s not allowed", typ)
					}
				}
				if e.binding != "" {
					if vs := r.c.valueSet(e.binding); vs != nil && vs.complete && !vs.contains(n) {
						r.add(entry, prof, e.id, "binding", "code not in the required ValueSet %s", e.binding)
					}
				}
				if ctx != nil && len(e.targets) > 0 {
					r.checkTarget(ctx, n, e, entry, prof)
				}
			}
			if e.rules == "closed" && !strings.Contains(last, ":") {
				r.closedSlicing(sd, p, e, last, entry, prof)
			}
		}
	}
}

func (r *run) checkTarget(ctx *bundleCtx, ref *node, e *element, entry int, prof string) {
	t := ctx.byURL[ref.val("reference")]
	if t == nil {
		return // reported by the reference invariant
	}
	tp := mioProfileOf(t)
	var chain []string
	for sd := r.c.sds[tp]; sd != nil && len(chain) < 8; sd = r.c.sds[sd.baseURL] {
		chain = append(chain, sd.url, strings.Split(sd.url, "|")[0])
		if sd.baseURL == "" {
			break
		}
		chain = append(chain, sd.baseURL, strings.Split(sd.baseURL, "|")[0])
	}
	chain = append(chain, tp, strings.Split(tp, "|")[0],
		"http://hl7.org/fhir/StructureDefinition/"+t.name, "http://hl7.org/fhir/StructureDefinition/Resource")
	for _, allowed := range e.targets {
		for _, c := range chain {
			if allowed == c {
				return
			}
		}
	}
	r.add(entry, prof, e.id, "targetProfile", "referenced resource has a profile not allowed here")
}

func (r *run) closedSlicing(sd *structureDef, parent *node, e *element, last string, entry int, prof string) {
	prefix := e.id + ":"
	var slices []*element
	for _, s := range sd.elements {
		if strings.HasPrefix(s.id, prefix) && !strings.Contains(s.id[len(prefix):], ".") {
			slices = append(slices, s)
		}
	}
	if len(slices) == 0 {
		return
	}
	for _, n := range parent.all(last) {
		found := false
		for _, s := range slices {
			m, ok := r.sliceMatch(sd, s, n)
			if !ok {
				return // an unresolvable slice: do not judge
			}
			if m {
				found = true
				break
			}
		}
		if !found {
			r.add(entry, prof, e.id, "closed-slicing", "item matches no slice of a closed slicing")
		}
	}
}

// resolve returns the instance nodes at the element id segments; ok is
// false when a slice on the way cannot be resolved.
func (r *run) resolve(sd *structureDef, res *node, segs []string) ([]*node, bool) {
	if segs[0] != res.name {
		return nil, false
	}
	nodes := []*node{res}
	for i := 1; i < len(segs); i++ {
		var next []*node
		for _, n := range nodes {
			m, ok := r.matchChildren(sd, n, segs[:i+1], segs[i])
			if !ok {
				return nil, false
			}
			next = append(next, m...)
		}
		nodes = next
		if len(nodes) == 0 {
			return nil, true
		}
	}
	return nodes, true
}

// matchChildren returns the children of n matched by one id segment
// name[:slice]; segs is the id up to and including this segment.
func (r *run) matchChildren(sd *structureDef, n *node, segs []string, seg string) ([]*node, bool) {
	name, slice, _ := strings.Cut(seg, ":")
	var out []*node
	if name == "url" && n.url != "" {
		// Extension.url is an XML attribute.
		return []*node{{name: "url", value: n.url, hasValue: true}}, true
	}
	if strings.HasSuffix(name, "[x]") {
		base := strings.TrimSuffix(name, "[x]")
		for _, c := range n.children {
			if strings.HasPrefix(c.name, base) && len(c.name) > len(base) && c.name[len(base)] >= 'A' && c.name[len(base)] <= 'Z' {
				if slice == "" || c.name == slice {
					out = append(out, c)
				}
			}
		}
		if slice != "" && !strings.HasPrefix(slice, base) {
			return nil, false
		}
		return out, true
	}
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	if slice == "" {
		return out, true
	}
	sliceEl := sd.lookup(strings.Join(segs, "."))
	if sliceEl == nil {
		return nil, false
	}
	var filtered []*node
	for _, c := range out {
		m, ok := r.sliceMatch(sd, sliceEl, c)
		if !ok {
			return nil, false
		}
		if m {
			filtered = append(filtered, c)
		}
	}
	return filtered, true
}

// sliceMatch reports whether instance node n belongs to slice s; ok is
// false when the discriminator cannot be evaluated from the data.
func (r *run) sliceMatch(sd *structureDef, s *element, n *node) (match, ok bool) {
	baseID := s.id[:strings.LastIndexByte(s.id, ':')]
	base := sd.lookup(baseID)
	discs := []discriminator(nil)
	if base != nil {
		discs = base.slicing
	}
	lastName := baseID[strings.LastIndexByte(baseID, '.')+1:]
	if len(discs) == 0 && (lastName == "extension" || lastName == "modifierExtension") {
		discs = []discriminator{{"value", "url"}}
	}
	if len(discs) == 0 {
		return false, false
	}
	for _, d := range discs {
		switch {
		case d.path == "url":
			want := ""
			if len(s.profiles) > 0 {
				want = s.profiles[0]
			} else if u := sd.lookup(s.id + ".url"); u != nil && u.fixed != nil {
				want = u.fixed.value
			} else if te := r.viaTypeProfile(sd, s.id); te != nil && len(te.profiles) > 0 {
				want = te.profiles[0]
			}
			if want == "" {
				return false, false
			}
			if i := strings.IndexByte(want, '|'); i >= 0 {
				want = want[:i]
			}
			if n.url != want {
				return false, true
			}
		case d.path == "$this":
			if d.typ != "value" && d.typ != "pattern" || s.fixed == nil {
				return false, false
			}
			if !matches(n, s.fixed) {
				return false, true
			}
		case d.typ == "value" || d.typ == "pattern":
			parts := strings.Split(d.path, ".")
			found := false
			for k := len(parts); k >= 1; k-- {
				el := sd.lookup(s.id + "." + strings.Join(parts[:k], "."))
				if el == nil || el.fixed == nil {
					// Fall back to the slice's datatype profile
					// (e.g. KBV_PR_Base_Datatype_Name fixes use).
					for _, tp := range s.profiles {
						if tsd := r.c.sds[tp]; tsd != nil {
							if te := tsd.byID[tsd.typ+"."+strings.Join(parts[:k], ".")]; te != nil && te.fixed != nil {
								el = te
							}
						}
					}
				}
				if el == nil || el.fixed == nil {
					continue
				}
				found = true
				any := false
				for _, c := range descend(n, parts[:k]) {
					if matches(c, el.fixed) {
						any = true
					}
				}
				if !any {
					return false, true
				}
				break
			}
			if !found {
				return false, false
			}
		default:
			return false, false
		}
	}
	return true, true
}

func descend(n *node, path []string) []*node {
	nodes := []*node{n}
	for _, p := range path {
		var next []*node
		for _, x := range nodes {
			next = append(next, x.all(p)...)
		}
		nodes = next
	}
	return nodes
}

// matches is the fixed/pattern subset match: every value and child of
// the pattern is present in the instance (for repeated children, some
// instance child matches).
func matches(inst, pat *node) bool {
	if pat.hasValue && inst.value != pat.value {
		return false
	}
	if pat.url != "" && inst.url != pat.url {
		return false
	}
	for _, pc := range pat.children {
		ok := false
		for _, ic := range inst.all(pc.name) {
			if matches(ic, pc) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// viaTypeProfile finds the element id in the datatype profile of one of
// its ancestors (e.g. Patient.name:name → KBV_PR_Base_Datatype_Name, so
// Patient.name:name.family.extension:nachname is
// HumanName.family.extension:nachname there).
func (r *run) viaTypeProfile(sd *structureDef, id string) *element {
	segs := splitID(id)
	for i := len(segs) - 1; i >= 1; i-- {
		anc := sd.lookup(strings.Join(segs[:i], "."))
		if anc == nil {
			continue
		}
		for _, p := range anc.profiles {
			tsd := r.c.sds[p]
			if tsd == nil {
				continue
			}
			if e := tsd.byID[tsd.typ+"."+strings.Join(segs[i:], ".")]; e != nil {
				return e
			}
		}
	}
	return nil
}

func hasPrefixChild(n *node, prefix string) bool {
	for _, c := range n.children {
		if strings.HasPrefix(c.name, prefix) {
			return true
		}
	}
	return false
}

// sameCoding reports whether two CodeableConcepts share a coding.
func sameCoding(a, b *node) bool {
	for _, x := range a.all("coding") {
		for _, y := range b.all("coding") {
			if x.val("system") == y.val("system") && x.val("code") == y.val("code") && x.val("code") != "" {
				return true
			}
		}
	}
	return false
}
