package reqmap_test

import (
	"fmt"

	"github.com/digakit/digakit/refserver/internal/reqmap"
)

func ExampleCheck() {
	rows, _ := reqmap.ParseMap([]byte(`| ID | level | gist | kind | code | tests | evidence |
|---|---|---|---|---|---|---|
| TR03161-3:O.Arch_10 | MUSS | no root | ref | app | TestRoot | uid check |
`))
	markers := map[string][]reqmap.Location{"TR03161-3:O.Arch_10": {{File: "app.go", Line: 10}}}
	fmt.Println(len(reqmap.Check(rows, markers, map[string]bool{"TestRoot": true})))
	for _, v := range reqmap.Check(rows, nil, nil) {
		fmt.Println(v)
	}
	// Output:
	// 0
	// TR03161-3:O.Arch_10: no // REQ: marker in non-test code
	// TR03161-3:O.Arch_10: named test TestRoot does not exist
}
