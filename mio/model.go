package mio

import (
	"context"
	"time"
)

// Export is the DiGA's own data for one export run (spec §3.3). It is
// neutral: no FHIR knowledge is needed to fill it.
type Export struct {
	// ExportID is unique per export run (job id); it seeds the Bundle and
	// Composition ids, so a re-export gets new document ids.
	ExportID string `json:"exportId"`
	// Patient is the insured person.
	Patient Patient `json:"patient"`
	// DiGA describes the application itself (Device_DIGA).
	DiGA DiGA `json:"diga"`
	// Period is the whole export's Betrachtungszeitraum (observation
	// period); Start <= End, both required.
	Period Period `json:"period"`
	// Created is Composition.date; zero means Options.Clock().
	Created time.Time `json:"created,omitzero"`
	// Entries are the collected data, in any order.
	Entries []Entry `json:"-"`
	// Source is the streaming alternative to Entries (at most one of the
	// two); only plan records are kept, WriteTo reads it again.
	Source EntrySource `json:"-"`
	// Devices are measuring devices (glucose meter, watch) referenced by
	// vital signs through Device.
	Devices []MeasuringDevice `json:"devices,omitempty"`
	// Medications are shared Medication resources referenced by
	// MedicationStatement and MedicationIntake entries by SourceID.
	Medications []Medication `json:"medications,omitempty"`
}

// EntrySource is a streaming alternative to Export.Entries, e.g. rows of
// a database cursor. Each calls fn for every entry and must yield the same
// entries in the same order on every call: Build calls it twice and every
// Document.WriteTo once more (a difference is ErrSourceChanged).
type EntrySource interface {
	Each(ctx context.Context, fn func(Entry) error) error
}

// Period is a closed time interval.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Gender is the administrative gender (FHIR administrative-gender).
type Gender string

// Gender values.
const (
	GenderMale    Gender = "male"
	GenderFemale  Gender = "female"
	GenderOther   Gender = "other"
	GenderUnknown Gender = "unknown"
)

// Name is a person's name in the KBV name profile: Family is the full
// family name, OwnName the surname without prefix words (default Family),
// Namenszusatz a name suffix like "Graf", Vorsatzwort a prefix like "von",
// Given all given names in one string, AcademicTitle e.g. "Dr.".
type Name struct {
	Family        string `json:"family"`
	OwnName       string `json:"ownName,omitempty"`
	Namenszusatz  string `json:"namenszusatz,omitempty"`
	Vorsatzwort   string `json:"vorsatzwort,omitempty"`
	Given         string `json:"given,omitempty"`
	AcademicTitle string `json:"academicTitle,omitempty"`
}

// Patient is the insured person (KBV_PR_MIO_DIGA_Patient).
type Patient struct {
	// SourceID is the DiGA's stable internal id of the person.
	SourceID string `json:"sourceId"`
	// KVNR is the optional Krankenversichertennummer (10 characters).
	KVNR string `json:"kvnr,omitempty"`
	// Name is optional.
	Name *Name `json:"name,omitempty"`
	// BirthDate is optional; partial dates are allowed.
	BirthDate Date `json:"birthDate,omitzero"`
	// Gender is optional.
	Gender Gender `json:"gender,omitempty"`
	// OfficialGender is "D" (divers) or "X" (unbestimmt); required for
	// gender other (pat-1).
	OfficialGender string `json:"officialGender,omitempty"`
}

// DiGA describes the application (Device_DIGA + DeviceDefinition_DIGA).
type DiGA struct {
	// VEID is the Verordnungseinheit id from the DiGA directory.
	VEID string `json:"veid"`
	// PZN is the 8-digit Pharmazentralnummer.
	PZN string `json:"pzn"`
	// Name is the user-friendly name.
	Name string `json:"name"`
	// Version is the optional software version.
	Version string `json:"version,omitempty"`
	// Manufacturer is optional (Organization_Manufacturer).
	Manufacturer *Manufacturer `json:"manufacturer,omitempty"`
}

// Manufacturer is the DiGA maker.
type Manufacturer struct {
	Name        string `json:"name"`
	URL         string `json:"url,omitempty"`
	Street      string `json:"street,omitempty"`
	HouseNumber string `json:"houseNumber,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	City        string `json:"city,omitempty"`
	Country     string `json:"country,omitempty"`
}

// MeasuringDevice is a device that measured values (KBV_PR_MIO_DIGA_Device
// with its DeviceDefinition); it is not the DiGA.
type MeasuringDevice struct {
	// ID is referenced by entries' Device field.
	ID string `json:"id"`
	// Name is the device's user-friendly name (optional).
	Name string `json:"name,omitempty"`
	// Type is a SNOMED device type with all four parts (optional; default
	// 49062001 Device (physical object)).
	Type *Coding `json:"type,omitempty"`
}

// Coding is a FHIR Coding; Version and Display are required in most MIO
// slots.
type Coding struct {
	System  string `json:"system"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Concept is a CodeableConcept: codings and/or a text.
type Concept struct {
	Codings []Coding `json:"codings,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// IsZero reports an empty concept.
func (c Concept) IsZero() bool { return len(c.Codings) == 0 && c.Text == "" }

// Quantity is a value with a UCUM unit code.
type Quantity struct {
	Value Decimal `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Value is the value of a free observation or score: exactly one of
// Quantity, Coding (as a CodeableConcept) or String.
type Value struct {
	Quantity *Quantity `json:"quantity,omitempty"`
	Coding   *Coding   `json:"coding,omitempty"`
	String   string    `json:"string,omitempty"`
}

// IsZero reports an absent value.
func (v Value) IsZero() bool { return v.Quantity == nil && v.Coding == nil && v.String == "" }

// Range is a reference range; both ends are required.
type Range struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
}

// Ref names another entry by kind and SourceID.
type Ref struct {
	Kind     Kind   `json:"kind"`
	SourceID string `json:"sourceId"`
}

// Timing is a point in time or a period (effective[x], performed[x]).
type Timing struct {
	At     time.Time `json:"-"`
	Period *Period   `json:"-"`
}

// IsZero reports an absent timing.
func (t Timing) IsZero() bool { return t.At.IsZero() && t.Period == nil }

func (t Timing) start() time.Time {
	if t.Period != nil {
		return t.Period.Start
	}
	return t.At
}

func (t Timing) end() time.Time {
	if t.Period != nil {
		return t.Period.End
	}
	return t.At
}

// ActorKind selects who recorded or authored something.
type ActorKind string

// Actor kinds.
const (
	ActorPatient ActorKind = "patient"
	ActorDiGA    ActorKind = "diga"
	ActorDevice  ActorKind = "device"
)

// Actor is who recorded an entry: the patient (default), the DiGA, or a
// measuring device (by MeasuringDevice.ID). JSON: "patient", "diga" or
// {"device": id}.
type Actor struct {
	Kind   ActorKind
	Device string
}

// Common holds the fields every entry has (spec §3.3).
type Common struct {
	// SourceID is the DiGA's id of the value; unique per Kind.
	SourceID string `json:"sourceId"`
	// Revision is meta.versionId; 0 means 1.
	Revision int `json:"revision,omitempty"`
	// LastModified is meta.lastUpdated; zero means Export.Created.
	LastModified time.Time `json:"lastModified,omitzero"`
	// RecordedBy decides the Provenance agent (default the patient).
	RecordedBy Actor `json:"recordedBy,omitzero"`
	// RecordedAt is when the DiGA stored the value; required for state
	// kinds (Goal), default the effective time.
	RecordedAt time.Time `json:"recordedAt,omitzero"`
	// Note is optional free text.
	Note string `json:"note,omitempty"`
}

func (c *Common) common() *Common { return c }

// Entry is one collected item. The set of implementations is closed.
type Entry interface {
	Kind() Kind
	common() *Common
	when() time.Time
}

// Kind is the entry kind token (spec §3.4), also the JSON "kind".
type Kind string

// Entry kinds.
const (
	KindBodyWeight            Kind = "body-weight"
	KindBodyHeight            Kind = "body-height"
	KindBodyTemperature       Kind = "body-temperature"
	KindHeartRate             Kind = "heart-rate"
	KindRespiratoryRate       Kind = "respiratory-rate"
	KindOxygenSaturation      Kind = "oxygen-saturation"
	KindHeadCircumference     Kind = "head-circumference"
	KindBloodPressure         Kind = "blood-pressure"
	KindGlucose               Kind = "glucose"
	KindFreeObservation       Kind = "free-observation"
	KindDiaryEntry            Kind = "diary-entry"
	KindQuestionnaireResponse Kind = "questionnaire-response"
	KindScore                 Kind = "score"
	KindActivity              Kind = "activity"
	KindGoal                  Kind = "goal"
	KindAttachment            Kind = "attachment"
)

// Measurement is the shape shared by the single-quantity vital signs.
type Measurement struct {
	Common
	// Effective is when the value was measured (seconds and zone).
	Effective time.Time `json:"effective"`
	// Value is the measured value as exact decimal text.
	Value Decimal `json:"value"`
	// Unit is the UCUM code; allowed units depend on the kind.
	Unit string `json:"unit"`
	// Code optionally selects a SNOMED variant of the kind's ValueSet
	// (e.g. 784399000 self-reported body weight); "" is the default code.
	Code string `json:"code,omitempty"`
	// Device names a MeasuringDevice.ID (optional).
	Device string `json:"device,omitempty"`
}

func (m *Measurement) when() time.Time { return m.Effective }

// BodyWeight in kg or g.
type BodyWeight struct{ Measurement }

// BodyHeight in cm.
type BodyHeight struct{ Measurement }

// BodyTemperature in Cel.
type BodyTemperature struct{ Measurement }

// HeartRate in /min.
type HeartRate struct{ Measurement }

// RespiratoryRate in /min.
type RespiratoryRate struct{ Measurement }

// OxygenSaturation (SpO2, pulse oximeter) in %.
type OxygenSaturation struct{ Measurement }

// HeadCircumference in cm.
type HeadCircumference struct{ Measurement }

// Kind implements Entry.
func (*BodyWeight) Kind() Kind { return KindBodyWeight }

// Kind implements Entry.
func (*BodyHeight) Kind() Kind { return KindBodyHeight }

// Kind implements Entry.
func (*BodyTemperature) Kind() Kind { return KindBodyTemperature }

// Kind implements Entry.
func (*HeartRate) Kind() Kind { return KindHeartRate }

// Kind implements Entry.
func (*RespiratoryRate) Kind() Kind { return KindRespiratoryRate }

// Kind implements Entry.
func (*OxygenSaturation) Kind() Kind { return KindOxygenSaturation }

// Kind implements Entry.
func (*HeadCircumference) Kind() Kind { return KindHeadCircumference }

// BloodPressure in mm[Hg]: systolic and diastolic required, mean optional.
type BloodPressure struct {
	Common
	Effective time.Time `json:"effective"`
	Systolic  Decimal   `json:"systolic"`
	Diastolic Decimal   `json:"diastolic"`
	Mean      Decimal   `json:"mean,omitzero"`
	Device    string    `json:"device,omitempty"`
}

// Kind implements Entry.
func (*BloodPressure) Kind() Kind                { return KindBloodPressure }
func (e *BloodPressure) when() time.Time         { return e.Effective }
func (m *Measurement) measurement() *Measurement { return m }

// Glucose specimens.
const (
	SpecimenBlood             = "blood"
	SpecimenInterstitialFluid = "interstitial-fluid"
)

// Glucose concentration in mg/dL or mmol/L; Specimen "blood" (capillary
// meter, default) or "interstitial-fluid" (CGM sensor) selects the LOINC
// and SNOMED codes.
type Glucose struct {
	Common
	Effective time.Time `json:"effective"`
	Value     Decimal   `json:"value"`
	Unit      string    `json:"unit"`
	Specimen  string    `json:"specimen,omitempty"`
	Device    string    `json:"device,omitempty"`
}

// Kind implements Entry.
func (*Glucose) Kind() Kind        { return KindGlucose }
func (e *Glucose) when() time.Time { return e.Effective }

// FreeObservation is any other value (Observation_Free).
type FreeObservation struct {
	Common
	Effective Timing  `json:"effective"`
	Code      Concept `json:"code"`
	Value     Value   `json:"value,omitzero"`
}

// Kind implements Entry.
func (*FreeObservation) Kind() Kind        { return KindFreeObservation }
func (e *FreeObservation) when() time.Time { return e.Effective.start() }

// DiaryEntry is a patient note (Observation_Diary_Entry); Members are
// other observations the note groups (hasMember).
type DiaryEntry struct {
	Common
	Effective Timing `json:"effective"`
	Text      string `json:"text"`
	Members   []Ref  `json:"members,omitempty"`
}

// Kind implements Entry.
func (*DiaryEntry) Kind() Kind        { return KindDiaryEntry }
func (e *DiaryEntry) when() time.Time { return e.Effective.start() }

// QuestionnaireDef is the questionnaire a response answers; it is emitted
// once per document (KBV_PR_MIO_DIGA_Questionnaire).
type QuestionnaireDef struct {
	// URL is the questionnaire's absolute, stable canonical URL.
	URL     string `json:"url"`
	Version string `json:"version,omitempty"`
	// Language defaults to "de".
	Language string `json:"language,omitempty"`
	// Title xor Code (ques-1).
	Title string  `json:"title,omitempty"`
	Code  *Coding `json:"code,omitempty"`
	Items []Item  `json:"items"`
}

// Item types of questionnaire items supported by answers.
const (
	ItemBoolean  = "boolean"
	ItemDecimal  = "decimal"
	ItemInteger  = "integer"
	ItemString   = "string"
	ItemText     = "text"
	ItemDateTime = "dateTime"
	ItemTime     = "time"
	ItemChoice   = "choice"
	ItemQuantity = "quantity"
	ItemDisplay  = "display"
)

// Item is one question.
type Item struct {
	LinkID        string   `json:"linkId"`
	Text          string   `json:"text,omitempty"`
	Type          string   `json:"type"`
	AnswerOptions []Coding `json:"answerOptions,omitempty"`
}

// Answer answers the item LinkID; exactly one value field is set and it
// must match the item type.
type Answer struct {
	LinkID   string    `json:"linkId"`
	Boolean  *bool     `json:"boolean,omitempty"`
	Decimal  Decimal   `json:"decimal,omitzero"`
	Integer  *int64    `json:"integer,omitempty"`
	String   string    `json:"string,omitempty"`
	DateTime time.Time `json:"dateTime,omitzero"`
	Time     string    `json:"time,omitempty"`
	Coding   *Coding   `json:"coding,omitempty"`
	Quantity *Quantity `json:"quantity,omitempty"`
}

// QuestionnaireResponse is a completed questionnaire.
type QuestionnaireResponse struct {
	Common
	Questionnaire QuestionnaireDef `json:"questionnaire"`
	Authored      time.Time        `json:"authored"`
	Answers       []Answer         `json:"answers"`
}

// Kind implements Entry.
func (*QuestionnaireResponse) Kind() Kind        { return KindQuestionnaireResponse }
func (e *QuestionnaireResponse) when() time.Time { return e.Authored }

// Score is a score or assessment by scale
// (Observation_Score_or_Assessment_by_Scale); Category is one of
// social-history, survey, exam, therapy, activity (optional).
type Score struct {
	Common
	Effective      time.Time `json:"effective"`
	Category       string    `json:"category,omitempty"`
	Code           Concept   `json:"code"`
	Value          Value     `json:"value"`
	DerivedFrom    *Ref      `json:"derivedFrom,omitempty"`
	Range          *Range    `json:"range,omitempty"`
	Interpretation *Coding   `json:"interpretation,omitempty"`
}

// Kind implements Entry.
func (*Score) Kind() Kind        { return KindScore }
func (e *Score) when() time.Time { return e.Effective }

// Activity is a performed activity (Procedure_Activity); Category is an
// ICF code of KBV_VS_MIO_DIGA_Activity_Type (e.g. d920).
type Activity struct {
	Common
	Category  string  `json:"category"`
	Code      Concept `json:"code"`
	Performed Timing  `json:"performed"`
}

// Kind implements Entry.
func (*Activity) Kind() Kind        { return KindActivity }
func (e *Activity) when() time.Time { return e.Performed.start() }

// GoalTarget is a goal's target.
type GoalTarget struct {
	Measure *Coding   `json:"measure,omitempty"`
	Detail  *Quantity `json:"detail,omitempty"`
	Due     Date      `json:"due,omitzero"`
}

// Goal is a patient goal (KBV_PR_MIO_DIGA_Goal, section ziele). It is a
// state kind: Common.RecordedAt is required and binds it to the period.
type Goal struct {
	Common
	// LifecycleStatus is an R4 goal-status code (proposed, planned,
	// accepted, active, on-hold, completed, cancelled, entered-in-error,
	// rejected).
	LifecycleStatus string      `json:"lifecycleStatus"`
	Description     Concept     `json:"description"`
	Start           Date        `json:"start,omitzero"`
	Target          *GoalTarget `json:"target,omitempty"`
	// Achievement is an R4 goal-achievement code (e.g. in-progress).
	Achievement string `json:"achievement,omitempty"`
	// Priority is an R4 goal-priority code (high-priority, …).
	Priority string `json:"priority,omitempty"`
}

// Kind implements Entry.
func (*Goal) Kind() Kind        { return KindGoal }
func (e *Goal) when() time.Time { return e.RecordedAt }

// Attachment is a document such as a PDF report (DocumentReference,
// section anhaenge). Data is embedded as base64 in the bundle.
type Attachment struct {
	Common
	Title       string    `json:"title"`
	ContentType string    `json:"contentType"`
	Data        []byte    `json:"data"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
}

// Kind implements Entry.
func (*Attachment) Kind() Kind        { return KindAttachment }
func (e *Attachment) when() time.Time { return e.Created }

// Medication is a shared medication definition (reserved; see package
// documentation for coverage).
type Medication struct {
	SourceID string  `json:"sourceId"`
	Code     Concept `json:"code"`
}
