package mio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/digakit/digakit/internal/kvnr"
)

// Validate runs every input check of Build without serialising and
// returns a *ValidationError listing all problems (or nil).
//
// REQ: mio-spec:4
func Validate(x Export, o Options) error {
	var is issues
	ro := resolveOptions(o, &is)
	if x.Source != nil {
		if len(x.Entries) > 0 {
			is.add("Source", ErrConfig, "give either Entries or Source, not both")
			return is.err()
		}
		if err := x.Source.Each(context.Background(), func(e Entry) error {
			x.Entries = append(x.Entries, e)
			return nil
		}); err != nil {
			return fmt.Errorf("mio: entry source: %w", err)
		}
	}
	validateExport(&x, ro, &is)
	return is.err()
}

const maxString = 1 << 20

// checkString validates free text: valid UTF-8, no control characters
// other than TAB/LF/CR, no U+FFFE/U+FFFF, at most 1 MB. It reports
// ErrRequired for a required string that is empty after trimming.
func checkString(is *issues, path, s string, required bool) {
	if strings.TrimSpace(s) == "" {
		if required {
			is.add(path, ErrRequired, "value is required")
		}
		return
	}
	if !validText(s) {
		is.add(path, ErrInvalidString, "invalid characters or too long")
	}
}

func validText(s string) bool {
	if len(s) > maxString || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF || r == 0x7F ||
			(r >= 0x80 && r <= 0x9F) || (r >= 0xD800 && r <= 0xDFFF) {
			return false
		}
	}
	return true
}

// checkCodeText validates a FHIR code value: non-empty, no surrounding or
// double whitespace.
func checkCodeText(is *issues, path, s string, required bool) {
	if s == "" {
		if required {
			is.add(path, ErrRequired, "code is required")
		}
		return
	}
	if !validText(s) || strings.TrimSpace(s) != s || strings.ContainsAny(s, "\t\n\r") || strings.Contains(s, "  ") {
		is.add(path, ErrInvalidCode, "code has surrounding, double or control whitespace")
	}
}

// checkID validates SourceID-like identifiers.
func checkID(is *issues, path, s string) {
	if strings.TrimSpace(s) == "" {
		is.add(path, ErrRequired, "value is required")
		return
	}
	if !validText(s) || strings.ContainsAny(s, "\t\n\r") {
		is.add(path, ErrInvalidIdentifier, "control characters in identifier")
	}
}

func (ro *resolvedOptions) checkTime(is *issues, path string, t time.Time, required bool) bool {
	if t.IsZero() {
		if required {
			is.add(path, ErrRequired, "time is required")
		}
		return false
	}
	if y := t.Year(); y < 1900 || y > 9999 {
		is.add(path, ErrInvalidDate, "year outside 1900..9999")
		return false
	}
	if t.After(ro.now.Add(ro.MaxClockSkew)) {
		is.add(path, ErrInvalidDate, "time lies in the future")
		return false
	}
	return true
}

func checkDecimal(is *issues, path string, d Decimal, required bool) bool {
	if d.IsZero() {
		if required {
			is.add(path, ErrRequired, "value is required")
		}
		return false
	}
	if !validDecimal(d.s) {
		is.add(path, ErrInvalidDecimal, "not a FHIR decimal without exponent and leading zeros")
		return false
	}
	return true
}

// checkCoding validates a coding where system, version, code and display
// are all required (the KBV four-part style).
func checkCoding(is *issues, path string, c *Coding, needVersion bool) {
	checkURI(is, path+".System", c.System)
	// MIO DiGA 1.1.0 pins the terminology versions (spec §2.6).
	switch {
	case c.System == sysLOINC && c.Version != "" && c.Version != verLOINC:
		is.add(path+".Version", ErrInvalidCode, "LOINC version must be %s", verLOINC)
	case c.System == sysSNOMED && c.Version != "" && !strings.HasPrefix(c.Version, "http://snomed.info/sct/900000000000207008/version/"):
		is.add(path+".Version", ErrInvalidCode, "SNOMED CT version must name the international edition")
	}
	checkCodeText(is, path+".Code", c.Code, true)
	if needVersion {
		checkString(is, path+".Version", c.Version, true)
	} else {
		checkString(is, path+".Version", c.Version, false)
	}
	checkString(is, path+".Display", c.Display, true)
}

func checkURI(is *issues, path, s string) {
	if s == "" {
		is.add(path, ErrRequired, "system is required")
		return
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t\r\n") {
		is.add(path, ErrInvalidCode, "system is not an absolute URI")
	}
}

func checkConcept(is *issues, path string, c Concept, required bool) {
	if c.IsZero() {
		if required {
			is.add(path, ErrRequired, "codings or text required")
		}
		return
	}
	for i := range c.Codings {
		checkCoding(is, fmt.Sprintf("%s.Codings[%d]", path, i), &c.Codings[i], true)
	}
	checkString(is, path+".Text", c.Text, false)
}

func checkQuantity(is *issues, path string, q *Quantity, unitRequired bool) {
	checkDecimal(is, path+".Value", q.Value, true)
	if q.Unit == "" {
		if unitRequired {
			is.add(path+".Unit", ErrRequired, "unit is required")
		}
		return
	}
	checkCodeText(is, path+".Unit", q.Unit, true)
	if !validUCUM(q.Unit) {
		is.add(path+".Unit", ErrInvalidUnit, "not a UCUM code")
	}
}

// validUCUM is a lexical UCUM check: printable ASCII without spaces, and
// no common non-UCUM spellings.
func validUCUM(u string) bool {
	if u == "" {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= 0x20 || u[i] >= 0x7F {
			return false
		}
	}
	switch u {
	case "mmHg", "bpm", "lb", "lbs", "°C", "C", "kilogram", "min", "cel":
		return false
	}
	return true
}

func checkValue(is *issues, path string, v Value, required bool) {
	n := 0
	if v.Quantity != nil {
		n++
		checkQuantity(is, path+".Quantity", v.Quantity, false)
	}
	if v.Coding != nil {
		n++
		checkCoding(is, path+".Coding", v.Coding, true)
	}
	if v.String != "" {
		n++
		checkString(is, path+".String", v.String, true)
	}
	if n == 0 && required {
		is.add(path, ErrRequired, "value is required")
	}
	if n > 1 {
		is.add(path, ErrInvalidValue, "more than one value type given")
	}
}

type entryKey struct {
	kind Kind
	id   string
}

func validateExport(x *Export, ro resolvedOptions, is *issues) {
	devices, medications := validateHeader(x, &ro, is)
	if len(x.Entries) == 0 {
		is.add("Entries", ErrEmptyExport, "export has no entries")
		return
	}
	v := newEntryValidator(x, &ro, is, devices, medications)
	for i, e := range x.Entries {
		v.index(i, e)
	}
	for i, e := range x.Entries {
		v.validate(i, e)
	}
}

// validateHeader checks everything but the entries and returns the known
// measuring device and medication ids.
func validateHeader(x *Export, ro *resolvedOptions, is *issues) (devices, medications map[string]bool) {
	checkID(is, "ExportID", x.ExportID)
	// Patient
	p := &x.Patient
	checkID(is, "Patient.SourceID", p.SourceID)
	if p.KVNR != "" {
		var err error
		if ro.LaxKVNR {
			err = kvnr.ValidateFormat(p.KVNR)
		} else {
			err = kvnr.Validate(p.KVNR)
		}
		if err != nil {
			reason := "does not match ^[A-Z][0-9]{9}$"
			if err == kvnr.ErrCheckDigit {
				reason = "check digit mismatch"
			}
			is.add("Patient.KVNR", ErrInvalidIdentifier, "%s", reason)
		}
	}
	if p.Name != nil {
		checkName(is, "Patient.Name", p.Name, false)
	}
	if !p.BirthDate.IsZero() {
		if !p.BirthDate.valid() {
			is.add("Patient.BirthDate", ErrInvalidDate, "not a calendar date")
		} else if p.BirthDate.Year > ro.now.Year() {
			is.add("Patient.BirthDate", ErrInvalidDate, "birth date in the future")
		}
	}
	switch p.Gender {
	case "", GenderMale, GenderFemale, GenderUnknown:
		if p.OfficialGender != "" {
			is.add("Patient.OfficialGender", ErrInvalidValue, "only allowed with gender other")
		}
	case GenderOther:
		switch p.OfficialGender {
		case "D", "X":
		case "":
			is.add("Patient.OfficialGender", ErrRequired, "gender other needs D or X (pat-1)")
		default:
			is.add("Patient.OfficialGender", ErrInvalidCode, "must be D or X")
		}
	default:
		is.add("Patient.Gender", ErrInvalidCode, "unknown gender code")
	}
	// DiGA
	d := &x.DiGA
	if strings.TrimSpace(d.VEID) == "" {
		is.add("DiGA.VEID", ErrRequired, "value is required")
	} else if !validText(d.VEID) || strings.ContainsAny(d.VEID, " \t\r\n") {
		is.add("DiGA.VEID", ErrInvalidIdentifier, "VE-ID must not contain whitespace")
	}
	if d.PZN == "" {
		is.add("DiGA.PZN", ErrRequired, "value is required")
	} else if !ValidPZN(d.PZN) {
		is.add("DiGA.PZN", ErrInvalidIdentifier, "PZN needs 8 digits and a valid check digit")
	}
	checkString(is, "DiGA.Name", d.Name, true)
	checkString(is, "DiGA.Version", d.Version, false)
	if m := d.Manufacturer; m != nil {
		checkString(is, "DiGA.Manufacturer.Name", m.Name, true)
		for _, f := range []struct{ n, v string }{{"URL", m.URL}, {"Street", m.Street}, {"HouseNumber", m.HouseNumber},
			{"PostalCode", m.PostalCode}, {"City", m.City}, {"Country", m.Country}} {
			checkString(is, "DiGA.Manufacturer."+f.n, f.v, false)
		}
		if m.URL != "" {
			if u, err := url.Parse(m.URL); err != nil || u.Scheme == "" {
				is.add("DiGA.Manufacturer.URL", ErrInvalidValue, "not an absolute URL")
			}
		}
	}
	// Period
	okStart := ro.checkTime(is, "Period.Start", x.Period.Start, true)
	okEnd := ro.checkTime(is, "Period.End", x.Period.End, true)
	if okStart && okEnd && x.Period.Start.After(x.Period.End) {
		is.add("Period", ErrPeriod, "start after end")
	}
	if !x.Created.IsZero() {
		ro.checkTime(is, "Created", x.Created, false)
	}
	// Devices
	devices = map[string]bool{}
	for i, dv := range x.Devices {
		path := fmt.Sprintf("Devices[%d]", i)
		checkID(is, path+".ID", dv.ID)
		if devices[dv.ID] {
			is.add(path+".ID", ErrDuplicateSourceID, "duplicate device id")
		}
		devices[dv.ID] = true
		checkString(is, path+".Name", dv.Name, false)
		if dv.Type != nil {
			checkCoding(is, path+".Type", dv.Type, true)
		}
	}
	medications = map[string]bool{}
	for i := range x.Medications {
		m := &x.Medications[i]
		path := fmt.Sprintf("Medications[%d]", i)
		checkID(is, path+".SourceID", m.SourceID)
		if medications[m.SourceID] {
			is.add(path+".SourceID", ErrDuplicateSourceID, "duplicate medication id")
		}
		medications[m.SourceID] = true
		checkConcept(is, path+".Code", m.Code, true)
	}
	return devices, medications
}

// entryValidator validates entries in two passes (keys, then content), so
// that it works on a slice and on an EntrySource alike.
type entryValidator struct {
	x              *Export
	ro             *resolvedOptions
	is             *issues
	keys           map[entryKey]int
	dup            map[int]bool
	nils           map[int]bool
	devices        map[string]bool
	medications    map[string]bool
	questionnaires map[string][]byte
}

func newEntryValidator(x *Export, ro *resolvedOptions, is *issues, devices, medications map[string]bool) *entryValidator {
	return &entryValidator{x: x, ro: ro, is: is, keys: map[entryKey]int{}, dup: map[int]bool{}, nils: map[int]bool{},
		devices: devices, medications: medications, questionnaires: map[string][]byte{}}
}

// index is pass 1: nil entries and duplicate keys.
func (v *entryValidator) index(i int, e Entry) {
	if e == nil {
		v.is.add(fmt.Sprintf("Entries[%d]", i), ErrRequired, "nil entry")
		v.nils[i] = true
		return
	}
	c := e.common()
	k := entryKey{e.Kind(), c.SourceID}
	if j, dup := v.keys[k]; dup && c.SourceID != "" {
		v.is.add(entryPath(i, e)+".SourceID", ErrDuplicateSourceID, "same kind and source id as entry %d", j)
		v.dup[i] = true
		return
	}
	v.keys[k] = i
}

// same reports whether entry e at position i is the one pass 1 saw there.
func (v *entryValidator) same(i int, e Entry) bool {
	if e == nil {
		return v.nils[i]
	}
	if v.nils[i] {
		return false
	}
	j, ok := v.keys[entryKey{e.Kind(), e.common().SourceID}]
	return ok && (j == i || v.dup[i])
}

// validate is pass 2: the entry's own rules and its references.
func (v *entryValidator) validate(i int, e Entry) {
	if e == nil {
		return
	}
	validateEntry(v.is, v.ro, v.x, i, e, v.keys, v.devices, v.questionnaires, v.medications)
}

func entryPath(i int, e Entry) string {
	return fmt.Sprintf("Entries[%d](%s)", i, typeName(e))
}

func typeName(e Entry) string {
	n := fmt.Sprintf("%T", e)
	return n[strings.LastIndexByte(n, '.')+1:]
}

func checkName(is *issues, path string, n *Name, givenRequired bool) {
	checkString(is, path+".Family", n.Family, true)
	checkString(is, path+".OwnName", n.OwnName, false)
	checkString(is, path+".Namenszusatz", n.Namenszusatz, false)
	checkString(is, path+".Vorsatzwort", n.Vorsatzwort, false)
	checkString(is, path+".Given", n.Given, givenRequired)
	checkString(is, path+".AcademicTitle", n.AcademicTitle, false)
}

// ValidPZN checks an 8-digit PZN and its modulo-11 check digit (spec §2.7).
func ValidPZN(s string) bool {
	if len(s) != 8 {
		return false
	}
	sum := 0
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 7 {
			sum += int(s[i]-'0') * (i + 1)
		}
	}
	r := sum % 11
	return r != 10 && r == int(s[7]-'0')
}

func validateEntry(is *issues, ro *resolvedOptions, x *Export, i int, e Entry, index map[entryKey]int,
	devices map[string]bool, questionnaires map[string][]byte, medications map[string]bool) {
	path := entryPath(i, e)
	if ro.Spec != nil && !ro.Spec.Supports(e.Kind()) {
		is.add(path, ErrUnsupported, "entry kind not defined by the selected MIO release")
		return
	}
	c := e.common()
	checkID(is, path+".SourceID", c.SourceID)
	if c.Revision < 0 {
		is.add(path+".Revision", ErrInvalidValue, "revision must be >= 1")
	}
	if !c.LastModified.IsZero() {
		ro.checkTime(is, path+".LastModified", c.LastModified, false)
	}
	checkString(is, path+".Note", c.Note, false)
	switch c.RecordedBy.Kind {
	case "", ActorPatient, ActorDiGA:
	case ActorDevice:
		if !devices[c.RecordedBy.Device] {
			is.add(path+".RecordedBy", ErrDanglingReference, "unknown measuring device")
		}
	default:
		is.add(path+".RecordedBy", ErrInvalidValue, "unknown actor")
	}
	if !c.RecordedAt.IsZero() {
		ro.checkTime(is, path+".RecordedAt", c.RecordedAt, false)
	}
	inPeriod := func(p string, t time.Time) {
		if t.IsZero() || x.Period.Start.IsZero() || x.Period.End.IsZero() {
			return
		}
		if t.Before(x.Period.Start) || t.After(x.Period.End) {
			is.add(p, ErrPeriod, "time outside the export period")
		}
	}
	timeIn := func(p string, t time.Time) {
		if ro.checkTime(is, p, t, true) {
			inPeriod(p, t)
		}
	}
	timing := func(p string, t Timing) {
		if t.Period != nil {
			okS := ro.checkTime(is, p+".Start", t.Period.Start, true)
			okE := ro.checkTime(is, p+".End", t.Period.End, true)
			if okS && okE {
				if t.Period.Start.After(t.Period.End) {
					is.add(p, ErrPeriod, "start after end (per-1)")
				}
				inPeriod(p+".Start", t.Period.Start)
				inPeriod(p+".End", t.Period.End)
			}
			return
		}
		timeIn(p, t.At)
	}
	device := func(p, id string) {
		if id != "" && !devices[id] {
			is.add(p, ErrDanglingReference, "unknown measuring device")
		}
	}
	plaus := func(p string, d Decimal, lo, hi float64, loOpen bool) {
		if ro.NoPlausibility || !validDecimal(d.s) {
			return
		}
		v := d.Float()
		if v < lo || v > hi || (loOpen && v <= lo) {
			is.add(p, ErrInvalidValue, "value outside the plausible range")
		}
	}
	switch v := e.(type) {
	case *BodyWeight, *BodyHeight, *BodyTemperature, *HeartRate, *RespiratoryRate, *OxygenSaturation, *HeadCircumference:
		m := v.(interface{ measurement() *Measurement }).measurement()
		def := vitals[e.Kind()]
		timeIn(path+".Effective", m.Effective)
		ok := checkDecimal(is, path+".Value", m.Value, true)
		if m.Unit == "" {
			is.add(path+".Unit", ErrRequired, "unit is required")
		} else if _, allowed := def.units[m.Unit]; !allowed {
			is.add(path+".Unit", ErrInvalidUnit, "unit not allowed for this kind")
			ok = false
		}
		if m.Code != "" {
			if _, allowed := def.snomed[m.Code]; !allowed {
				is.add(path+".Code", ErrInvalidCode, "SNOMED code not in the kind's ValueSet")
			}
		}
		device(path+".Device", m.Device)
		if ok {
			lo, hi := def.minV, def.maxV
			if e.Kind() == KindBodyWeight && m.Unit == "g" {
				lo, hi = lo*1000, hi*1000
			}
			plaus(path+".Value", m.Value, lo, hi, e.Kind() == KindBodyWeight)
		}
	case *BloodPressure:
		timeIn(path+".Effective", v.Effective)
		okS := checkDecimal(is, path+".Systolic", v.Systolic, true)
		okD := checkDecimal(is, path+".Diastolic", v.Diastolic, true)
		if !v.Mean.IsZero() {
			checkDecimal(is, path+".Mean", v.Mean, false)
		}
		device(path+".Device", v.Device)
		if okS {
			plaus(path+".Systolic", v.Systolic, 20, 350, false)
		}
		if okD {
			plaus(path+".Diastolic", v.Diastolic, 10, 300, false)
		}
		if okS && okD && !ro.NoPlausibility && v.Systolic.Float() < v.Diastolic.Float() {
			is.add(path+".Systolic", ErrInvalidValue, "systolic below diastolic")
		}
	case *Glucose:
		timeIn(path+".Effective", v.Effective)
		ok := checkDecimal(is, path+".Value", v.Value, true)
		spec := v.Specimen
		if spec == "" {
			spec = SpecimenBlood
		}
		if spec != SpecimenBlood && spec != SpecimenInterstitialFluid {
			is.add(path+".Specimen", ErrInvalidCode, "specimen must be blood or interstitial-fluid")
		}
		switch v.Unit {
		case "mg/dL":
			if ok {
				plaus(path+".Value", v.Value, 1, 2000, false)
			}
		case "mmol/L":
			if ok {
				plaus(path+".Value", v.Value, 0.1, 110, false)
			}
		case "":
			is.add(path+".Unit", ErrRequired, "unit is required")
		default:
			is.add(path+".Unit", ErrInvalidUnit, "glucose unit must be mg/dL or mmol/L")
		}
		device(path+".Device", v.Device)
	case *FreeObservation:
		timing(path+".Effective", v.Effective)
		checkConcept(is, path+".Code", v.Code, true)
		checkValue(is, path+".Value", v.Value, false)
	case *DiaryEntry:
		timing(path+".Effective", v.Effective)
		checkString(is, path+".Text", v.Text, true)
		for j, r := range v.Members {
			checkRef(is, fmt.Sprintf("%s.Members[%d]", path, j), r, index, observationKinds)
		}
	case *QuestionnaireResponse:
		timeIn(path+".Authored", v.Authored)
		validateQR(is, path, v, questionnaires)
	case *Score:
		timeIn(path+".Effective", v.Effective)
		if v.Category != "" {
			if _, ok := scoreCategories[v.Category]; !ok {
				is.add(path+".Category", ErrInvalidCode, "not in the score category ValueSet")
			}
		}
		checkConcept(is, path+".Code", v.Code, true)
		checkValue(is, path+".Value", v.Value, true)
		if v.Value.String != "" {
			is.add(path+".Value.String", ErrInvalidValue, "a score value is a quantity or a coding")
		}
		if v.DerivedFrom != nil {
			checkRef(is, path+".DerivedFrom", *v.DerivedFrom, index, map[Kind]bool{KindQuestionnaireResponse: true})
		}
		if r := v.Range; r != nil {
			if r.Low == nil || r.High == nil {
				is.add(path+".Range", ErrInvalidValue, "reference range needs low and high")
			}
			if r.Low != nil {
				checkQuantity(is, path+".Range.Low", r.Low, false)
			}
			if r.High != nil {
				checkQuantity(is, path+".Range.High", r.High, false)
			}
		}
		if v.Interpretation != nil {
			checkCoding(is, path+".Interpretation", v.Interpretation, true)
		}
	case *Activity:
		timing(path+".Performed", v.Performed)
		if v.Category == "" {
			is.add(path+".Category", ErrRequired, "ICF activity category is required")
		} else if _, ok := icfActivity[v.Category]; !ok {
			is.add(path+".Category", ErrInvalidCode, "not in KBV_VS_MIO_DIGA_Activity_Type")
		}
		checkConcept(is, path+".Code", v.Code, true)
	case *Goal:
		timeIn(path+".RecordedAt", c.RecordedAt)
		if v.LifecycleStatus == "" {
			is.add(path+".LifecycleStatus", ErrRequired, "value is required")
		} else if !goalStatus[v.LifecycleStatus] {
			is.add(path+".LifecycleStatus", ErrInvalidValue, "not an R4 goal-status code")
		}
		checkConcept(is, path+".Description", v.Description, true)
		if !v.Start.IsZero() && !v.Start.valid() {
			is.add(path+".Start", ErrInvalidDate, "not a calendar date")
		}
		if t := v.Target; t != nil {
			if t.Measure != nil {
				checkCoding(is, path+".Target.Measure", t.Measure, true)
			}
			if t.Detail != nil {
				checkQuantity(is, path+".Target.Detail", t.Detail, true)
			}
			if !t.Due.IsZero() && !t.Due.valid() {
				is.add(path+".Target.Due", ErrInvalidDate, "not a calendar date")
			}
			if t.Measure == nil && t.Detail == nil && t.Due.IsZero() {
				is.add(path+".Target", ErrRequired, "empty target")
			}
		}
		if _, ok := goalAchievement[v.Achievement]; v.Achievement != "" && !ok {
			is.add(path+".Achievement", ErrInvalidCode, "not an R4 goal-achievement code")
		}
		if _, ok := goalPriority[v.Priority]; v.Priority != "" && !ok {
			is.add(path+".Priority", ErrInvalidCode, "not an R4 goal-priority code")
		}
	case *Attachment:
		timeIn(path+".Created", v.Created)
		checkString(is, path+".Title", v.Title, true)
		checkString(is, path+".Description", v.Description, false)
		if v.ContentType == "" {
			is.add(path+".ContentType", ErrRequired, "value is required")
		} else {
			checkCodeText(is, path+".ContentType", v.ContentType, true)
			if !strings.Contains(v.ContentType, "/") {
				is.add(path+".ContentType", ErrInvalidCode, "not a MIME type")
			}
		}
		if len(v.Data) == 0 {
			is.add(path+".Data", ErrRequired, "data is required")
		} else if v.ContentType == "application/pdf" && !bytes.HasPrefix(v.Data, []byte("%PDF-")) {
			is.add(path+".Data", ErrInvalidValue, "PDF data does not start with %%PDF-")
		}
		if c.RecordedBy.Kind == ActorDevice {
			is.add(path+".RecordedBy", ErrInvalidValue, "an attachment is authored by the patient or the DiGA")
		}
	case *FunctionalAssessment:
		timing(path+".Effective", v.Effective)
		checkICF(is, path+".Category", v.Category, icfFunctional)
		checkConcept(is, path+".Code", v.Code, true)
		checkValue(is, path+".Value", v.Value, false)
		if v.Value.String != "" {
			is.add(path+".Value.String", ErrInvalidValue, "a functional assessment value is a quantity or a coding")
		}
	case *LifeStyleFactor:
		timing(path+".Effective", v.Effective)
		checkICF(is, path+".Category", v.Category, icfLifestyle)
		checkConcept(is, path+".Code", v.Code, true)
		for j, r := range v.Members {
			checkRef(is, fmt.Sprintf("%s.Members[%d]", path, j), r, index, map[Kind]bool{KindFreeObservation: true})
		}
	case *EnvironmentalFactor:
		if v.Effective.Period == nil {
			is.add(path+".Effective", ErrPeriod, "an environmental factor needs a period with start and end")
		} else {
			timing(path+".Effective", v.Effective)
		}
		checkICF(is, path+".Category", v.Category, icfEnvironmental)
		checkConcept(is, path+".Code", v.Code, true)
		for j, r := range v.Members {
			checkRef(is, fmt.Sprintf("%s.Members[%d]", path, j), r, index, map[Kind]bool{KindFreeObservation: true})
		}
	case *NutritionIntake:
		timing(path+".Effective", v.Effective)
		checkConcept(is, path+".Code", v.Code, true)
		for j := range v.Items {
			ip := fmt.Sprintf("%s.Items[%d]", path, j)
			checkConcept(is, ip+".Code", v.Items[j].Code, true)
			checkQuantity(is, ip+".Amount", &v.Items[j].Amount, true)
			if c := v.Items[j].NotConsumedReason; c != nil {
				checkCoding(is, ip+".NotConsumedReason", c, true)
			}
		}
		seen := map[string]bool{}
		for j := range v.Composition {
			cp := fmt.Sprintf("%s.Composition[%d]", path, j)
			fc := &v.Composition[j]
			checkID(is, cp+".SourceID", fc.SourceID)
			if seen[fc.SourceID] {
				is.add(cp+".SourceID", ErrDuplicateSourceID, "duplicate food composition id")
			}
			seen[fc.SourceID] = true
			checkConcept(is, cp+".Code", fc.Code, true)
			checkQuantity(is, cp+".Amount", &fc.Amount, false)
		}
	case *Problem:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkEnum(is, path+".ClinicalStatus", v.ClinicalStatus, conditionClinical, true)
		checkEnum(is, path+".VerificationStatus", v.VerificationStatus, conditionVerification, false)
		if v.Category == "" {
			is.add(path+".Category", ErrRequired, "problem type is required")
		} else if _, ok := problemTypes[v.Category]; !ok {
			is.add(path+".Category", ErrInvalidCode, "not in KBV_VS_MIO_DIGA_Problem_Type")
		}
		checkConcept(is, path+".Code", v.Code, true)
		checkHistoric(is, ro, path+".Onset", v.Onset, true)
		if v.Abatement != nil {
			checkHistoric(is, ro, path+".Abatement", *v.Abatement, true)
		}
		if v.Recorder != nil {
			checkRef(is, path+".Recorder", *v.Recorder, index, map[Kind]bool{KindPractitioner: true, KindPractitionerRole: true})
		}
	case *Allergy:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkEnum(is, path+".ClinicalStatus", v.ClinicalStatus, allergyClinical, false)
		checkEnum(is, path+".VerificationStatus", v.VerificationStatus, allergyVerification, false)
		if v.Type != "" && !allergyTypes[v.Type] {
			is.add(path+".Type", ErrInvalidCode, "must be allergy or intolerance")
		}
		if v.Category != "" && !allergyCategories[v.Category] {
			is.add(path+".Category", ErrInvalidCode, "must be food, medication, environment or biologic")
		}
		if v.Criticality != "" && !allergyCriticality[v.Criticality] {
			is.add(path+".Criticality", ErrInvalidCode, "must be low, high or unable-to-assess")
		}
		checkConcept(is, path+".Code", v.Code, true)
		for j, cd := range v.Code.Codings {
			if cd.System != sysSNOMED && cd.System != "http://fhir.de/CodeSystem/ask" {
				is.add(fmt.Sprintf("%s.Code.Codings[%d].System", path, j), ErrInvalidCode, "allergy codes are SNOMED CT or ASK")
			}
		}
		if !v.Onset.IsZero() {
			checkHistoric(is, ro, path+".Onset", Timing{At: v.Onset}, false)
		}
		if v.Recorder != nil {
			checkRef(is, path+".Recorder", *v.Recorder, index, map[Kind]bool{KindPractitioner: true, KindPractitionerRole: true, KindRelatedPerson: true})
		}
	case *Practitioner:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkName(is, path+".Name", &v.Name, true)
	case *Organization:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkString(is, path+".Name", v.Name, true)
	case *PractitionerRole:
		timeIn(path+".RecordedAt", c.RecordedAt)
		if v.Practitioner == "" {
			is.add(path+".Practitioner", ErrRequired, "practitioner is required")
		} else {
			checkRef(is, path+".Practitioner", Ref{KindPractitioner, v.Practitioner}, index, map[Kind]bool{KindPractitioner: true})
		}
		if v.Organization == "" {
			is.add(path+".Organization", ErrRequired, "organization is required")
		} else {
			checkRef(is, path+".Organization", Ref{KindOrganization, v.Organization}, index, map[Kind]bool{KindOrganization: true})
		}
	case *RelatedPerson:
		timeIn(path+".RecordedAt", c.RecordedAt)
		if v.Name != nil {
			checkName(is, path+".Name", v.Name, false)
		}
		if v.Relationship != nil {
			checkCoding(is, path+".Relationship", v.Relationship, true)
		}
	case *MedicationStatement:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkEnum(is, path+".Status", v.Status, medStatementStatus, true)
		checkMedication(is, path+".Medication", v.Medication, medications)
		if v.Effective != nil {
			future := *ro
			future.now = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
			checkHistoric(is, &future, path+".Effective", *v.Effective, true)
		}
		checkString(is, path+".Dosage", v.Dosage, false)
		if g := v.TreatmentGoal; g != nil {
			checkID(is, path+".TreatmentGoal.SourceID", g.SourceID)
			if !goalStatus[g.LifecycleStatus] {
				is.add(path+".TreatmentGoal.LifecycleStatus", ErrInvalidValue, "not an R4 goal-status code")
			}
			checkConcept(is, path+".TreatmentGoal.Description", g.Description, true)
		}
	case *MedicationIntake:
		timing(path+".Effective", v.Effective)
		checkMedication(is, path+".Medication", v.Medication, medications)
		checkQuantity(is, path+".Dose", &v.Dose, false)
		if v.Statement != "" {
			checkRef(is, path+".Statement", Ref{KindMedicationStatement, v.Statement}, index, map[Kind]bool{KindMedicationStatement: true})
		}
	case *CarePlan:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkEnum(is, path+".Status", v.Status, requestStatus, true)
		checkString(is, path+".Title", v.Title, false)
		for j, r := range v.Goals {
			checkRef(is, fmt.Sprintf("%s.Goals[%d]", path, j), r, index, map[Kind]bool{KindGoal: true})
		}
	case *Appointment:
		timeIn(path+".RecordedAt", c.RecordedAt)
		checkEnum(is, path+".Status", v.Status, appointmentStatus, true)
		if (v.Start == nil) != (v.End == nil) {
			is.add(path+".Start", ErrInvalidValue, "start and end both or neither (app-2)")
		}
		if v.Status == "booked" && (v.Start == nil || v.End == nil) {
			is.add(path+".Start", ErrInvalidValue, "a booked appointment needs start and end (app-3)")
		}
		if v.Start != nil && v.End != nil {
			if y := v.Start.Year(); y < 1900 || y > 9999 {
				is.add(path+".Start", ErrInvalidDate, "year outside 1900..9999")
			}
			if y := v.End.Year(); y < 1900 || y > 9999 {
				is.add(path+".End", ErrInvalidDate, "year outside 1900..9999")
			}
			if v.Start.After(*v.End) {
				is.add(path+".Start", ErrPeriod, "start after end")
			}
		}
		checkString(is, path+".Comment", v.Comment, false)
		for j, r := range v.Participants {
			checkRef(is, fmt.Sprintf("%s.Participants[%d]", path, j), r, index, contactKinds)
		}
	case *Encounter:
		timing(path+".Period", Timing{Period: &v.Period})
		checkEnum(is, path+".Status", v.Status, encounterStatus, true)
		checkEnum(is, path+".Class", v.Class, encounterClass, true)
		for j, r := range v.Participants {
			checkRef(is, fmt.Sprintf("%s.Participants[%d]", path, j), r, index, contactKinds)
		}
		if v.ServiceProvider != "" {
			checkRef(is, path+".ServiceProvider", Ref{KindOrganization, v.ServiceProvider}, index, map[Kind]bool{KindOrganization: true})
		}
	default:
		is.add(path, ErrUnsupported, "entry kind not supported")
	}
}

var contactKinds = map[Kind]bool{KindPractitioner: true, KindPractitionerRole: true, KindRelatedPerson: true}

func checkMedication(is *issues, path, id string, medications map[string]bool) {
	if id == "" {
		is.add(path, ErrRequired, "medication is required")
	} else if !medications[id] {
		is.add(path, ErrDanglingReference, "medication not in Export.Medications")
	}
}

func checkEnum(is *issues, path, v string, set map[string]string, required bool) {
	if v == "" {
		if required {
			is.add(path, ErrRequired, "value is required")
		}
		return
	}
	if _, ok := set[v]; !ok {
		is.add(path, ErrInvalidValue, "code outside the profile's code list")
	}
}

// checkHistoric validates a timing that may lie before the export period
// (onset, abatement): plausible years, not in the future, start <= end.
func checkHistoric(is *issues, ro *resolvedOptions, path string, t Timing, required bool) {
	if t.IsZero() {
		if required {
			is.add(path, ErrRequired, "value is required")
		}
		return
	}
	if t.Period != nil {
		okS := ro.checkTime(is, path+".Start", t.Period.Start, true)
		okE := ro.checkTime(is, path+".End", t.Period.End, true)
		if okS && okE && t.Period.Start.After(t.Period.End) {
			is.add(path, ErrPeriod, "start after end (per-1)")
		}
		return
	}
	ro.checkTime(is, path, t.At, true)
}

func checkICF(is *issues, path, code string, vs map[string]string) {
	if code == "" {
		return
	}
	if _, ok := vs[code]; !ok {
		is.add(path, ErrInvalidCode, "not in the profile's ICF ValueSet")
	}
}

var observationKinds = map[Kind]bool{
	KindBodyWeight: true, KindBodyHeight: true, KindBodyTemperature: true, KindHeartRate: true,
	KindRespiratoryRate: true, KindOxygenSaturation: true, KindHeadCircumference: true, KindBloodPressure: true,
	KindGlucose: true, KindFreeObservation: true, KindScore: true,
}

func checkRef(is *issues, path string, r Ref, index map[entryKey]int, allowed map[Kind]bool) {
	if r.SourceID == "" || r.Kind == "" {
		is.add(path, ErrRequired, "reference needs kind and sourceId")
		return
	}
	if _, ok := index[entryKey{r.Kind, r.SourceID}]; !ok {
		is.add(path, ErrDanglingReference, "referenced entry not in the export")
		return
	}
	if !allowed[r.Kind] {
		is.add(path, ErrDanglingReference, "referenced kind not allowed here")
	}
}

func validateQR(is *issues, path string, v *QuestionnaireResponse, seen map[string][]byte) {
	q := &v.Questionnaire
	qp := path + ".Questionnaire"
	if q.URL == "" {
		is.add(qp+".URL", ErrRequired, "questionnaire URL is required")
	} else if u, err := url.Parse(q.URL); err != nil || !u.IsAbs() || strings.ContainsAny(q.URL, " \t\r\n|") {
		is.add(qp+".URL", ErrInvalidIdentifier, "questionnaire URL must be absolute without whitespace")
	}
	checkString(is, qp+".Version", q.Version, false)
	if q.Language != "" {
		checkCodeText(is, qp+".Language", q.Language, true)
	}
	if (q.Title == "") == (q.Code == nil) {
		is.add(qp+".Title", ErrInvalidValue, "exactly one of title and code (ques-1)")
	}
	checkString(is, qp+".Title", q.Title, false)
	if q.Code != nil {
		checkCoding(is, qp+".Code", q.Code, true)
	}
	if len(q.Items) == 0 {
		is.add(qp+".Items", ErrRequired, "questionnaire needs items")
	}
	items := map[string]*Item{}
	for j := range q.Items {
		it := &q.Items[j]
		ip := fmt.Sprintf("%s.Items[%d]", qp, j)
		checkCodeText(is, ip+".LinkID", it.LinkID, true)
		if items[it.LinkID] != nil {
			is.add(ip+".LinkID", ErrDuplicateSourceID, "duplicate linkId")
		}
		items[it.LinkID] = it
		checkString(is, ip+".Text", it.Text, false)
		switch it.Type {
		case ItemBoolean, ItemDecimal, ItemInteger, ItemString, ItemText, ItemDateTime, ItemTime, ItemChoice, ItemQuantity, ItemDisplay:
		case "date":
			is.add(ip+".Type", ErrUnsupported, "date items cannot be answered (valueDate is not allowed)")
		default:
			is.add(ip+".Type", ErrInvalidCode, "unknown item type")
		}
		for k := range it.AnswerOptions {
			checkCoding(is, fmt.Sprintf("%s.AnswerOptions[%d]", ip, k), &it.AnswerOptions[k], true)
		}
	}
	if q.URL != "" {
		key := q.URL + "|" + q.Version
		b, _ := json.Marshal(q)
		if prev, ok := seen[key]; ok && !bytes.Equal(prev, b) {
			is.add(qp, ErrDuplicateSourceID, "same URL and version with different content")
		}
		seen[key] = b
	}
	if len(v.Answers) == 0 {
		is.add(path+".Answers", ErrRequired, "answers are required")
	}
	for j := range v.Answers {
		a := &v.Answers[j]
		ap := fmt.Sprintf("%s.Answers[%d]", path, j)
		it := items[a.LinkID]
		if it == nil {
			is.add(ap+".LinkID", ErrInvalidValue, "answer for an unknown linkId")
			continue
		}
		n, typ := 0, ""
		if a.Boolean != nil {
			n, typ = n+1, ItemBoolean
		}
		if !a.Decimal.IsZero() {
			n, typ = n+1, ItemDecimal
			checkDecimal(is, ap+".Decimal", a.Decimal, true)
		}
		if a.Integer != nil {
			n, typ = n+1, ItemInteger
			if *a.Integer > 2147483647 || *a.Integer < -2147483648 {
				is.add(ap+".Integer", ErrInvalidValue, "FHIR integers are 32-bit")
			}
		}
		if a.String != "" {
			n, typ = n+1, ItemString
			checkString(is, ap+".String", a.String, true)
		}
		if !a.DateTime.IsZero() {
			n, typ = n+1, ItemDateTime
			if y := a.DateTime.Year(); y < 1900 || y > 9999 {
				is.add(ap+".DateTime", ErrInvalidDate, "year outside 1900..9999")
			}
		}
		if a.Time != "" {
			n, typ = n+1, ItemTime
			if _, err := time.Parse("15:04:05", a.Time); err != nil || len(a.Time) != 8 {
				is.add(ap+".Time", ErrInvalidDate, "time must be hh:mm:ss")
			}
		}
		if a.Coding != nil {
			n, typ = n+1, ItemChoice
			checkCoding(is, ap+".Coding", a.Coding, true)
			if len(it.AnswerOptions) > 0 {
				found := false
				for _, o := range it.AnswerOptions {
					if o.System == a.Coding.System && o.Code == a.Coding.Code {
						found = true
					}
				}
				if !found {
					is.add(ap+".Coding", ErrInvalidCode, "coding not in the item's answer options")
				}
			}
		}
		if a.Quantity != nil {
			n, typ = n+1, ItemQuantity
			checkQuantity(is, ap+".Quantity", a.Quantity, true)
		}
		if n != 1 {
			is.add(ap, ErrRequired, "exactly one answer value is required")
			continue
		}
		want := it.Type
		if want == ItemText {
			want = ItemString
		}
		if typ != want {
			is.add(ap, ErrInvalidValue, "answer type does not match the item type")
		}
	}
}
