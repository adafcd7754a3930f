package mio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func baseExport(t *testing.T) (Export, Options) {
	t.Helper()
	x, o := loadExport(t, "complete.json")
	return x, o
}

// TestValidationIssues plants one problem at a time and expects its code
// at its path; all problems of one export come back together.
func TestValidationIssues(t *testing.T) {
	find := func(x Export, k Kind, id string) Entry {
		for _, e := range x.Entries {
			if e.Kind() == k && e.common().SourceID == id {
				return e
			}
		}
		t.Fatalf("no %s/%s", k, id)
		return nil
	}
	tests := []struct {
		name string
		mut  func(x *Export, o *Options)
		code error
		path string
	}{
		{"missing export id", func(x *Export, o *Options) { x.ExportID = "" }, ErrRequired, "ExportID"},
		{"missing patient id", func(x *Export, o *Options) { x.Patient.SourceID = " " }, ErrRequired, "Patient.SourceID"},
		{"missing DiGA name", func(x *Export, o *Options) { x.DiGA.Name = "" }, ErrRequired, "DiGA.Name"},
		{"bad PZN", func(x *Export, o *Options) { x.DiGA.PZN = "12345670" }, ErrInvalidIdentifier, "DiGA.PZN"},
		{"VE-ID whitespace", func(x *Export, o *Options) { x.DiGA.VEID = "12 34" }, ErrInvalidIdentifier, "DiGA.VEID"},
		{"KVNR pattern", func(x *Export, o *Options) { x.Patient.KVNR = "x110411319" }, ErrInvalidIdentifier, "Patient.KVNR"},
		{"KVNR check digit", func(x *Export, o *Options) { x.Patient.KVNR = "P234567890" }, ErrInvalidIdentifier, "Patient.KVNR"},
		{"bad period", func(x *Export, o *Options) { x.Period.Start, x.Period.End = x.Period.End, x.Period.Start }, ErrPeriod, "Period"},
		{"missing period end", func(x *Export, o *Options) { x.Period.End = time.Time{} }, ErrRequired, "Period.End"},
		{"entry outside period", func(x *Export, o *Options) {
			find(*x, KindBodyWeight, "w-42").(*BodyWeight).Effective = x.Period.End.Add(time.Hour)
		}, ErrPeriod, "Entries[0](BodyWeight).Effective"},
		{"impossible birth date", func(x *Export, o *Options) { x.Patient.BirthDate = Date{2023, 2, 29} }, ErrInvalidDate, "Patient.BirthDate"},
		{"month 13", func(x *Export, o *Options) { x.Patient.BirthDate = Date{2000, 13, 0} }, ErrInvalidDate, "Patient.BirthDate"},
		{"future time", func(x *Export, o *Options) {
			x.Period.End = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			find(*x, KindBodyWeight, "w-42").(*BodyWeight).Effective = time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
		}, ErrInvalidDate, "Entries[0](BodyWeight).Effective"},
		{"year 1800", func(x *Export, o *Options) {
			find(*x, KindBodyWeight, "w-42").(*BodyWeight).Effective = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
		}, ErrInvalidDate, "Entries[0](BodyWeight).Effective"},
		{"unit lb", func(x *Export, o *Options) { find(*x, KindBodyWeight, "w-42").(*BodyWeight).Unit = "lb" }, ErrInvalidUnit, "Entries[0](BodyWeight).Unit"},
		{"unit bpm", func(x *Export, o *Options) { find(*x, KindHeartRate, "hr-1").(*HeartRate).Unit = "bpm" }, ErrInvalidUnit, "Entries[3](HeartRate).Unit"},
		{"temperature °C", func(x *Export, o *Options) { find(*x, KindBodyTemperature, "t-1").(*BodyTemperature).Unit = "°C" }, ErrInvalidUnit, "Entries[2](BodyTemperature).Unit"},
		{"glucose unit", func(x *Export, o *Options) { find(*x, KindGlucose, "g-1").(*Glucose).Unit = "mg/dl" }, ErrInvalidUnit, "Entries[8](Glucose).Unit"},
		{"unknown SNOMED variant", func(x *Export, o *Options) { find(*x, KindBodyWeight, "w-42").(*BodyWeight).Code = "12345" }, ErrInvalidCode, "Entries[0](BodyWeight).Code"},
		{"unknown ICF code", func(x *Export, o *Options) { find(*x, KindActivity, "a-1").(*Activity).Category = "d999" }, ErrInvalidCode, "Entries[13](Activity).Category"},
		{"unknown score category", func(x *Export, o *Options) { find(*x, KindScore, "s-1").(*Score).Category = "fun" }, ErrInvalidCode, "Entries[12](Score).Category"},
		{"coding without display", func(x *Export, o *Options) {
			find(*x, KindScore, "s-1").(*Score).Code.Codings[0].Display = ""
		}, ErrRequired, "Entries[12](Score).Code.Codings[0].Display"},
		{"code with space", func(x *Export, o *Options) {
			find(*x, KindScore, "s-1").(*Score).Code.Codings[0].Code = " 55758-7"
		}, ErrInvalidCode, "Entries[12](Score).Code.Codings[0].Code"},
		{"decimal NaN", func(x *Export, o *Options) { find(*x, KindBodyWeight, "w-42").(*BodyWeight).Value = Decimal{"NaN"} }, ErrInvalidDecimal, "Entries[0](BodyWeight).Value"},
		{"decimal leading zero", func(x *Export, o *Options) {
			find(*x, KindBodyWeight, "w-42").(*BodyWeight).Value = Decimal{"072.5"}
		}, ErrInvalidDecimal, "Entries[0](BodyWeight).Value"},
		{"decimal comma", func(x *Export, o *Options) {
			find(*x, KindBloodPressure, "bp-1").(*BloodPressure).Mean = Decimal{"93,3"}
		}, ErrInvalidDecimal, "Entries[7](BloodPressure).Mean"},
		{"implausible weight", func(x *Export, o *Options) { find(*x, KindBodyWeight, "w-42").(*BodyWeight).Value = Decimal{"7250"} }, ErrInvalidValue, "Entries[0](BodyWeight).Value"},
		{"systolic below diastolic", func(x *Export, o *Options) {
			find(*x, KindBloodPressure, "bp-1").(*BloodPressure).Systolic = Decimal{"70"}
		}, ErrInvalidValue, "Entries[7](BloodPressure).Systolic"},
		{"duplicate source id", func(x *Export, o *Options) {
			x.Entries = append(x.Entries[:1:1], append([]Entry{&BodyWeight{Measurement{Common: Common{SourceID: "w-42"}, Effective: x.Period.Start, Value: Decimal{"70"}, Unit: "kg"}}}, x.Entries[1:]...)...)
		}, ErrDuplicateSourceID, "Entries[1](BodyWeight).SourceID"},
		{"dangling diary member", func(x *Export, o *Options) {
			find(*x, KindDiaryEntry, "d-1").(*DiaryEntry).Members[0].SourceID = "missing"
		}, ErrDanglingReference, "Entries[10](DiaryEntry).Members[0]"},
		{"wrong kind reference", func(x *Export, o *Options) {
			find(*x, KindScore, "s-1").(*Score).DerivedFrom = &Ref{KindBodyWeight, "w-42"}
		}, ErrDanglingReference, "Entries[12](Score).DerivedFrom"},
		{"dangling device", func(x *Export, o *Options) { find(*x, KindGlucose, "g-1").(*Glucose).Device = "nope" }, ErrDanglingReference, "Entries[8](Glucose).Device"},
		{"answer unknown link", func(x *Export, o *Options) {
			find(*x, KindQuestionnaireResponse, "qr-1").(*QuestionnaireResponse).Answers[1].LinkID = "99"
		}, ErrInvalidValue, "Entries[11](QuestionnaireResponse).Answers[1].LinkID"},
		{"answer wrong type", func(x *Export, o *Options) {
			qr := find(*x, KindQuestionnaireResponse, "qr-1").(*QuestionnaireResponse)
			qr.Answers[1] = Answer{LinkID: "2", String: "sieben"}
		}, ErrInvalidValue, "Entries[11](QuestionnaireResponse).Answers[1]"},
		{"answer not in options", func(x *Export, o *Options) {
			qr := find(*x, KindQuestionnaireResponse, "qr-1").(*QuestionnaireResponse)
			qr.Answers[0].Coding = &Coding{"http://loinc.org", "2.72", "LA0000-0", "Other"}
		}, ErrInvalidCode, "Entries[11](QuestionnaireResponse).Answers[0].Coding"},
		{"date item", func(x *Export, o *Options) {
			qr := find(*x, KindQuestionnaireResponse, "qr-1").(*QuestionnaireResponse)
			qr.Questionnaire.Items[2].Type = "date"
		}, ErrUnsupported, "Entries[11](QuestionnaireResponse).Questionnaire.Items[2].Type"},
		{"relative questionnaire URL", func(x *Export, o *Options) {
			find(*x, KindQuestionnaireResponse, "qr-1").(*QuestionnaireResponse).Questionnaire.URL = "phq-2"
		}, ErrInvalidIdentifier, "Entries[11](QuestionnaireResponse).Questionnaire.URL"},
		{"not a PDF", func(x *Export, o *Options) { find(*x, KindAttachment, "att-1").(*Attachment).Data = []byte("hello") }, ErrInvalidValue, "Entries[15](Attachment).Data"},
		{"goal without recordedAt", func(x *Export, o *Options) {
			find(*x, KindGoal, "goal-1").(*Goal).RecordedAt = time.Time{}
		}, ErrRequired, "Entries[14](Goal).RecordedAt"},
		{"goal status", func(x *Export, o *Options) { find(*x, KindGoal, "goal-1").(*Goal).LifecycleStatus = "Active" }, ErrInvalidValue, "Entries[14](Goal).LifecycleStatus"},
		{"invalid string", func(x *Export, o *Options) { find(*x, KindDiaryEntry, "d-1").(*DiaryEntry).Text = "a\x00b" }, ErrInvalidString, "Entries[10](DiaryEntry).Text"},
		{"invalid UTF-8", func(x *Export, o *Options) { x.DiGA.Name = "\xff" }, ErrInvalidString, "DiGA.Name"},
		{"pat-1", func(x *Export, o *Options) { x.Patient.Gender = GenderOther }, ErrRequired, "Patient.OfficialGender"},
		{"empty export", func(x *Export, o *Options) { x.Entries = nil }, ErrEmptyExport, "Entries"},
		{"zero namespace", func(x *Export, o *Options) { o.Namespace = UUID{} }, ErrConfig, "Options.Namespace"},
		{"tiny MaxBytes", func(x *Export, o *Options) { o.MaxBytes = 1000 }, ErrConfig, "Options.MaxBytes"},
		{"problem type", func(x *Export, o *Options) { find(*x, KindProblem, "prob-1").(*Problem).Category = "73211009" }, ErrInvalidCode, "Entries[25](Problem).Category"},
		{"problem without onset", func(x *Export, o *Options) { find(*x, KindProblem, "prob-1").(*Problem).Onset = Timing{} }, ErrRequired, "Entries[25](Problem).Onset"},
		{"problem clinical status", func(x *Export, o *Options) { find(*x, KindProblem, "prob-1").(*Problem).ClinicalStatus = "cured" }, ErrInvalidValue, "Entries[25](Problem).ClinicalStatus"},
		{"problem recorder kind", func(x *Export, o *Options) {
			find(*x, KindProblem, "prob-1").(*Problem).Recorder = &Ref{KindRelatedPerson, "rp-1"}
		}, ErrDanglingReference, "Entries[25](Problem).Recorder"},
		{"allergy type", func(x *Export, o *Options) { find(*x, KindAllergy, "all-1").(*Allergy).Type = "sensitivity" }, ErrInvalidCode, "Entries[26](Allergy).Type"},
		{"role without organization", func(x *Export, o *Options) {
			find(*x, KindPractitionerRole, "role-1").(*PractitionerRole).Organization = "nope"
		}, ErrDanglingReference, "Entries[23](PractitionerRole).Organization"},
		{"practitioner without given name", func(x *Export, o *Options) {
			find(*x, KindPractitioner, "dr-1").(*Practitioner).Name.Given = ""
		}, ErrRequired, "Entries[21](Practitioner).Name.Given"},
		{"unknown medication", func(x *Export, o *Options) {
			find(*x, KindMedicationStatement, "ms-1").(*MedicationStatement).Medication = "med-9"
		}, ErrDanglingReference, "Entries[27](MedicationStatement).Medication"},
		{"statement status", func(x *Export, o *Options) {
			find(*x, KindMedicationStatement, "ms-1").(*MedicationStatement).Status = "in-progress"
		}, ErrInvalidValue, "Entries[27](MedicationStatement).Status"},
		{"intake without dose", func(x *Export, o *Options) {
			find(*x, KindMedicationIntake, "mi-1").(*MedicationIntake).Dose = Quantity{}
		}, ErrRequired, "Entries[28](MedicationIntake).Dose.Value"},
		{"care plan status", func(x *Export, o *Options) { find(*x, KindCarePlan, "cp-1").(*CarePlan).Status = "done" }, ErrInvalidValue, "Entries[29](CarePlan).Status"},
		{"booked appointment without times", func(x *Export, o *Options) {
			a := find(*x, KindAppointment, "ap-1").(*Appointment)
			a.Start, a.End = nil, nil
		}, ErrInvalidValue, "Entries[30](Appointment).Start"},
		{"encounter class", func(x *Export, o *Options) { find(*x, KindEncounter, "enc-1").(*Encounter).Class = "XYZ" }, ErrInvalidValue, "Entries[31](Encounter).Class"},
		{"environmental factor without period", func(x *Export, o *Options) {
			e := find(*x, KindEnvironmentalFactor, "env-1").(*EnvironmentalFactor)
			e.Effective = Timing{At: e.Effective.Period.Start}
		}, ErrPeriod, "Entries[18](EnvironmentalFactor).Effective"},
		{"lifestyle member kind", func(x *Export, o *Options) {
			find(*x, KindLifeStyleFactor, "ls-1").(*LifeStyleFactor).Members[0] = Ref{KindBodyWeight, "w-42"}
		}, ErrDanglingReference, "Entries[17](LifeStyleFactor).Members[0]"},
		{"food unit", func(x *Export, o *Options) {
			find(*x, KindNutritionIntake, "n-1").(*NutritionIntake).Items[0].Amount.Unit = "gram s"
		}, ErrInvalidUnit, "Entries[20](NutritionIntake).Items[0].Amount.Unit"},
		{"ICF functional category", func(x *Export, o *Options) {
			find(*x, KindFunctionalAssessment, "fa-1").(*FunctionalAssessment).Category = "d920"
		}, ErrInvalidCode, "Entries[19](FunctionalAssessment).Category"},
		{"effective period reversed", func(x *Export, o *Options) {
			p := find(*x, KindActivity, "a-1").(*Activity).Performed.Period
			p.Start, p.End = p.End, p.Start
		}, ErrPeriod, "Entries[13](Activity).Performed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, o := baseExport(t)
			tc.mut(&x, &o)
			_, err := Build(context.Background(), x, o)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want ValidationError, got %v", err)
			}
			if !errors.Is(err, tc.code) {
				t.Fatalf("want %v, got %v", tc.code, ve.Issues)
			}
			found := false
			for _, is := range ve.Issues {
				if is.Code == tc.code && is.Path == tc.path {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %v at %q: %v", tc.code, tc.path, ve.Issues)
			}
			if Validate(x, o) == nil {
				t.Fatal("Validate disagrees with Build")
			}
		})
	}
}

func TestValidationCollectsAllAndRedacts(t *testing.T) {
	x, o := baseExport(t)
	x.Patient.KVNR = "P234567890"
	x.DiGA.PZN = "12345670"
	x.Entries[0].(*BodyWeight).Value = Decimal{"NaN"}
	x.Entries[10].(*DiaryEntry).Text = "geheim\x01"
	err := Validate(x, o)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Issues) < 4 {
		t.Fatalf("want all issues at once: %v", err)
	}
	for i := 1; i < len(ve.Issues); i++ {
		if ve.Issues[i-1].Path > ve.Issues[i].Path {
			t.Fatal("issues not sorted by path")
		}
	}
	for _, is := range ve.Issues {
		for _, secret := range []string{"P234567890", "12345670", "NaN", "geheim"} {
			if strings.Contains(is.String(), secret) {
				t.Fatalf("issue echoes input: %s", is)
			}
		}
	}
	if strings.Contains(err.Error(), "P234567890") {
		t.Fatal("error echoes KVNR")
	}
	o.LaxKVNR = true
	x2, _ := baseExport(t)
	x2.Patient.KVNR = "P234567890"
	if err := Validate(x2, o); err != nil {
		t.Fatalf("LaxKVNR: %v", err)
	}
}

func TestTooManyIssues(t *testing.T) {
	x, o := baseExport(t)
	x.Entries = nil
	for i := 0; i < 1100; i++ {
		x.Entries = append(x.Entries, &HeartRate{Measurement{Common: Common{SourceID: strings.Repeat("h", 1+i%7) + string(rune('a'+i%26)) + time.Duration(i).String()}, Effective: x.Period.Start, Value: Decimal{"NaN"}, Unit: "/min"}})
	}
	err := Validate(x, o)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Issues) != maxIssues+1 || !errors.Is(err, ErrTooManyIssues) {
		t.Fatalf("cap: %d issues", len(ve.Issues))
	}
}
