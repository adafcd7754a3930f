// Package xmlw is a thin streaming writer for FHIR XML on top of
// encoding/xml's token encoder: local names only, one explicit xmlns on the
// root, primitives as <name value="…"/> elements (rendered by encoding/xml
// as start+end tags), LF/TAB/CR in attributes escaped as character
// references by encoding/xml. Errors are sticky: after the first failure
// every call is a no-op and Err reports it.
package xmlw
