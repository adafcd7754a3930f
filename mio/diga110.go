package mio

// Terminology and profile constants of MIO DiGA Toolkit 1.1.0 (spec §2.3,
// §2.5, §2.6, §2.10).
const (
	// MIOVersion is the supported MIO version.
	MIOVersion = "1.1.0"

	profileBase  = "https://fhir.kbv.de/StructureDefinition/"
	fhirNS       = "http://hl7.org/fhir"
	sysLOINC     = "http://loinc.org"
	verLOINC     = "2.72"
	sysSNOMED    = "http://snomed.info/sct"
	verSNOMED    = "http://snomed.info/sct/900000000000207008/version/20220331"
	sysUCUM      = "http://unitsofmeasure.org"
	sysV20203    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysObsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysProvType  = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	sysICF       = "http://hl7.org/fhir/sid/icf"
	sysKVID      = "http://fhir.de/sid/gkv/kvid-10"
	sysIDTypeDE  = "http://fhir.de/CodeSystem/identifier-type-de-basis"
	sysPZN       = "http://fhir.de/CodeSystem/ifa/pzn"
	sysSection   = "https://fhir.kbv.de/CodeSystem/KBV_CS_MIO_DIGA_Section_Codes"
	sysRFC3986   = "urn:ietf:rfc:3986"
	sysGoalAch   = "http://terminology.hl7.org/CodeSystem/goal-achievement"
	sysGoalPrio  = "http://terminology.hl7.org/CodeSystem/goal-priority"
	sysGenderDE  = "http://fhir.de/CodeSystem/gender-amtlich-de"
	extGenderDE  = "http://fhir.de/StructureDefinition/gender-amtlich-de"
	extOwnName   = "http://hl7.org/fhir/StructureDefinition/humanname-own-name"
	extOwnPrefix = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix"
	extZusatz    = "http://fhir.de/StructureDefinition/humanname-namenszusatz"
	extQualifier = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier"
	extPeriod    = "https://fhir.kbv.de/StructureDefinition/KBV_EX_MIO_DIGA_Betrachtungszeitraum"
	extReference = "https://fhir.kbv.de/StructureDefinition/KBV_EX_MIO_DIGA_Reference"
	extStreet    = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetName"
	extHouseNo   = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber"
)

// profile returns the versioned canonical of a MIO profile name suffix.
func profile(name string) string { return profileBase + "KBV_PR_MIO_DIGA_" + name + "|" + MIOVersion }

// section is one Composition section slice (spec §2.3 table).
type section struct {
	title, system, version, code, display string
}

// Section indexes in table order.
const (
	secFrageboegen = iota
	secBefunde
	secAktivitaeten
	secNahrung
	secLebensstil
	secProbleme
	secUmwelt
	secMedikation
	secBeurteilungen
	secZiele
	secTermine
	secPatientenberichte
	secAnhaenge
	secKontakte
	numSections
)

// sections holds the 14 slices; titles and codes byte-exact including the
// specification's typos "Anhaenge" and "SectionAnhhaenge".
//
// REQ: mio-spec:2.3, mio-spec:2.6
var sections = [numSections]section{
	{"Fragebögen", sysSection, MIOVersion, "SectionFrageboegen", "Bereich Fragebögen"},
	{"Befunde und Ergebnisse", sysSNOMED, verSNOMED, "423100009", "Results section (record artifact)"},
	{"Aktivitäten", sysSection, MIOVersion, "SectionAktivitaeten", "Bereich Aktivitäten"},
	{"Nahrung", sysSection, MIOVersion, "SectionNahrung", "Bereich Nahrung"},
	{"Lebensstilfaktoren", sysSection, MIOVersion, "SectionLebensstilfaktoren", "Bereich Lebensstilfaktoren"},
	{"Probleme", sysLOINC, verLOINC, "11450-4", "Problem list - Reported"},
	{"Umweltfaktoren", sysSection, MIOVersion, "SectionUmweltfaktoren", "Bereich Umweltfaktoren"},
	{"Medikation", sysSNOMED, verSNOMED, "721912009", "Medication summary document (record artifact)"},
	{"Beurteilungen", sysSNOMED, verSNOMED, "424836000", "Assessment section (record artifact)"},
	{"Ziele", sysSection, MIOVersion, "SectionZiele", "Bereich Ziele"},
	{"Termine/Begegnungen", sysSection, MIOVersion, "SectionTermineBegegnungen", "Bereich Termine und Begegnungen"},
	{"Patientenberichte", sysSection, MIOVersion, "SectionPatientenberichte", "Bereich Patientenberichte"},
	{"Anhaenge", sysSection, MIOVersion, "SectionAnhhaenge", "Bereich Anhänge"},
	{"Kontakte", sysSection, MIOVersion, "SectionKontakte", "Bereich Kontakte"},
}

// vitalSection is sub-section 2a of "Befunde und Ergebnisse".
var vitalSection = section{"Vitalzeichen und Körpermaße", sysSNOMED, verSNOMED, "1184593002", "Vital sign document section (record artifact)"}

// vitalDef describes one single-quantity vital sign kind.
type vitalDef struct {
	profile    string
	loinc      Coding
	snomed     map[string]string // allowed SNOMED codes → display
	snomedCode string            // default
	units      map[string]string // UCUM code → unit text
	minV, maxV float64
	methodSpO2 bool
}

var vitals = map[Kind]*vitalDef{
	KindBodyWeight: {
		profile: "Observation_Body_Weight",
		loinc:   Coding{sysLOINC, verLOINC, "29463-7", "Body weight"},
		snomed: map[string]string{
			"27113001":  "Body weight (observable entity)",
			"784399000": "Self reported body weight (observable entity)",
			"363808001": "Measured body weight (observable entity)",
		},
		snomedCode: "27113001", units: map[string]string{"kg": "kg", "g": "g"}, minV: 0, maxV: 700,
	},
	KindBodyHeight: {
		profile: "Observation_Body_Height",
		loinc:   Coding{sysLOINC, verLOINC, "8302-2", "Body height"},
		snomed: map[string]string{
			"1153637007": "Body height (observable entity)",
			"248333004":  "Standing height (observable entity)",
			"1149101003": "Recumbent body height (observable entity)",
		},
		snomedCode: "1153637007", units: map[string]string{"cm": "cm"}, minV: 20, maxV: 300,
	},
	KindBodyTemperature: {
		profile:    "Observation_Body_Temperature",
		loinc:      Coding{sysLOINC, verLOINC, "8310-5", "Body temperature"},
		snomed:     map[string]string{"386725007": "Body temperature (observable entity)"},
		snomedCode: "386725007", units: map[string]string{"Cel": "Celsius"}, minV: 25, maxV: 45,
	},
	KindHeartRate: {
		profile:    "Observation_Heart_Rate",
		loinc:      Coding{sysLOINC, verLOINC, "8867-4", "Heart rate"},
		snomed:     map[string]string{"364075005": "Heart rate (observable entity)"},
		snomedCode: "364075005", units: map[string]string{"/min": "per minute"}, minV: 1, maxV: 350,
	},
	KindRespiratoryRate: {
		profile:    "Observation_Respiratory_Rate",
		loinc:      Coding{sysLOINC, verLOINC, "9279-1", "Respiratory rate"},
		snomed:     map[string]string{"86290005": "Respiratory rate (observable entity)"},
		snomedCode: "86290005", units: map[string]string{"/min": "per minute"}, minV: 1, maxV: 150,
	},
	KindOxygenSaturation: {
		profile:    "Observation_Peripheral_Oxygen_Saturation",
		loinc:      Coding{sysLOINC, verLOINC, "2708-6", "Oxygen saturation in Arterial blood"},
		snomed:     map[string]string{"431314004": "Peripheral oxygen saturation (observable entity)"},
		snomedCode: "431314004", units: map[string]string{"%": "%"}, minV: 0, maxV: 100, methodSpO2: true,
	},
	KindHeadCircumference: {
		profile: "Observation_Head_Circumference",
		loinc:   Coding{sysLOINC, verLOINC, "9843-4", "Head Occipital-frontal circumference"},
		snomed: map[string]string{
			"363812007": "Head circumference (observable entity)",
			"169876006": "Birth head circumference (observable entity)",
		},
		snomedCode: "363812007", units: map[string]string{"cm": "cm"}, minV: 10, maxV: 100,
	},
}

var (
	spo2Method   = Coding{sysSNOMED, verSNOMED, "448703006", "Pulse oximeter (physical object)"}
	bpLOINC      = Coding{sysLOINC, verLOINC, "85354-9", "Blood pressure panel with all children optional"}
	bpSNOMED     = Coding{sysSNOMED, verSNOMED, "75367002", "Blood pressure (observable entity)"}
	bpSysLOINC   = Coding{sysLOINC, verLOINC, "8480-6", "Systolic blood pressure"}
	bpSysSNOMED  = Coding{sysSNOMED, verSNOMED, "271649006", "Systolic blood pressure (observable entity)"}
	bpDiaLOINC   = Coding{sysLOINC, verLOINC, "8462-4", "Diastolic blood pressure"}
	bpDiaSNOMED  = Coding{sysSNOMED, verSNOMED, "271650006", "Diastolic blood pressure (observable entity)"}
	bpMeanLOINC  = Coding{sysLOINC, verLOINC, "8478-0", "Mean blood pressure"}
	bpMeanSNOMED = Coding{sysSNOMED, verSNOMED, "6797001", "Mean blood pressure (observable entity)"}
	diaryCode    = Coding{sysLOINC, verLOINC, "51855-5", "Patient Note"}
	vitalCat     = Coding{sysObsCat, "4.0.1", "vital-signs", "Vital Signs"}
	riType       = Coding{sysV20203, "2.9", "RI", "Resource identifier"}
	compType     = Coding{sysLOINC, verLOINC, "53576-5", "Personal health monitoring report Document"}
	softwareType = Coding{sysSNOMED, verSNOMED, "706687001", "Software (physical object)"}
	appSoftware  = Coding{sysSNOMED, verSNOMED, "706689003", "Application program software (physical object)"}
	deviceType   = Coding{sysSNOMED, verSNOMED, "49062001", "Device (physical object)"}
	provAuthor   = Coding{sysProvType, "4.0.1", "author", "Author"}
	provInform   = Coding{sysProvType, "4.0.1", "informant", "Informant"}
)

// glucoseCodes maps (specimen, unit) to the LOINC coding.
var glucoseCodes = map[[2]string]Coding{
	{SpecimenBlood, "mg/dL"}:              {sysLOINC, verLOINC, "2339-0", "Glucose [Mass/volume] in Blood"},
	{SpecimenBlood, "mmol/L"}:             {sysLOINC, verLOINC, "15074-8", "Glucose [Moles/volume] in Blood"},
	{SpecimenInterstitialFluid, "mg/dL"}:  {sysLOINC, verLOINC, "2344-0", "Glucose [Mass/volume] in Body fluid"},
	{SpecimenInterstitialFluid, "mmol/L"}: {sysLOINC, verLOINC, "14745-4", "Glucose [Moles/volume] in Body fluid"},
}

var glucoseSNOMED = map[string]Coding{
	SpecimenBlood:             {sysSNOMED, verSNOMED, "434912009", "Blood glucose concentration (observable entity)"},
	SpecimenInterstitialFluid: {sysSNOMED, verSNOMED, "434910001", "Interstitial fluid glucose concentration (observable entity)"},
}

// scoreCategories is KBV_VS_MIO_DIGA_Observation_Category_Codes_Score_And_Scale.
var scoreCategories = map[string]string{
	"social-history": "Social History", "survey": "Survey", "exam": "Exam", "therapy": "Therapy", "activity": "Activity",
}

// goalStatus is R4 goal-status (required binding).
var goalStatus = map[string]bool{
	"proposed": true, "planned": true, "accepted": true, "active": true, "on-hold": true,
	"completed": true, "cancelled": true, "entered-in-error": true, "rejected": true,
}

// goalAchievement is R4 goal-achievement (version 4.0.1).
var goalAchievement = map[string]string{
	"in-progress": "In Progress", "improving": "Improving", "worsening": "Worsening", "no-change": "No Change",
	"achieved": "Achieved", "sustaining": "Sustaining", "not-achieved": "Not Achieved",
	"no-progress": "No Progress", "not-attainable": "Not Attainable",
}

// goalPriority is R4 goal-priority (version 4.0.1).
var goalPriority = map[string]string{"high-priority": "High Priority", "medium-priority": "Medium Priority", "low-priority": "Low Priority"}

// Code is a coded ePA metadata value.
type Code struct {
	Code    string `json:"code"`
	System  string `json:"system"`
	Display string `json:"display"`
}

// ePA upload metadata of MIO DiGA 1.1 (gematik ig-diga_V_1_1.json).
//
// REQ: mio-spec:2.10
var (
	FormatCodeDiGA11 = Code{"urn:gematik:ig:diga:v1.1", "1.3.6.1.4.1.19376.3.276.1.5.6", "DiGA (gematik) v1.1"}
	ClassCodeDUR     = Code{"DUR", "1.3.6.1.4.1.19376.3.276.1.5.8", "Durchführungsprotokoll"}
	TypeCodePATD     = Code{"PATD", "1.3.6.1.4.1.19376.3.276.1.5.9", "Patienteneigene Dokumente"}
	FolderCodeDiGA   = Code{"diga", "1.2.276.0.76.5.512", "DiGA"}
)

// MimeTypeFHIRXML is the ePA mime type of MIO documents.
const MimeTypeFHIRXML = "application/fhir+xml"

// sectionOf returns the section index of an entry kind, and whether it
// goes to the vital-sign sub-section.
func sectionOf(k Kind) (int, bool) {
	switch k {
	case KindBodyWeight, KindBodyHeight, KindBodyTemperature, KindHeartRate, KindRespiratoryRate,
		KindOxygenSaturation, KindHeadCircumference, KindBloodPressure, KindGlucose:
		return secBefunde, true
	case KindFreeObservation:
		return secBefunde, false
	case KindQuestionnaireResponse:
		return secFrageboegen, false
	case KindScore, KindFunctionalAssessment:
		return secBeurteilungen, false
	case KindLifeStyleFactor:
		return secLebensstil, false
	case KindEnvironmentalFactor:
		return secUmwelt, false
	case KindNutritionIntake:
		return secNahrung, false
	case KindProblem, KindAllergy:
		return secProbleme, false
	case KindPractitioner, KindOrganization, KindPractitionerRole, KindRelatedPerson:
		return secKontakte, false
	case KindMedicationStatement, KindMedicationIntake:
		return secMedikation, false
	case KindCarePlan:
		return secZiele, false
	case KindAppointment, KindEncounter:
		return secTermine, false
	case KindActivity:
		return secAktivitaeten, false
	case KindGoal:
		return secZiele, false
	case KindDiaryEntry:
		return secPatientenberichte, false
	case KindAttachment:
		return secAnhaenge, false
	}
	return -1, false
}

// kindOrder is the position of a kind for sorting.
var kindOrder = map[Kind]int{}

func init() {
	for i, k := range []Kind{KindBodyWeight, KindBodyHeight, KindBodyTemperature, KindHeartRate, KindRespiratoryRate,
		KindOxygenSaturation, KindHeadCircumference, KindBloodPressure, KindGlucose, KindFreeObservation,
		KindDiaryEntry, KindQuestionnaireResponse, KindScore, KindActivity, KindGoal, KindAttachment,
		KindFunctionalAssessment, KindLifeStyleFactor, KindEnvironmentalFactor, KindNutritionIntake,
		KindProblem, KindAllergy, KindPractitioner, KindOrganization, KindPractitionerRole, KindRelatedPerson,
		KindMedicationStatement, KindMedicationIntake, KindCarePlan, KindAppointment, KindEncounter} {
		kindOrder[k] = i + 1
	}
}
