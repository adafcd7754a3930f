// Package miotest holds test helpers for MIO documents (mio spec §5.1,
// §6.1): [CheckSchema] validates a document with xmllint --stream against
// the FHIR R4 XML schema, using a temporary copy of the schema with the
// one-line MedicationStatement.status fix (hapi-fhir#2093) applied — the
// shared schema files are never modified; [DataDir] finds the FHIR test
// data ($DIGAKIT_FHIR_DATA or shared/data/fhir walking up from the working
// directory). Helpers skip the test when xmllint or the data are missing,
// unless DIGAKIT_REQUIRE_FHIR_DATA=1. The profile checker itself is
// mio/miocheck. The package is exported so that DiGA vendors can validate
// their own MIO output in their tests.
package miotest
