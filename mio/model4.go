package mio

import "time"

// Medication, goal, care-plan and encounter kinds (spec §2.5.6).
const (
	KindMedicationStatement Kind = "medication-statement"
	KindMedicationIntake    Kind = "medication-intake"
	KindCarePlan            Kind = "care-plan"
	KindAppointment         Kind = "appointment"
	KindEncounter           Kind = "encounter"
)

// TreatmentGoal is the goal of a medication (Goal_Treatment_Goal); it is
// emitted beside its MedicationStatement and is in no section.
type TreatmentGoal struct {
	SourceID        string  `json:"sourceId"`
	LifecycleStatus string  `json:"lifecycleStatus"`
	Description     Concept `json:"description"`
}

// MedicationStatement is what the patient takes (state kind;
// MedicationStatement_Medication_Information, section medikation).
// Status is an R4 medication-statement-status code; Medication names an
// Export.Medications entry by SourceID.
type MedicationStatement struct {
	Common
	Status        string         `json:"status"`
	Medication    string         `json:"medication"`
	Effective     *Timing        `json:"effective,omitempty"`
	Dosage        string         `json:"dosage,omitempty"`
	TreatmentGoal *TreatmentGoal `json:"treatmentGoal,omitempty"`
}

// Kind implements Entry.
func (*MedicationStatement) Kind() Kind        { return KindMedicationStatement }
func (e *MedicationStatement) when() time.Time { return e.RecordedAt }

// MedicationIntake is one documented intake (event kind;
// MedicationAdministration_Medication_Intake, section medikation).
// Statement optionally names the medication-statement entry it belongs to.
type MedicationIntake struct {
	Common
	Medication string   `json:"medication"`
	Effective  Timing   `json:"effective"`
	Dose       Quantity `json:"dose"`
	Statement  string   `json:"statement,omitempty"`
}

// Kind implements Entry.
func (*MedicationIntake) Kind() Kind        { return KindMedicationIntake }
func (e *MedicationIntake) when() time.Time { return e.Effective.start() }

// CarePlan is a care plan (state kind; section ziele). Status is an R4
// request-status code; Goals name goal entries.
type CarePlan struct {
	Common
	Status string `json:"status"`
	Title  string `json:"title,omitempty"`
	Goals  []Ref  `json:"goals,omitempty"`
}

// Kind implements Entry.
func (*CarePlan) Kind() Kind        { return KindCarePlan }
func (e *CarePlan) when() time.Time { return e.RecordedAt }

// Appointment is an appointment (state kind; section termineBegegnungen).
// Status is proposed, booked or cancelled; booked needs Start and End
// (R4 app-2/app-3). The patient always participates; Participants name
// further practitioner, practitioner-role or related-person entries.
type Appointment struct {
	Common
	Status       string     `json:"status"`
	Start        *time.Time `json:"start,omitempty"`
	End          *time.Time `json:"end,omitempty"`
	Comment      string     `json:"comment,omitempty"`
	Participants []Ref      `json:"participants,omitempty"`
}

// Kind implements Entry.
func (*Appointment) Kind() Kind        { return KindAppointment }
func (e *Appointment) when() time.Time { return e.RecordedAt }

// Encounter is a contact with a provider (event kind; section
// termineBegegnungen). Status is an R4 encounter-status code, Class a
// v3-ActCode (AMB, IMP, EMER, HH, VR).
type Encounter struct {
	Common
	Status          string `json:"status"`
	Class           string `json:"class"`
	Period          Period `json:"period"`
	Participants    []Ref  `json:"participants,omitempty"`
	ServiceProvider string `json:"serviceProvider,omitempty"`
}

// Kind implements Entry.
func (*Encounter) Kind() Kind        { return KindEncounter }
func (e *Encounter) when() time.Time { return e.Period.Start }

var (
	medStatementStatus = map[string]string{"active": "", "completed": "", "entered-in-error": "", "intended": "",
		"stopped": "", "on-hold": "", "unknown": "", "not-taken": ""}
	requestStatus = map[string]string{"draft": "", "active": "", "on-hold": "", "revoked": "", "completed": "",
		"entered-in-error": "", "unknown": ""}
	appointmentStatus = map[string]string{"proposed": "", "booked": "", "cancelled": ""}
	encounterStatus   = map[string]string{"planned": "", "arrived": "", "triaged": "", "in-progress": "", "onleave": "",
		"finished": "", "cancelled": "", "entered-in-error": "", "unknown": ""}
	encounterClass = map[string]string{"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency",
		"HH": "home health", "VR": "virtual"}
	extPertainsToGoal = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
)
