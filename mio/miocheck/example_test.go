package miocheck_test

import (
	"fmt"
	"strings"

	"github.com/digakit/digakit/mio/miocheck"
	"github.com/digakit/digakit/mio/miotest"
)

func ExampleChecker_Check() {
	dir, err := miotest.DataDir()
	if err != nil {
		fmt.Println("no data")
		return
	}
	c, err := miocheck.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	doc := `<Observation xmlns="http://hl7.org/fhir"><meta><versionId value="1"/>
<profile value="https://fhir.kbv.de/StructureDefinition/KBV_PR_MIO_DIGA_Observation_Free|1.1.0"/></meta>
<status value="final"/><code><text value="Schritte"/></code><valueQuantity><value value="1e3"/></valueQuantity></Observation>`
	for _, f := range c.Check(strings.NewReader(doc)) {
		fmt.Println(f.Rule, f.Path)
	}
	// Output:
	// min Observation.meta.lastUpdated
	// lexical-decimal Observation.valueQuantity.value
}
