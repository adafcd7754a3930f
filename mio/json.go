package mio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// entryFactories maps JSON kind tokens to new typed entries.
var entryFactories = map[Kind]func() Entry{
	KindBodyWeight:            func() Entry { return new(BodyWeight) },
	KindBodyHeight:            func() Entry { return new(BodyHeight) },
	KindBodyTemperature:       func() Entry { return new(BodyTemperature) },
	KindHeartRate:             func() Entry { return new(HeartRate) },
	KindRespiratoryRate:       func() Entry { return new(RespiratoryRate) },
	KindOxygenSaturation:      func() Entry { return new(OxygenSaturation) },
	KindHeadCircumference:     func() Entry { return new(HeadCircumference) },
	KindBloodPressure:         func() Entry { return new(BloodPressure) },
	KindGlucose:               func() Entry { return new(Glucose) },
	KindFreeObservation:       func() Entry { return new(FreeObservation) },
	KindDiaryEntry:            func() Entry { return new(DiaryEntry) },
	KindQuestionnaireResponse: func() Entry { return new(QuestionnaireResponse) },
	KindScore:                 func() Entry { return new(Score) },
	KindActivity:              func() Entry { return new(Activity) },
	KindGoal:                  func() Entry { return new(Goal) },
	KindAttachment:            func() Entry { return new(Attachment) },
	KindFunctionalAssessment:  func() Entry { return new(FunctionalAssessment) },
	KindLifeStyleFactor:       func() Entry { return new(LifeStyleFactor) },
	KindEnvironmentalFactor:   func() Entry { return new(EnvironmentalFactor) },
	KindNutritionIntake:       func() Entry { return new(NutritionIntake) },
	KindProblem:               func() Entry { return new(Problem) },
	KindAllergy:               func() Entry { return new(Allergy) },
	KindPractitioner:          func() Entry { return new(Practitioner) },
	KindOrganization:          func() Entry { return new(Organization) },
	KindPractitionerRole:      func() Entry { return new(PractitionerRole) },
	KindRelatedPerson:         func() Entry { return new(RelatedPerson) },
	KindMedicationStatement:   func() Entry { return new(MedicationStatement) },
	KindMedicationIntake:      func() Entry { return new(MedicationIntake) },
	KindCarePlan:              func() Entry { return new(CarePlan) },
	KindAppointment:           func() Entry { return new(Appointment) },
	KindEncounter:             func() Entry { return new(Encounter) },
}

// jsonOptions is the "options" member of the JSON export file.
type jsonOptions struct {
	Namespace      *UUID          `json:"namespace"`
	Timestamp      *time.Time     `json:"timestamp,omitempty"`
	MaxBytes       int64          `json:"maxBytes,omitempty"`
	Provenance     ProvenanceMode `json:"provenance,omitempty"`
	Partition      PartitionMode  `json:"partition,omitempty"`
	Location       string         `json:"location,omitempty"`
	Indent         string         `json:"indent,omitempty"`
	LaxKVNR        bool           `json:"laxKvnr,omitempty"`
	NoPlausibility bool           `json:"noPlausibility,omitempty"`
}

type jsonExport struct {
	Options     *jsonOptions      `json:"options,omitempty"`
	ExportID    string            `json:"exportId"`
	Patient     Patient           `json:"patient"`
	DiGA        DiGA              `json:"diga"`
	Period      Period            `json:"period"`
	Created     time.Time         `json:"created,omitzero"`
	Devices     []MeasuringDevice `json:"devices,omitempty"`
	Medications []Medication      `json:"medications,omitempty"`
	Entries     []json.RawMessage `json:"entries"`
}

// DecodeExport reads one JSON export file (spec §3.9) and returns the
// export and the options it names. Syntax errors, unknown members and
// type mismatches are returned together as a *ValidationError with code
// ErrInvalidJSON (ErrInvalidDate for malformed times) and a JSON path.
//
// REQ: mio-spec:3.9
func DecodeExport(r io.Reader) (Export, Options, error) {
	var is issues
	data, err := io.ReadAll(io.LimitReader(r, 1<<31))
	if err != nil {
		return Export{}, Options{}, fmt.Errorf("mio: read export: %w", err)
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD: a silently
	// changed health record. Refuse it instead.
	if !utf8.Valid(data) {
		is.add("", ErrInvalidJSON, "the export is not valid UTF-8")
		return Export{}, Options{}, is.err()
	}
	var je jsonExport
	if err := strictUnmarshal(data, &je); err != nil {
		addJSONIssue(&is, "", err)
		return Export{}, Options{}, is.err()
	}
	x := Export{ExportID: je.ExportID, Patient: je.Patient, DiGA: je.DiGA, Period: je.Period, Created: je.Created,
		Devices: je.Devices, Medications: je.Medications}
	var o Options
	if jo := je.Options; jo != nil {
		if jo.Namespace != nil {
			o.Namespace = *jo.Namespace
		}
		if jo.Timestamp != nil {
			ts := *jo.Timestamp
			o.Clock = func() time.Time { return ts }
		}
		o.Partition = jo.Partition
		o.MaxBytes, o.Provenance, o.Indent, o.LaxKVNR, o.NoPlausibility = jo.MaxBytes, jo.Provenance, jo.Indent, jo.LaxKVNR, jo.NoPlausibility
		if jo.Location != "" {
			loc, err := time.LoadLocation(jo.Location)
			if err != nil {
				is.add("options.location", ErrConfig, "unknown time zone")
			} else {
				o.Location = loc
			}
		}
	}
	for i, raw := range je.Entries {
		path := fmt.Sprintf("entries[%d]", i)
		var head struct {
			Kind Kind `json:"kind"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			addJSONIssue(&is, path, err)
			continue
		}
		mk, ok := entryFactories[head.Kind]
		if !ok {
			is.add(path+".kind", ErrUnsupported, "unknown entry kind")
			continue
		}
		e := mk()
		stripped, err := withoutKind(raw)
		if err != nil {
			addJSONIssue(&is, path, err)
			continue
		}
		if err := strictUnmarshal(stripped, e); err != nil {
			addJSONIssue(&is, path, err)
			continue
		}
		x.Entries = append(x.Entries, e)
	}
	if err := is.err(); err != nil {
		return x, o, err
	}
	return x, o, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// withoutKind removes the "kind" member from an entry object.
func withoutKind(raw json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "kind")
	return json.Marshal(m)
}

func addJSONIssue(is *issues, path string, err error) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	p := path
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			p = joinJSON(path, te.Field)
		}
		is.add(p, ErrInvalidJSON, "wrong JSON type")
	case errors.As(err, &se):
		is.add(p, ErrInvalidJSON, "syntax error at offset %d", se.Offset)
	case errors.As(err, &pe):
		is.add(p, ErrInvalidDate, "time must be RFC 3339 with seconds and offset")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		is.add(joinJSON(path, f), ErrInvalidJSON, "unknown member")
	default:
		is.add(p, ErrInvalidJSON, "malformed value")
	}
}

func joinJSON(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// MarshalJSON writes the JSON export form (spec §3.9) without options;
// DecodeExport reads it back.
func (x Export) MarshalJSON() ([]byte, error) {
	je := jsonExport{ExportID: x.ExportID, Patient: x.Patient, DiGA: x.DiGA, Period: x.Period, Created: x.Created,
		Devices: x.Devices, Medications: x.Medications}
	for _, e := range x.Entries {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		kind, _ := json.Marshal(e.Kind())
		if len(b) > 2 {
			b = append(append(append([]byte(`{"kind":`), kind...), ','), b[1:]...)
		} else {
			b = append(append([]byte(`{"kind":`), kind...), '}')
		}
		je.Entries = append(je.Entries, b)
	}
	if je.Entries == nil {
		je.Entries = []json.RawMessage{}
	}
	return json.Marshal(je)
}

// kindTypeName returns the Go type name of an entry kind ("BodyWeight").
func kindTypeName(k Kind) string {
	if mk, ok := entryFactories[k]; ok {
		return typeName(mk())
	}
	return string(k)
}
