package mio

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/digakit/digakit/mio/internal/xmlw"
)

// rw writes FHIR resources of one document.
type rw struct {
	*xmlw.Writer
	b *builder
	// frame omits everything that belongs to clusters (entry resources,
	// their section references and Provenance targets), so that a
	// document's exact size is the frame plus its measured clusters.
	frame bool
}

func urn(id string) string { return "urn:uuid:" + id }

// text writes a free-text primitive, trimmed (FHIR strings carry no
// surrounding whitespace).
func (w *rw) text(name, s string) { w.Prim(name, strings.TrimSpace(s)) }

// REQ: mio-spec:2.8
func (w *rw) instant(t time.Time) string {
	t = t.In(w.b.o.Location)
	if ms := t.Nanosecond() / 1e6; ms != 0 {
		return t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")
	}
	return t.Format("2006-01-02T15:04:05Z07:00")
}

func (w *rw) entry(id string, body func()) {
	w.Start("entry")
	w.Prim("fullUrl", urn(id))
	w.Start("resource")
	body()
	w.End()
	w.End()
}

func (w *rw) meta(version string, last time.Time, prof string) {
	w.Start("meta")
	w.Prim("versionId", version)
	w.Prim("lastUpdated", w.instant(last))
	w.Prim("profile", profile(prof))
	w.End()
}

// REQ: mio-spec:2.4
func (w *rw) resourceHead(typ, id, prof string, c *Common) {
	w.Start(typ)
	w.Prim("id", id)
	version, last := "1", w.b.created
	if c != nil {
		if c.Revision > 0 {
			version = strconv.Itoa(c.Revision)
		}
		if !c.LastModified.IsZero() {
			last = c.LastModified
		}
	}
	w.meta(version, last, prof)
}

func (w *rw) coding(c Coding) {
	w.Start("coding")
	w.Prim("system", c.System)
	w.text("version", c.Version)
	w.Prim("code", c.Code)
	w.text("display", c.Display)
	w.End()
}

func (w *rw) concept(name string, codings []Coding, text string) {
	w.Start(name)
	for _, c := range codings {
		w.coding(c)
	}
	w.text("text", text)
	w.End()
}

func (w *rw) identifierRI(id string) {
	w.Start("identifier")
	w.concept("type", []Coding{riType}, "")
	w.Prim("system", sysRFC3986)
	w.Prim("value", urn(id))
	w.End()
}

func (w *rw) ref(name, id string) {
	w.Start(name)
	w.Prim("reference", urn(id))
	w.End()
}

func (w *rw) quantity(name string, v Decimal, unit, system, code string) {
	w.Start(name)
	w.Prim("value", v.String())
	w.Prim("unit", unit)
	w.Prim("system", system)
	w.Prim("code", code)
	w.End()
}

func (w *rw) ucum(name string, q *Quantity) {
	if q.Unit == "" {
		w.quantity(name, q.Value, "", "", "")
		return
	}
	w.quantity(name, q.Value, q.Unit, sysUCUM, q.Unit)
}

func (w *rw) note(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	w.Start("note")
	w.text("text", s)
	w.End()
}

func (w *rw) dateTime(name string, t time.Time) { w.Prim(name, w.instant(t)) }

func (w *rw) timing(prefix string, t Timing) {
	if t.Period != nil {
		w.Start(prefix + "Period")
		w.dateTime("start", t.Period.Start)
		w.dateTime("end", t.Period.End)
		w.End()
		return
	}
	w.dateTime(prefix+"DateTime", t.At)
}

// ---- Composition and fixed resources ----

func (w *rw) sectionHeader(s section) {
	w.Start("section")
	w.Prim("title", s.title)
	w.Start("code")
	w.coding(Coding{s.system, s.version, s.code, s.display})
	w.End()
}

// REQ: mio-spec:2.3
func (w *rw) composition(d *Document, id string, c *docContent, skeleton bool) {
	b := w.b
	w.Start("Composition")
	w.Prim("id", id)
	w.meta("1", b.ts, "Composition")
	w.Start("extension", "url", extPeriod)
	w.Start("valuePeriod")
	w.dateTime("start", d.Period.Start)
	w.dateTime("end", d.Period.End)
	w.End()
	w.End()
	w.Prim("status", "final")
	w.concept("type", []Coding{compType}, "")
	w.ref("subject", b.patientID)
	w.dateTime("date", b.created)
	w.ref("author", b.digaID)
	w.Prim("title", "DiGA-Export")
	for s := 0; s < numSections; s++ {
		refs := c.sections[s]
		hasVital := s == secBefunde && (len(c.vital) > 0 || (skeleton && b.vitalUsed))
		if len(refs) == 0 && !hasVital && !(skeleton && refs != nil) {
			continue
		}
		w.sectionHeader(sections[s])
		if w.frame {
			refs = refs[:c.sharedN[s]]
		}
		for _, r := range refs {
			w.ref("entry", r)
		}
		if hasVital {
			w.sectionHeader(vitalSection)
			if !w.frame {
				for _, r := range c.vital {
					w.ref("entry", r)
				}
			}
			w.End()
		}
		w.End()
	}
	w.End()
}

// REQ: mio-spec:2.5.1, gidrp-spec:2.8
func (w *rw) patient() {
	b := w.b
	p := &b.x.Patient
	w.resourceHead("Patient", b.patientID, "Patient", nil)
	w.identifierRI(b.patientID)
	if p.KVNR != "" {
		w.Start("identifier")
		w.Prim("use", "official")
		w.Start("type")
		w.coding(Coding{System: sysIDTypeDE, Code: "GKV", Display: "Gesetzliche Krankenversicherung"})
		w.End()
		w.Prim("system", sysKVID)
		w.Prim("value", p.KVNR)
		w.End()
	}
	if n := p.Name; n != nil {
		w.humanName(n)
	}
	if p.Gender != "" {
		if p.Gender == GenderOther {
			w.Start("gender", "value", string(p.Gender))
			w.Start("extension", "url", extGenderDE)
			display := map[string]string{"D": "divers", "X": "unbestimmt"}[p.OfficialGender]
			w.Start("valueCoding")
			w.Prim("system", sysGenderDE)
			w.Prim("code", p.OfficialGender)
			w.Prim("display", display)
			w.End()
			w.End()
			w.End()
		} else {
			w.Prim("gender", string(p.Gender))
		}
	}
	w.Prim("birthDate", p.BirthDate.String())
	w.End()
}

func (w *rw) humanName(n *Name) {
	w.Start("name")
	w.Prim("use", "official")
	family := strings.TrimSpace(n.Family)
	own := strings.TrimSpace(n.OwnName)
	if own == "" {
		own = family
	}
	w.Start("family", "value", family)
	if z := strings.TrimSpace(n.Namenszusatz); z != "" {
		w.Start("extension", "url", extZusatz)
		w.Prim("valueString", z)
		w.End()
	}
	w.Start("extension", "url", extOwnName)
	w.Prim("valueString", own)
	w.End()
	if v := strings.TrimSpace(n.Vorsatzwort); v != "" {
		w.Start("extension", "url", extOwnPrefix)
		w.Prim("valueString", v)
		w.End()
	}
	w.End()
	w.text("given", n.Given)
	if t := strings.TrimSpace(n.AcademicTitle); t != "" {
		w.Start("prefix", "value", t)
		w.Start("extension", "url", extQualifier)
		w.Prim("valueCode", "AC")
		w.End()
		w.End()
	}
	w.End()
}

func (w *rw) deviceDiGA() {
	b := w.b
	g := &b.x.DiGA
	w.resourceHead("Device", b.digaID, "Device_DIGA", nil)
	w.Start("identifier")
	w.Start("type")
	w.Prim("text", "DiGA-VE-ID")
	w.End()
	w.Prim("value", g.VEID)
	w.End()
	w.ref("definition", b.digaDefID)
	w.Start("deviceName")
	w.text("name", g.Name)
	w.Prim("type", "user-friendly-name")
	w.End()
	w.Start("type")
	w.Start("coding")
	w.Prim("system", sysPZN)
	w.Prim("code", g.PZN)
	w.End()
	w.End()
	if v := strings.TrimSpace(g.Version); v != "" {
		w.Start("version")
		w.concept("type", []Coding{softwareType}, "Softwareversion")
		w.Prim("value", v)
		w.End()
	}
	w.End()
}

func (w *rw) deviceDefinitionDiGA() {
	b := w.b
	w.resourceHead("DeviceDefinition", b.digaDefID, "DeviceDefinition_DIGA", nil)
	w.identifierRI(b.digaDefID)
	if b.manufID != "" {
		w.ref("manufacturerReference", b.manufID)
	}
	w.concept("type", []Coding{appSoftware}, "")
	w.End()
}

func (w *rw) manufacturer() {
	b := w.b
	m := b.x.DiGA.Manufacturer
	w.resourceHead("Organization", b.manufID, "Organization_Manufacturer", nil)
	w.identifierRI(b.manufID)
	w.text("name", m.Name)
	if u := strings.TrimSpace(m.URL); u != "" {
		w.Start("telecom")
		w.Prim("system", "url")
		w.Prim("value", u)
		w.End()
	}
	street, no := strings.TrimSpace(m.Street), strings.TrimSpace(m.HouseNumber)
	if street != "" || m.City != "" || m.PostalCode != "" || m.Country != "" {
		w.Start("address")
		w.Prim("type", "both")
		if street != "" {
			line := street
			if no != "" {
				line += " " + no
			}
			w.Start("line", "value", line)
			w.Start("extension", "url", extStreet)
			w.Prim("valueString", street)
			w.End()
			if no != "" {
				w.Start("extension", "url", extHouseNo)
				w.Prim("valueString", no)
				w.End()
			}
			w.End()
		}
		w.text("city", m.City)
		w.text("postalCode", m.PostalCode)
		w.text("country", m.Country)
		w.End()
	}
	w.End()
}

func (w *rw) measuringDevice(d *MeasuringDevice) {
	b := w.b
	ids := b.devices[d.ID]
	w.entry(ids[0], func() {
		w.resourceHead("Device", ids[0], "Device", nil)
		w.identifierRI(ids[0])
		w.ref("definition", ids[1])
		if n := strings.TrimSpace(d.Name); n != "" {
			w.Start("deviceName")
			w.Prim("name", n)
			w.Prim("type", "user-friendly-name")
			w.End()
		}
		if d.Type != nil {
			w.concept("type", []Coding{*d.Type}, "")
		} else {
			w.concept("type", nil, "Messgerät")
		}
		w.ref("patient", b.patientID)
		w.End()
	})
	w.entry(ids[1], func() {
		w.resourceHead("DeviceDefinition", ids[1], "DeviceDefinition", nil)
		w.identifierRI(ids[1])
		w.concept("type", []Coding{deviceType}, "")
		w.End()
	})
}

func (w *rw) questionnaire(id string, q *QuestionnaireDef) {
	w.entry(id, func() {
		w.resourceHead("Questionnaire", id, "Questionnaire", nil)
		lang := q.Language
		if lang == "" {
			lang = "de"
		}
		w.Prim("language", lang)
		w.Prim("url", q.URL)
		w.identifierRI(id)
		w.text("version", q.Version)
		w.text("title", q.Title)
		w.Prim("status", "active")
		if q.Code != nil {
			w.Start("code")
			w.Prim("system", q.Code.System)
			w.text("version", q.Code.Version)
			w.Prim("code", q.Code.Code)
			w.text("display", q.Code.Display)
			w.End()
		}
		for _, it := range q.Items {
			w.Start("item")
			w.Prim("linkId", it.LinkID)
			w.text("text", it.Text)
			w.Prim("type", it.Type)
			for _, o := range it.AnswerOptions {
				w.Start("answerOption")
				w.Start("valueCoding")
				w.Prim("system", o.System)
				w.text("version", o.Version)
				w.Prim("code", o.Code)
				w.text("display", o.Display)
				w.End()
				w.End()
			}
			w.End()
		}
		w.End()
	})
}

// REQ: mio-spec:2.5.3
func (w *rw) provenance(g provGroup) {
	b := w.b
	w.entry(g.id, func() {
		w.resourceHead("Provenance", g.id, "Provenance", nil)
		if !w.frame {
			for _, t := range g.targets {
				w.ref("target", t)
			}
		}
		w.Prim("recorded", w.instant(g.recorded))
		agent := func(typ Coding, who string) {
			w.Start("agent")
			w.concept("type", []Coding{typ}, "")
			w.ref("who", who)
			w.End()
		}
		switch {
		case g.key == "patient":
			agent(provAuthor, b.patientID)
		case g.key == "diga":
			agent(provAuthor, b.digaID)
			agent(provInform, b.patientID)
		case strings.HasPrefix(g.key, "device:"):
			agent(provAuthor, b.devices[strings.TrimPrefix(g.key, "device:")][0])
			agent(provInform, b.patientID)
		}
		w.End()
	})
}

// ---- entries ----

func (w *rw) entryResource(it *item) {
	w.entry(it.id, func() { w.resource(it) })
	switch v := it.e.(type) {
	case *NutritionIntake:
		for i := range v.Composition {
			w.foodComposition(it, &v.Composition[i])
		}
	case *MedicationStatement:
		if g := v.TreatmentGoal; g != nil {
			w.treatmentGoal(it, g)
		}
	}
}

func (w *rw) treatmentGoalID(it *item, g *TreatmentGoal) string {
	return w.b.uuid("treatment-goal/" + it.e.common().SourceID + "/" + g.SourceID)
}

func (w *rw) treatmentGoal(it *item, g *TreatmentGoal) {
	id := w.treatmentGoalID(it, g)
	w.entry(id, func() {
		w.resourceHead("Goal", id, "Goal_Treatment_Goal", it.e.common())
		w.identifierRI(id)
		w.Prim("lifecycleStatus", g.LifecycleStatus)
		w.concept("description", g.Description.Codings, g.Description.Text)
		w.ref("subject", w.b.patientID)
		w.End()
	})
}

func (w *rw) medication(m *Medication) {
	id := w.b.uuid("medication/" + m.SourceID)
	w.entry(id, func() {
		w.resourceHead("Medication", id, "Medication", nil)
		w.identifierRI(id)
		w.concept("code", m.Code.Codings, m.Code.Text)
		w.End()
	})
}

func (w *rw) icfCategory(vs map[string]string, code string) {
	if code == "" {
		return
	}
	w.Start("category")
	w.Start("coding")
	w.Prim("system", sysICF)
	w.Prim("code", code)
	w.Prim("display", vs[code])
	w.End()
	w.End()
}

func (w *rw) memberRefs(refs []Ref) {
	for _, r := range refs {
		w.ref("hasMember", w.b.uuid(string(r.Kind)+"/"+r.SourceID))
	}
}

func (w *rw) foodID(it *item, fc *FoodComposition) string {
	return w.b.uuid("food-composition/" + it.e.common().SourceID + "/" + fc.SourceID)
}

func (w *rw) foodComposition(it *item, fc *FoodComposition) {
	b := w.b
	id := w.foodID(it, fc)
	w.entry(id, func() {
		w.resourceHead("Observation", id, "Observation_Nutrition_Intake_Food_Composition_Types", it.e.common())
		w.Start("extension", "url", extReference)
		w.ref("valueReference", it.id)
		w.End()
		w.identifierRI(id)
		w.Prim("status", "final")
		w.concept("category", []Coding{foodCompositionCat}, "")
		w.concept("code", fc.Code.Codings, fc.Code.Text)
		w.ref("subject", b.patientID)
		w.ucum("valueQuantity", &fc.Amount)
		w.End()
	})
}

func (w *rw) performer(c *Common) {
	if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
		w.ref("performer", w.b.patientID)
	}
}

// recorder references a contact entry, or the patient.
func (w *rw) recorder(r *Ref) {
	if r != nil {
		w.ref("recorder", w.b.uuid(string(r.Kind)+"/"+r.SourceID))
		return
	}
	w.ref("recorder", w.b.patientID)
}

func (w *rw) deviceRef(id string) {
	if id != "" {
		w.ref("device", w.b.devices[id][0])
	}
}

func (w *rw) obsHead(it *item, prof string) {
	w.resourceHead("Observation", it.id, prof, it.e.common())
}

func (w *rw) value(v Value) {
	switch {
	case v.Quantity != nil:
		w.ucum("valueQuantity", v.Quantity)
	case v.Coding != nil:
		w.concept("valueCodeableConcept", []Coding{*v.Coding}, "")
	case v.String != "":
		w.text("valueString", v.String)
	}
}

func (w *rw) resource(it *item) {
	b := w.b
	c := it.e.common()
	switch v := it.e.(type) {
	case *BodyWeight, *BodyHeight, *BodyTemperature, *HeartRate, *RespiratoryRate, *OxygenSaturation, *HeadCircumference:
		m := v.(interface{ measurement() *Measurement }).measurement()
		def := vitals[it.e.Kind()]
		code := m.Code
		if code == "" {
			code = def.snomedCode
		}
		w.obsHead(it, def.profile)
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("category", []Coding{vitalCat}, "")
		w.concept("code", []Coding{def.loinc, {sysSNOMED, verSNOMED, code, def.snomed[code]}}, "")
		w.ref("subject", b.patientID)
		w.dateTime("effectiveDateTime", m.Effective)
		w.performer(c)
		w.quantity("valueQuantity", m.Value, def.units[m.Unit], sysUCUM, m.Unit)
		w.note(c.Note)
		if def.methodSpO2 {
			w.concept("method", []Coding{spo2Method}, "")
		}
		w.deviceRef(m.Device)
		w.End()
	case *BloodPressure:
		w.obsHead(it, "Observation_Blood_Pressure")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("category", []Coding{vitalCat}, "")
		w.concept("code", []Coding{bpLOINC, bpSNOMED}, "")
		w.ref("subject", b.patientID)
		w.dateTime("effectiveDateTime", v.Effective)
		w.performer(c)
		w.note(c.Note)
		w.deviceRef(v.Device)
		comp := func(l, s Coding, d Decimal) {
			w.Start("component")
			w.concept("code", []Coding{l, s}, "")
			w.quantity("valueQuantity", d, "mm Hg", sysUCUM, "mm[Hg]")
			w.End()
		}
		comp(bpSysLOINC, bpSysSNOMED, v.Systolic)
		comp(bpDiaLOINC, bpDiaSNOMED, v.Diastolic)
		if !v.Mean.IsZero() {
			comp(bpMeanLOINC, bpMeanSNOMED, v.Mean)
		}
		w.End()
	case *Glucose:
		spec := v.Specimen
		if spec == "" {
			spec = SpecimenBlood
		}
		w.obsHead(it, "Observation_Glucose_Concentration")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("category", []Coding{vitalCat}, "")
		w.concept("code", []Coding{glucoseCodes[[2]string{spec, v.Unit}], glucoseSNOMED[spec]}, "")
		w.ref("subject", b.patientID)
		w.dateTime("effectiveDateTime", v.Effective)
		w.performer(c)
		w.quantity("valueQuantity", v.Value, v.Unit, sysUCUM, v.Unit)
		w.note(c.Note)
		w.deviceRef(v.Device)
		w.End()
	case *FreeObservation:
		w.obsHead(it, "Observation_Free")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.value(v.Value)
		w.note(c.Note)
		w.End()
	case *DiaryEntry:
		w.obsHead(it, "Observation_Diary_Entry")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("code", []Coding{diaryCode}, "")
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.text("valueString", v.Text)
		w.note(c.Note)
		for _, r := range v.Members {
			w.ref("hasMember", b.uuid(string(r.Kind)+"/"+r.SourceID))
		}
		w.End()
	case *QuestionnaireResponse:
		q := &v.Questionnaire
		w.resourceHead("QuestionnaireResponse", it.id, "QuestionnaireResponse", c)
		w.identifierRI(it.id)
		canon := q.URL
		if q.Version != "" {
			canon += "|" + q.Version
		}
		w.Prim("questionnaire", canon)
		w.Prim("status", "completed")
		w.ref("subject", b.patientID)
		w.dateTime("authored", v.Authored)
		if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
			w.ref("author", b.patientID)
		}
		items := map[string]*Item{}
		for i := range q.Items {
			items[q.Items[i].LinkID] = &q.Items[i]
		}
		for i := 0; i < len(v.Answers); {
			link := v.Answers[i].LinkID
			w.Start("item")
			w.Prim("linkId", link)
			if itm := items[link]; itm != nil {
				w.text("text", itm.Text)
			}
			for ; i < len(v.Answers) && v.Answers[i].LinkID == link; i++ {
				w.answer(&v.Answers[i])
			}
			w.End()
		}
		w.End()
	case *Score:
		w.obsHead(it, "Observation_Score_or_Assessment_by_Scale")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		if v.Category != "" {
			w.concept("category", []Coding{{sysObsCat, "4.0.1", v.Category, scoreCategories[v.Category]}}, "")
		}
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.dateTime("effectiveDateTime", v.Effective)
		w.performer(c)
		w.value(v.Value)
		if v.Interpretation != nil {
			w.concept("interpretation", []Coding{*v.Interpretation}, "")
		}
		w.note(c.Note)
		if r := v.Range; r != nil {
			w.Start("referenceRange")
			w.ucum("low", r.Low)
			w.ucum("high", r.High)
			w.End()
		}
		if v.DerivedFrom != nil {
			w.ref("derivedFrom", b.uuid(string(v.DerivedFrom.Kind)+"/"+v.DerivedFrom.SourceID))
		}
		w.End()
	case *Activity:
		w.resourceHead("Procedure", it.id, "Procedure_Activity", c)
		w.identifierRI(it.id)
		w.Prim("status", "completed")
		w.Start("category")
		w.Start("coding")
		w.Prim("system", sysICF)
		w.Prim("code", v.Category)
		w.Prim("display", icfActivity[v.Category])
		w.End()
		w.End()
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("performed", v.Performed)
		if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
			w.ref("recorder", b.patientID)
		}
		w.note(c.Note)
		w.End()
	case *Goal:
		w.resourceHead("Goal", it.id, "Goal", c)
		w.identifierRI(it.id)
		w.Prim("lifecycleStatus", v.LifecycleStatus)
		if v.Achievement != "" {
			w.concept("achievementStatus", []Coding{{sysGoalAch, "4.0.1", v.Achievement, goalAchievement[v.Achievement]}}, "")
		}
		if v.Priority != "" {
			w.concept("priority", []Coding{{sysGoalPrio, "4.0.1", v.Priority, goalPriority[v.Priority]}}, "")
		}
		w.concept("description", v.Description.Codings, v.Description.Text)
		w.ref("subject", b.patientID)
		w.Prim("startDate", v.Start.String())
		if t := v.Target; t != nil {
			w.Start("target")
			if t.Measure != nil {
				w.concept("measure", []Coding{*t.Measure}, "")
			}
			if t.Detail != nil {
				w.ucum("detailQuantity", t.Detail)
			}
			w.Prim("dueDate", t.Due.String())
			w.End()
		}
		if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
			w.ref("expressedBy", b.patientID)
		}
		w.note(c.Note)
		w.End()
	case *FunctionalAssessment:
		w.obsHead(it, "Observation_Functional_Assessment")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.icfCategory(icfFunctional, v.Category)
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.value(v.Value)
		w.note(c.Note)
		w.End()
	case *LifeStyleFactor:
		w.obsHead(it, "Observation_Life_Style_Factor")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.icfCategory(icfLifestyle, v.Category)
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.note(c.Note)
		w.memberRefs(v.Members)
		w.End()
	case *EnvironmentalFactor:
		w.obsHead(it, "Observation_Environmental_Factor")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.icfCategory(icfEnvironmental, v.Category)
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.note(c.Note)
		w.memberRefs(v.Members)
		w.End()
	case *NutritionIntake:
		w.obsHead(it, "Observation_Nutrition_Intake")
		w.identifierRI(it.id)
		w.Prim("status", "final")
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		w.performer(c)
		w.note(c.Note)
		for i := range v.Composition {
			w.ref("hasMember", w.foodID(it, &v.Composition[i]))
		}
		for i := range v.Items {
			fi := &v.Items[i]
			w.Start("component")
			if fi.NotConsumed != nil {
				w.Start("extension", "url", extNotConsumed)
				w.Prim("valueBoolean", strconv.FormatBool(*fi.NotConsumed))
				w.End()
			}
			if fi.NotConsumedReason != nil {
				w.Start("extension", "url", extNotConsumedWhy)
				w.concept("valueCodeableConcept", []Coding{*fi.NotConsumedReason}, "")
				w.End()
			}
			w.concept("code", fi.Code.Codings, fi.Code.Text)
			w.ucum("valueQuantity", &fi.Amount)
			w.End()
		}
		w.End()
	case *Problem:
		w.resourceHead("Condition", it.id, "Condition_Problem", c)
		w.identifierRI(it.id)
		w.concept("clinicalStatus", []Coding{{sysCondClinical, "4.0.1", v.ClinicalStatus, conditionClinical[v.ClinicalStatus]}}, "")
		if v.VerificationStatus != "" {
			w.concept("verificationStatus", []Coding{{sysCondVerStatus, "4.0.1", v.VerificationStatus, conditionVerification[v.VerificationStatus]}}, "")
		}
		w.concept("category", []Coding{{sysSNOMED, verSNOMED, v.Category, problemTypes[v.Category]}}, "")
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("subject", b.patientID)
		w.timing("onset", v.Onset)
		if v.Abatement != nil {
			w.timing("abatement", *v.Abatement)
		}
		w.recorder(v.Recorder)
		w.note(c.Note)
		w.End()
	case *Allergy:
		w.resourceHead("AllergyIntolerance", it.id, "AllergyIntolerance", c)
		w.identifierRI(it.id)
		if v.ClinicalStatus != "" {
			w.concept("clinicalStatus", []Coding{{sysAllergyClinical, "4.0.1", v.ClinicalStatus, allergyClinical[v.ClinicalStatus]}}, "")
		}
		if v.VerificationStatus != "" {
			w.concept("verificationStatus", []Coding{{sysAllergyVerif, "4.0.1", v.VerificationStatus, allergyVerification[v.VerificationStatus]}}, "")
		}
		w.Prim("type", v.Type)
		w.Prim("category", v.Category)
		w.Prim("criticality", v.Criticality)
		w.concept("code", v.Code.Codings, v.Code.Text)
		w.ref("patient", b.patientID)
		if !v.Onset.IsZero() {
			w.dateTime("onsetDateTime", v.Onset)
		}
		w.recorder(v.Recorder)
		w.note(c.Note)
		w.End()
	case *Practitioner:
		w.resourceHead("Practitioner", it.id, "Practitioner", c)
		w.identifierRI(it.id)
		w.humanName(&v.Name)
		w.End()
	case *Organization:
		w.resourceHead("Organization", it.id, "Organization", c)
		w.identifierRI(it.id)
		w.text("name", v.Name)
		w.End()
	case *PractitionerRole:
		w.resourceHead("PractitionerRole", it.id, "PractitionerRole", c)
		w.identifierRI(it.id)
		w.ref("practitioner", b.uuid(string(KindPractitioner)+"/"+v.Practitioner))
		w.ref("organization", b.uuid(string(KindOrganization)+"/"+v.Organization))
		w.End()
	case *RelatedPerson:
		w.resourceHead("RelatedPerson", it.id, "RelatedPerson", c)
		w.identifierRI(it.id)
		w.ref("patient", b.patientID)
		if v.Relationship != nil {
			w.concept("relationship", []Coding{*v.Relationship}, "")
		}
		if v.Name != nil {
			w.humanName(v.Name)
		}
		w.End()
	case *MedicationStatement:
		w.resourceHead("MedicationStatement", it.id, "MedicationStatement_Medication_Information", c)
		if g := v.TreatmentGoal; g != nil {
			w.Start("extension", "url", extPertainsToGoal)
			w.ref("valueReference", w.treatmentGoalID(it, g))
			w.End()
		}
		w.identifierRI(it.id)
		w.Prim("status", v.Status)
		w.ref("medicationReference", b.uuid("medication/"+v.Medication))
		w.ref("subject", b.patientID)
		if v.Effective != nil {
			w.timing("effective", *v.Effective)
		}
		w.ref("informationSource", b.patientID)
		w.note(c.Note)
		if d := strings.TrimSpace(v.Dosage); d != "" {
			w.Start("dosage")
			w.Prim("text", d)
			w.End()
		}
		w.End()
	case *MedicationIntake:
		w.resourceHead("MedicationAdministration", it.id, "MedicationAdministration_Medication_Intake", c)
		if v.Statement != "" {
			w.Start("extension", "url", extReference)
			w.ref("valueReference", b.uuid(string(KindMedicationStatement)+"/"+v.Statement))
			w.End()
		}
		w.identifierRI(it.id)
		w.Prim("status", "completed")
		w.ref("medicationReference", b.uuid("medication/"+v.Medication))
		w.ref("subject", b.patientID)
		w.timing("effective", v.Effective)
		if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
			w.Start("performer")
			w.ref("actor", b.patientID)
			w.End()
		}
		w.note(c.Note)
		w.Start("dosage")
		w.ucum("dose", &v.Dose)
		w.End()
		w.End()
	case *CarePlan:
		w.resourceHead("CarePlan", it.id, "CarePlan", c)
		w.identifierRI(it.id)
		w.Prim("status", v.Status)
		w.Prim("intent", "plan")
		w.text("title", v.Title)
		w.ref("subject", b.patientID)
		if c.RecordedBy.Kind == "" || c.RecordedBy.Kind == ActorPatient {
			w.ref("author", b.patientID)
		}
		for _, g := range v.Goals {
			w.ref("goal", b.uuid(string(g.Kind)+"/"+g.SourceID))
		}
		w.note(c.Note)
		w.End()
	case *Appointment:
		w.resourceHead("Appointment", it.id, "Appointment", c)
		w.identifierRI(it.id)
		w.Prim("status", v.Status)
		if v.Start != nil && v.End != nil {
			w.dateTime("start", *v.Start)
			w.dateTime("end", *v.End)
		}
		w.text("comment", v.Comment)
		participant := func(id string) {
			w.Start("participant")
			w.ref("actor", id)
			w.Prim("status", "accepted")
			w.End()
		}
		participant(b.patientID)
		for _, r := range v.Participants {
			participant(b.uuid(string(r.Kind) + "/" + r.SourceID))
		}
		w.End()
	case *Encounter:
		w.resourceHead("Encounter", it.id, "Encounter", c)
		w.identifierRI(it.id)
		w.Prim("status", v.Status)
		w.Start("class")
		w.Prim("system", "http://terminology.hl7.org/CodeSystem/v3-ActCode")
		w.Prim("version", "2018-08-12")
		w.Prim("code", v.Class)
		w.Prim("display", encounterClass[v.Class])
		w.End()
		w.ref("subject", b.patientID)
		for _, r := range v.Participants {
			w.Start("participant")
			w.ref("individual", b.uuid(string(r.Kind)+"/"+r.SourceID))
			w.End()
		}
		w.Start("period")
		w.dateTime("start", v.Period.Start)
		w.dateTime("end", v.Period.End)
		w.End()
		if v.ServiceProvider != "" {
			w.ref("serviceProvider", b.uuid(string(KindOrganization)+"/"+v.ServiceProvider))
		}
		w.End()
	case *Attachment:
		w.resourceHead("DocumentReference", it.id, "DocumentReference", c)
		w.identifierRI(it.id)
		w.Prim("status", "current")
		w.ref("subject", b.patientID)
		if c.RecordedBy.Kind == ActorDiGA {
			w.ref("author", b.digaID)
		} else {
			w.ref("author", b.patientID)
		}
		w.text("description", v.Description)
		w.Start("content")
		w.Start("attachment")
		w.Prim("contentType", v.ContentType)
		w.Prim("data", base64.StdEncoding.EncodeToString(v.Data))
		w.text("title", v.Title)
		w.dateTime("creation", v.Created)
		w.End()
		w.End()
		w.End()
	}
}

func (w *rw) answer(a *Answer) {
	w.Start("answer")
	switch {
	case a.Boolean != nil:
		w.Prim("valueBoolean", strconv.FormatBool(*a.Boolean))
	case !a.Decimal.IsZero():
		w.Prim("valueDecimal", a.Decimal.String())
	case a.Integer != nil:
		w.Prim("valueInteger", strconv.FormatInt(*a.Integer, 10))
	case a.String != "":
		w.text("valueString", a.String)
	case !a.DateTime.IsZero():
		w.dateTime("valueDateTime", a.DateTime)
	case a.Time != "":
		w.Prim("valueTime", a.Time)
	case a.Coding != nil:
		w.Start("valueCoding")
		w.Prim("system", a.Coding.System)
		w.text("version", a.Coding.Version)
		w.Prim("code", a.Coding.Code)
		w.text("display", a.Coding.Display)
		w.End()
	case a.Quantity != nil:
		w.ucum("valueQuantity", a.Quantity)
	}
	w.End()
}
