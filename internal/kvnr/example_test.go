package kvnr_test

import (
	"errors"
	"fmt"

	"github.com/digakit/digakit/internal/kvnr"
)

func ExampleValidate() {
	for _, s := range []string{"X110411319", "A123456789", "a123456780"} {
		err := kvnr.Validate(s)
		switch {
		case err == nil:
			fmt.Println("valid")
		case errors.Is(err, kvnr.ErrCheckDigit):
			fmt.Println("check digit")
		case errors.Is(err, kvnr.ErrFormat):
			fmt.Println("format")
		}
	}
	// Output:
	// valid
	// check digit
	// format
}

func ExampleKVNR() {
	k := kvnr.KVNR("X110411319")
	fmt.Println(k, k.Validate() == nil)
	// Output: [KVNR redacted] true
}

func ExampleCheckDigit() {
	d, _ := kvnr.CheckDigit("A12345678")
	fmt.Println(d)
	// Output: 0
}
