// Package miocheck validates KBV MIO DiGA Toolkit 1.1.0 documents offline:
// a complete Bundle (KBV_PR_MIO_DIGA_Bundle|1.1.0) or a standalone MIO
// resource. It is the differential checker of mio spec §6.2/§6.3 and the
// engine behind "digakit mio check".
//
// Flow: [Load] reads the StructureDefinitions below a FHIR data
// directory (shared/data/fhir: the MIO 1.1.0 profiles as XML
// differentials, KBV Basis 1.3.0 profiles as JSON snapshots) and indexes
// them by canonical URL. [Checker.Check] parses the document with
// encoding/xml (no DTDs or external entities; directives are rejected)
// and reports [Finding]s:
//
//   - profile rules from each resource's meta.profile and the profile's
//     base snapshot: cardinalities (min/max including 0..0), fixed[x] and
//     pattern[x] values (subset match), choice types, slices resolved by
//     their discriminators (value/pattern on url, $this or a child path,
//     also through datatype profiles such as KBV_PR_Base_Datatype_Name),
//     closed slicing, and targetProfile of references inside a Bundle;
//
//   - hand-coded invariants: bundle-1, bundle-2, bdl-7..bdl-11, reference
//     resolution and urn:uuid form, Questionnaire canonical resolution,
//     no Provenance target on DocumentReference/Goal_Treatment_Goal,
//     date-1, cmp-1, the Betrachtungszeitraum (start/end present, every
//     event time inside), ques-1, vs-de-2, per-1, pat-1, ext-1, ele-1,
//     KBV con-1, app-2, app-3, cpl-3, gol-1, obs-6, obs-7, att-1, rng-2,
//     MedicationStatement.status (R4 XSD bug, hapi-fhir#2093);
//
//   - lexical rules the R4 XSD misses: lower-case UUIDs, dateTimes with
//     seconds and zone, decimals without exponent/NaN/leading zeros, codes
//     without surrounding or double whitespace, no literal LF/TAB/CR in
//     attribute values, LOINC 2.72 and SNOMED CT international edition.
//
//   - required bindings to enumerated ValueSets shipped in the data
//     (MIO and KBV Basis); bindings to unshipped, filtered or very large
//     ValueSets stay unchecked.
//
// Not evaluated: FHIRPath expressions in general (hum-1..4, con-4/5,
// ait-1/2, tim-* are not hand-coded), references of standalone resources,
// slices
// whose discriminator cannot be derived from the data (skipped, never
// reported). XML that is not well-formed yields one finding with rule
// "xml".
package miocheck
