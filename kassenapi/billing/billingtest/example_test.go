package billingtest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
)

// The in-process fake insurer: ANT for unknown codes, FEH where set, and
// accept-then-drop faults.
func ExampleInsurer() {
	ins := billingtest.NewInsurer(billingtest.VEID, kassenapi.MustDate("2026-03-02"))
	ctx := context.Background()
	ok, _ := kassenapi.ParseCode(billingtest.NewCode(billingtest.PrefixAPI))
	cc, err := ins.ValidateCode(ctx, ok)
	fmt.Println(cc.VEID, cc.ServiceDay, err)

	gone, _ := kassenapi.ParseCode(billingtest.NewCode(billingtest.PrefixAPI))
	ins.Answer(gone.Plain(), billingtest.FEH(102))
	_, err = ins.ValidateCode(ctx, gone)
	fmt.Println(errors.Is(err, kassenapi.ErrCodeNotFound))

	ins.DropChecks(1)
	_, err = ins.ValidateCode(ctx, ok)
	fmt.Println(kassenapi.ClassOf(err), ins.CountFor(ok.Plain()))
	// Output:
	// 12345001 2026-03-02 <nil>
	// true
	// outcome-unknown 2
}
