package kassenapi_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

// Check the GKV pseudo codes with the fake insurer: the valid test code
// returns the DiGA-VE-ID and the day of service, the expired one a typed
// rejection to show to the user.
func ExampleClient_ValidateCode() {
	srv, err := kassenapitest.Start(kassenapitest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	// ClientConfig wires identity, directory, key list and test trust;
	// production code fills the same Config from its own files.
	client, err := kassenapi.New(srv.ClientConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()
	ctx := context.Background()

	code, err := kassenapi.ParseCodeMode("77AAAAAAAAAAAAAX", kassenapi.CodeModeTest)
	if err != nil {
		fmt.Println(err)
		return
	}
	check, err := client.ValidateCode(ctx, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(check.Procedure, check.VEID, check.ServiceDay == kassenapi.DateOf(time.Now()), check.Code)

	expired, _ := kassenapi.ParseCodeMode("77AAAAAAAAAAADEV", kassenapi.CodeModeTest)
	_, err = client.ValidateCode(ctx, expired)
	fmt.Println(errors.Is(err, kassenapi.ErrCodeExpired), kassenapi.ClassOf(err), len(kassenapi.ExchangesOf(err)))
	// Output:
	// TDFC0 12345000 true 77************AX
	// true rejected 1
}

// Send an invoice through the same SECON transport and get the insurer's
// decrypted answer (a validation report) back.
func ExampleClient_SubmitInvoice() {
	srv, err := kassenapitest.Start(kassenapitest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	client, err := kassenapi.New(srv.ClientConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()

	route, err := srv.Directory().Route("ZZ", kassenapi.DateOf(time.Now()))
	if err != nil {
		fmt.Println(err)
		return
	}
	invoice := []byte(`<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>`)
	ans, err := client.SubmitInvoice(context.Background(), kassenapi.InvoiceSubmission{Route: route, Test: true, Number: "R-2026-1", XML: invoice})
	if err != nil {
		fmt.Println(err)
		return
	}
	ex := ans.Exchanges[0]
	fmt.Println(ex.Procedure, ex.SenderIK, ex.ReceiverIK, ex.InsurerIK, len(ans.Payload) > 0)
	// Output:
	// TDRE0 990000018 990000200 990000101 true
}
