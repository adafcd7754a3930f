package mio

import "time"

// Problem, allergy and contact kinds (spec §2.5.6). All of them are state
// kinds: Common.RecordedAt is required and binds them to the period.
const (
	KindProblem          Kind = "problem"
	KindAllergy          Kind = "allergy"
	KindPractitioner     Kind = "practitioner"
	KindOrganization     Kind = "organization"
	KindPractitionerRole Kind = "practitioner-role"
	KindRelatedPerson    Kind = "related-person"
)

// Problem is a condition (Condition_Problem, section probleme).
// ClinicalStatus is an R4 condition-clinical code, VerificationStatus an
// optional condition-ver-status code, Category a SNOMED code of
// KBV_VS_MIO_DIGA_Problem_Type (64572001, 404684003, 409586006, 55607006).
// Recorder names a practitioner or practitioner-role entry; nil means the
// patient.
type Problem struct {
	Common
	ClinicalStatus     string  `json:"clinicalStatus"`
	VerificationStatus string  `json:"verificationStatus,omitempty"`
	Category           string  `json:"category"`
	Code               Concept `json:"code"`
	Onset              Timing  `json:"onset"`
	Abatement          *Timing `json:"abatement,omitempty"`
	Recorder           *Ref    `json:"recorder,omitempty"`
}

// Kind implements Entry.
func (*Problem) Kind() Kind        { return KindProblem }
func (e *Problem) when() time.Time { return e.RecordedAt }

// Allergy is an allergy or intolerance (AllergyIntolerance, section
// probleme). ClinicalStatus and VerificationStatus are R4
// allergyintolerance-clinical/-verification codes; Type is allergy or
// intolerance, Category food, medication, environment or biologic,
// Criticality low, high or unable-to-assess. Code codings use SNOMED CT
// or ASK (http://fhir.de/CodeSystem/ask) with version and display.
type Allergy struct {
	Common
	ClinicalStatus     string    `json:"clinicalStatus,omitempty"`
	VerificationStatus string    `json:"verificationStatus,omitempty"`
	Type               string    `json:"type,omitempty"`
	Category           string    `json:"category,omitempty"`
	Criticality        string    `json:"criticality,omitempty"`
	Code               Concept   `json:"code"`
	Onset              time.Time `json:"onset,omitzero"`
	Recorder           *Ref      `json:"recorder,omitempty"`
}

// Kind implements Entry.
func (*Allergy) Kind() Kind        { return KindAllergy }
func (e *Allergy) when() time.Time { return e.RecordedAt }

// Practitioner is a physician or therapist (section kontakte); Name.Given
// is required.
type Practitioner struct {
	Common
	Name Name `json:"name"`
}

// Kind implements Entry.
func (*Practitioner) Kind() Kind        { return KindPractitioner }
func (e *Practitioner) when() time.Time { return e.RecordedAt }

// Organization is a practice or other institution (section kontakte; not
// the DiGA manufacturer).
type Organization struct {
	Common
	Name string `json:"name"`
}

// Kind implements Entry.
func (*Organization) Kind() Kind        { return KindOrganization }
func (e *Organization) when() time.Time { return e.RecordedAt }

// PractitionerRole links a practitioner to an organization (both by
// SourceID; both must be in the export).
type PractitionerRole struct {
	Common
	Practitioner string `json:"practitioner"`
	Organization string `json:"organization"`
}

// Kind implements Entry.
func (*PractitionerRole) Kind() Kind        { return KindPractitionerRole }
func (e *PractitionerRole) when() time.Time { return e.RecordedAt }

// RelatedPerson is a relative or carer of the patient (section kontakte).
type RelatedPerson struct {
	Common
	Name         *Name   `json:"name,omitempty"`
	Relationship *Coding `json:"relationship,omitempty"`
}

// Kind implements Entry.
func (*RelatedPerson) Kind() Kind        { return KindRelatedPerson }
func (e *RelatedPerson) when() time.Time { return e.RecordedAt }

var (
	conditionClinical = map[string]string{"active": "Active", "recurrence": "Recurrence", "relapse": "Relapse",
		"inactive": "Inactive", "remission": "Remission", "resolved": "Resolved"}
	conditionVerification = map[string]string{"unconfirmed": "Unconfirmed", "provisional": "Provisional",
		"differential": "Differential", "confirmed": "Confirmed", "refuted": "Refuted", "entered-in-error": "Entered in Error"}
	problemTypes = map[string]string{"64572001": "Disease (disorder)", "404684003": "Clinical finding (finding)",
		"409586006": "Complaint (finding)", "55607006": "Problem (finding)"}
	allergyClinical     = map[string]string{"active": "Active", "inactive": "Inactive", "resolved": "Resolved"}
	allergyVerification = map[string]string{"unconfirmed": "Unconfirmed", "confirmed": "Confirmed", "refuted": "Refuted",
		"entered-in-error": "Entered in Error"}
	allergyTypes       = map[string]bool{"allergy": true, "intolerance": true}
	allergyCategories  = map[string]bool{"food": true, "medication": true, "environment": true, "biologic": true}
	allergyCriticality = map[string]bool{"low": true, "high": true, "unable-to-assess": true}
)

const (
	sysCondClinical    = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVerStatus   = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysAllergyClinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	sysAllergyVerif    = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
)
