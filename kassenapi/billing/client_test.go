package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// TestWithRealClient runs Redeem and SubmitDue through the real
// kassenapi.Client (SECON CMS over mutual TLS on loopback) against the
// network fake insurer of kassenapitest.
func TestWithRealClient(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	client, err := kassenapi.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	b := newBackend(t)
	binds, bill := b.Stores(t)
	cfg := billingtest.Config(t, binds, bill, nil, time.Now)
	cfg.Checker, cfg.Submitter = client, client
	cfg.Directory = kassenapi.StaticDirectory{D: srv.Directory()}
	cfg.Seller.IK = kassenapitest.ManufacturerIK
	cfg.AddressOverrides = map[string]xrechnung.Address{}
	for _, e := range srv.Directory().Entries() {
		cfg.AddressOverrides[e.IK] = xrechnung.Address{Street: "Kassenweg 2", Postcode: "20095", City: "Hamburg"}
	}
	svc, err := billing.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	code := kassenapitest.NewCode("ZZ")
	srv.AddCode(code, kassenapitest.State{Status: kassenapitest.Valid, VEIDSuffix: "001"})
	r, err := svc.Redeem(ctx, "a", code.Plain())
	if err != nil || r.Outcome != billing.Activated || r.VEID != billingtest.VEID {
		t.Fatalf("redeem: %+v %v", r, err)
	}
	if _, err := svc.Redeem(ctx, "b", code.Plain()); err == nil {
		t.Fatal("second account redeemed")
	}
	if n := srv.CountFor(code); n != 1 {
		t.Fatalf("fake saw %d checks", n)
	}
	gone := kassenapitest.NewCode("ZZ")
	srv.AddCode(gone, kassenapitest.State{Status: kassenapitest.Cancelled})
	if _, err := svc.Redeem(ctx, "a", gone.Plain()); !isReason(err, billing.ReasonCancelled) {
		t.Fatalf("cancelled: %v", err)
	}

	if _, err := svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	edre0 := 0
	for _, c := range srv.Calls() {
		if c.Procedure == kassenapi.ProcedureInvoice {
			edre0++
		}
	}
	if edre0 != 1 {
		t.Fatalf("EDRE0 calls %d", edre0)
	}
	dg, _ := billing.NewDigester(billingtest.Keys())
	ds, _ := dg.Digests(code)
	red, _ := bill.Redemption(ctx, ds)
	invs, _ := bill.Invoices(ctx, red.ID)
	// The network fake answers a VARL report like the KoSIT validator:
	// the invoice passes the DiGA rules and the code was confirmed.
	if len(invs) != 1 || invs[0].State != billing.InvoiceAccepted {
		t.Fatalf("invoices %+v, want one accepted", invs)
	}
	rows, _ := bill.Protocol(ctx, "0000", "9999")
	if len(rows) < 3 {
		t.Fatalf("protocol rows %d", len(rows))
	}
	for _, p := range rows {
		if p.SenderIK != kassenapitest.ManufacturerIK || p.ReceiverIK == "" || p.InsurerIK == "" {
			t.Fatalf("protocol row IKs %q %q %q", p.SenderIK, p.ReceiverIK, p.InsurerIK)
		}
	}
}

func isReason(err error, reason string) bool {
	var ie *billing.InvalidCodeError
	return err != nil && asInvalid(err, &ie) && ie.Reason == reason
}
