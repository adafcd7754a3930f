package kassenapitest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

// Start the fake insurer, register a code, inject a transient fault and
// watch the client retry.
func ExampleServer() {
	srv, err := kassenapitest.Start(kassenapitest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	code := kassenapitest.NewCode("ZZ")
	srv.AddCode(code, kassenapitest.State{Status: kassenapitest.Valid, VEIDSuffix: "002"})
	srv.SetCodeFault(code, kassenapitest.Fault{Kind: kassenapitest.FaultFEH201, Times: 1})

	client, err := kassenapi.New(srv.ClientConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()
	check, err := client.ValidateCode(context.Background(), code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(check.VEID, len(check.Exchanges), srv.CountFor(code))
	for _, c := range srv.Calls() {
		fmt.Println(c.N, c.Endpoint, c.Procedure, c.Fault, c.Answer)
	}

	cancelled := kassenapitest.NewCode("ZU")
	srv.AddCode(cancelled, kassenapitest.State{Status: kassenapitest.Cancelled})
	_, err = client.ValidateCode(context.Background(), cancelled)
	fmt.Println(errors.Is(err, kassenapi.ErrCodeCancelled))
	// Output:
	// 12345002 2 2
	// 1 A EDFC0 feh-201 FEH 201
	// 2 A EDFC0 none ANT
	// true
}
