// Package mio builds KBV medical information objects (MIO) "DiGA Toolkit"
// 1.1.0: FHIR R4 XML document bundles (profile KBV_PR_MIO_DIGA_Bundle)
// that a DiGA (Digitale Gesundheitsanwendung) stores in the insured
// person's ePA (elektronische Patientenakte, § 341 Abs. 2 SGB V; format by
// KBV under § 355 Abs. 2a SGB V). Specification: shared/specs/mio.md.
//
// # Flow
//
//  1. The DiGA fills a neutral [Export]: the [Patient] (KVNR optional:
//     the Krankenversichertennummer, the insured person's lifelong
//     10-character number), the [DiGA] (VE-ID = Verordnungseinheit id,
//     PZN, name, version, manufacturer), the export's observation period
//     (Betrachtungszeitraum) and typed entries: the nine vital signs
//     ([BodyWeight], [BodyHeight], [BodyTemperature], [HeartRate],
//     [RespiratoryRate], [OxygenSaturation], [HeadCircumference],
//     [BloodPressure], [Glucose]), [FreeObservation], [DiaryEntry],
//     [QuestionnaireResponse] with its [QuestionnaireDef], [Score],
//     [FunctionalAssessment], [Activity], [LifeStyleFactor],
//     [EnvironmentalFactor], [NutritionIntake] (with [FoodComposition]
//     members), [Problem], [Allergy], [MedicationStatement] (with a
//     [TreatmentGoal]) and [MedicationIntake] referencing shared
//     [Medication]s, [Goal], [CarePlan], [Appointment], [Encounter],
//     [Attachment] (a PDF as DocumentReference) and the contacts
//     [Practitioner], [PractitionerRole], [RelatedPerson], [Organization].
//     The same model is readable as JSON with [DecodeExport] (spec §3.9;
//     examples in testdata/export) and is what "digakit mio build" reads.
//  2. [Build] validates everything first and returns all problems at once
//     as a *[ValidationError] (issue codes [ErrRequired], [ErrInvalidString],
//     [ErrInvalidIdentifier], [ErrInvalidDate], [ErrPeriod],
//     [ErrInvalidUnit], [ErrInvalidCode], [ErrInvalidDecimal],
//     [ErrInvalidValue], [ErrDuplicateSourceID], [ErrDanglingReference],
//     [ErrUnsupported], [ErrEmptyExport], [ErrEntryTooLarge], [ErrConfig];
//     paths like "Entries[3](HeartRate).Unit"; messages never echo names,
//     KVNR, free text or measured values). [Validate] runs the same checks.
//  3. Build then plans documents: every resource gets a UUIDv5 from
//     Options.Namespace (names per spec §3.4, e.g. "body-weight/<SourceID>",
//     "bundle/<ExportID>/<index>"), used as Resource.id, fullUrl
//     (urn:uuid:…) and RI identifier. Entries linked by references
//     (diary members, score derivedFrom) form clusters that stay in one
//     document. Clusters are measured exactly and packed greedily, in time
//     order, under Options.MaxBytes (default 24,000,000 bytes, below the
//     25 MB ePA limit); a cut happens only between different times, and
//     each document gets its own period (ordered, contiguous, covering the
//     export period, spec §3.6). A cluster larger than the limit is
//     [ErrEntryTooLarge].
//  4. [Document.WriteTo] streams one document through encoding/xml's token
//     encoder (internal/xmlw) with a bufio.Writer: the Composition first
//     (Betrachtungszeitraum extension, LOINC 53576-5, title "DiGA-Export",
//     only non-empty sections with byte-exact titles and codes including
//     the specification's typos "Anhaenge" and "SectionAnhhaenge"), then
//     Patient (uuid + GKV KVNR identifier, KBV name with humanname-own-name),
//     Device_DIGA, DeviceDefinition_DIGA, Organization_Manufacturer,
//     measuring devices, questionnaires, the entries and grouped Provenance
//     resources. Every resource has meta versionId, lastUpdated and the
//     profile "<canonical>|1.1.0"; codings carry system, version, code and
//     display (LOINC 2.72, SNOMED CT 20220331 international edition, UCUM).
//     Times are rendered in Options.Location (default Europe/Berlin from
//     embedded tzdata) with seconds and zone; decimals are the
//     string-backed [Decimal] and never pass through float64. Output is
//     byte-for-byte deterministic; Document.Size is the exact length.
//  5. Each [Document] carries [DocumentMetadata] for the ePA upload
//     (formatCode urn:gematik:ig:diga:v1.1, classCode DUR, typeCode PATD,
//     mime type application/fhir+xml, title, service period) used by epa/.
//
// The checker in mio/miocheck validates existing documents offline
// ("digakit mio check"); mio/miotest validates output against the FHIR R4
// XML schema with xmllint.
//
// # JSON form
//
// [DecodeExport] reads one JSON object; [Export.MarshalJSON] writes the
// same form. Members are the lowerCamelCase Go field names ("exportId",
// "patient", "diga", "period", "created", "devices", "medications",
// "entries"); Common fields are inline in each entry; "kind" is the
// entry's [Kind] token (body-weight, body-height, body-temperature,
// heart-rate, respiratory-rate, oxygen-saturation, head-circumference,
// blood-pressure, glucose, free-observation, diary-entry,
// questionnaire-response, score, functional-assessment, activity,
// lifestyle-factor, environmental-factor, nutrition-intake, problem,
// allergy, medication-statement, medication-intake, goal, care-plan,
// appointment, encounter, attachment, practitioner, practitioner-role,
// related-person, organization). Times are RFC 3339 with seconds and an
// offset; dates are YYYY, YYYY-MM or YYYY-MM-DD; a timing is a time or
// {"start","end"}; decimals are JSON strings, and JSON numbers keep their
// literal text; a reference is {"kind","sourceId"}; "recordedBy" is
// "patient", "diga" or {"device": id}; binary data is padded base64. The
// optional "options" member sets Options: "namespace" (UUID, required),
// "timestamp" (fixes the clock for reproducible output), "maxBytes",
// "provenance" (grouped, per-entry, none), "partition" (greedy,
// calendar-month), "location", "indent", "laxKvnr", "noPlausibility".
// Unknown members, wrong types and syntax errors are issues with code
// [ErrInvalidJSON] and the JSON path. testdata/export/complete.json uses
// every kind.
//
// # Coverage
//
// All 44 profiles of kbv.mio.diga 1.1.0 are built (testdata/export/
// complete.json exercises every one; its golden passes the R4 XSD and
// mio/miocheck). Entries linked by references (diary and factor members,
// score derivedFrom, practitioner roles, recorders, intake → statement,
// care plan → goals, appointment/encounter participants) form clusters
// that travel together; measuring devices, questionnaires and
// medications are shared resources repeated in each document that needs
// them. Options.Provenance selects grouped (one Provenance per document
// and recording actor, the default), per-entry or no Provenance;
// Options.Partition selects greedy packing or calendar-month documents.
// Export.Source (an [EntrySource], e.g. a database cursor) may replace
// Export.Entries for large exports: Build reads it twice (keys, then
// validation and measurement) and keeps only small plan records (about
// 600-700 bytes per entry); each WriteTo reads it again and writes its
// document's entries in source order, returning [ErrSourceChanged] when
// the source yields different entries, order or sizes. Options.Spec
// selects the MIO release ([DiGA110], the only one so far). Not
// implemented: narratives (Composition and resources carry no text).
package mio
