package billing_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

func TestDigestDefinition(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	dg, err := billing.NewDigester(billing.StaticKeys{{ID: "k2", Secret: secret}, {ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := kassenapi.ParseCode("77AAAAAAAAAAAAAX")
	ds, err := dg.Digests(code)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("digakit/fsc/v1\x0077AAAAAAAAAAAAAX"))
	if !bytes.Equal(ds[0].Sum[:], m.Sum(nil)) || ds[0].KeyID != "k2" || len(ds) != 2 || ds[0].Sum == ds[1].Sum {
		t.Fatal("digest does not follow spec B3.1")
	}
	if ds[0].CodeID() != strings.ToLower(ds[0].CodeID()) || len(ds[0].CodeID()) != 16 {
		t.Fatal("code id")
	}
	for _, bad := range []billing.StaticKeys{nil, {{ID: "a", Secret: secret[:31]}}, {{ID: "", Secret: secret}},
		{{ID: "a", Secret: secret}, {ID: "a", Secret: secret}},
		{{ID: "a", Secret: secret}, {ID: "b", Secret: secret}, {ID: "c", Secret: secret}, {ID: "d", Secret: secret}}} {
		if _, err := billing.NewDigester(bad); err == nil {
			t.Fatalf("keys %d accepted", len(bad))
		}
	}
}

func TestSealer(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := billing.NewAESSealer("k1", map[string][]byte{"k1": k1}, nil)
	both, _ := billing.NewAESSealer("k2", map[string][]byte{"k1": k1, "k2": k2}, nil)
	ct, err := old.Seal([]byte("t|c|1"), []byte("ZZAAAAAAAAAAAAAA"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("ZZAAAAAAAAAAAAAA")) {
		t.Fatal("plaintext in ciphertext")
	}
	if pt, err := both.Open([]byte("t|c|1"), ct); err != nil || string(pt) != "ZZAAAAAAAAAAAAAA" {
		t.Fatal("rotation: old value not readable")
	}
	if _, err := both.Open([]byte("t|c|2"), ct); !errors.Is(err, billing.ErrSeal) {
		t.Fatal("moved value opened")
	}
	ct[len(ct)-1] ^= 1
	if _, err := both.Open([]byte("t|c|1"), ct); !errors.Is(err, billing.ErrSeal) {
		t.Fatal("tampered value opened")
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0}, {1, 200, 1, 2}} {
		if _, err := both.Open(nil, bad); !errors.Is(err, billing.ErrSeal) {
			t.Fatal("garbage opened")
		}
	}
	if _, err := billing.NewAESSealer("x", map[string][]byte{"k1": k1}, nil); err == nil {
		t.Fatal("missing current key accepted")
	}
	if _, err := billing.NewAESSealer("k1", map[string][]byte{"k1": k1[:16]}, nil); err == nil {
		t.Fatal("short key accepted")
	}
}

// FuzzSealerOpen: values read back from the billing database never make
// Open panic.
func FuzzSealerOpen(f *testing.F) {
	s, _ := billing.NewAESSealer("k1", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)}, nil)
	ct, _ := s.Seal([]byte("aad"), []byte("ZZAAAAAAAAAAAAAA"))
	f.Add([]byte("aad"), ct)
	f.Add([]byte(""), []byte{1, 2, 'k', '1'})
	f.Add([]byte("x"), []byte{})
	f.Fuzz(func(t *testing.T, aad, ct []byte) {
		_, _ = s.Open(aad, ct)
	})
}

// TestLocalTimestampVectors is P1 of spec B6 (time vectors of B3.8).
func TestLocalTimestampVectors(t *testing.T) {
	for in, want := range map[string]string{
		"2025-03-30T00:59:59Z": "2025-03-30 01:59:59",
		"2025-03-30T01:00:00Z": "2025-03-30 03:00:00",
		"2025-10-26T00:30:00Z": "2025-10-26 02:30:00",
		"2025-10-26T01:30:00Z": "2025-10-26 02:30:00",
		"2025-12-31T23:30:00Z": "2026-01-01 00:30:00",
	} {
		ts, _ := time.Parse(time.RFC3339, in)
		if got := billing.LocalTimestamp(ts); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	b := newBackend(t)
	binds, bill := b.Stores(t)
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	for name, mod := range map[string]func(*billing.Config){
		"long prefix": func(c *billing.Config) { c.Numbering.Prefix = "ABCDEFGHIJKLMN" },
		"wide":        func(c *billing.Config) { c.Numbering.Width = 20 },
		"no checker":  func(c *billing.Config) { c.Checker = nil },
		"no keys":     func(c *billing.Config) { c.Keys = billing.StaticKeys{} },
		"budget":      func(c *billing.Config) { c.Lease, c.CheckBudget = time.Second, 2*time.Second },
		"bad catalog": func(c *billing.Config) {
			c.Catalog = &xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{{VEID: "1"}}}
		},
		"no seal":       func(c *billing.Config) { c.Seal = nil },
		"no stores":     func(c *billing.Config) { c.Billing = nil },
		"no directory":  func(c *billing.Config) { c.Directory = nil },
		"no catalog":    func(c *billing.Config) { c.Catalog = nil },
		"test prefix 1": func(c *billing.Config) { c.Numbering.TestPrefix = "ABCDEFGHIJKLMNOPQRS" },
	} {
		cfg := billingtest.Config(t, binds, bill, ins, time.Now)
		mod(&cfg)
		if _, err := billing.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

type backend struct{ main, bill *sqltest.DB }

func (b *backend) Stores(t *testing.T) (billing.BindingStore, billing.BillingStore) {
	x, _ := sqlstore.NewBindings(b.main.DB, b.main.Dialect)
	y, _ := sqlstore.NewBilling(b.bill.DB, b.bill.Dialect)
	return x, y
}

func newBackend(t *testing.T) *backend {
	b := &backend{main: sqltest.SQLite(t), bill: sqltest.SQLite(t)}
	if err := sqlstore.Migrate(context.Background(), b.main.DB, "sqlite", "main"); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(context.Background(), b.bill.DB, "sqlite", "billing"); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBillingRunInvoicesValidate: the invoices of a real billing run
// (380, e-mail dispatch, 384 with reasons 003 and 010) pass xrechnung.Check
// and xmllint against the CII D16B XSD of the shared test data.
func TestBillingRunInvoicesValidate(t *testing.T) {
	b := newBackend(t)
	codes := billingtest.RunFlows(t, b)
	_, bill := b.Stores(t)
	ctx := context.Background()
	seal := billingtest.Sealer(t)
	dg, _ := billing.NewDigester(billingtest.Keys())
	dir := t.TempDir()
	var files []string
	for _, c := range codes {
		code, _ := kassenapi.ParseCode(c)
		ds, _ := dg.Digests(code)
		r, err := bill.Redemption(ctx, ds)
		if err != nil || r == nil {
			t.Fatal(err)
		}
		invs, _ := bill.Invoices(ctx, r.ID)
		for _, inv := range invs {
			if inv.XMLCT == nil {
				continue
			}
			doc, err := seal.Open([]byte("billing_invoices\x00xml_ct\x00"+inv.Number), inv.XMLCT)
			if err != nil {
				t.Fatal(err)
			}
			if fs := xrechnung.Check(doc); !xrechnung.Valid(fs) {
				t.Fatalf("%s: %v", inv.Number, fs)
			}
			p := filepath.Join(dir, inv.Number+".xml")
			if err := os.WriteFile(p, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	if len(files) < 3 {
		t.Fatalf("only %d invoices built", len(files))
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint not installed (libxml2-utils); skipping the XSD oracle")
	}
	xsd := "../../../shared/data/gkv/xsd/cii-d16b/CrossIndustryInvoice_100pD16B.xsd"
	if _, err := os.Stat(xsd); err != nil {
		t.Skip("shared CII XSD not found")
	}
	out, err := exec.Command("xmllint", append([]string{"--noout", "--schema", xsd}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

func asInvalid(err error, target **billing.InvalidCodeError) bool { return errors.As(err, target) }

// TestTestCodes: a 77… code unlocks only with AllowTestCodes; its invoice
// has its own series and is built and checked locally, never sent,
// unless TestBilling (spec B3.2 invariant 3).
func TestTestCodes(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	binds, bill := b.Stores(t)
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	clock := billingtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ins.Clock = clock.Now
	cfg := billingtest.Config(t, binds, bill, ins, clock.Now)
	svc, err := billing.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Redeem(ctx, "sandbox", "77AA AAAA AAAA AAAX")
	if err != nil || r.Outcome != billing.Activated {
		t.Fatalf("%v %v", r, err)
	}
	if _, err := svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	code, _ := kassenapi.ParseCode("77AAAAAAAAAAAAAX")
	ds, _ := svc.Digests(code)
	red, _ := bill.Redemption(ctx, ds)
	invs, _ := bill.Invoices(ctx, red.ID)
	if len(invs) != 1 || !invs[0].Test || !strings.HasPrefix(invs[0].Number, "TDG2026") || invs[0].State != billing.InvoiceAccepted || invs[0].Verdict != "local_only" {
		t.Fatalf("test invoice %+v", invs)
	}
	if ins.InvoiceCalls() != 0 {
		t.Fatal("test invoice sent")
	}
	cfg.AllowTestCodes = false
	prod, _ := billing.New(cfg)
	if _, err := prod.Redeem(ctx, "x", "77AAAAAAAAAAAAAX"); !isReason(err, billing.ReasonTestCode) {
		t.Fatalf("production: %v", err)
	}
	cfg.AllowTestCodes, cfg.TestPrefix = true, ""
	if _, err := billing.New(cfg); err == nil {
		t.Fatal("AllowTestCodes without TestPrefix accepted")
	}
}

// TestRunLoop: Run submits and reconciles until its context ends.
func TestRunLoop(t *testing.T) {
	b := newBackend(t)
	binds, bill := b.Stores(t)
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	svc, err := billing.New(billingtest.Config(t, binds, bill, ins, func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Redeem(context.Background(), "a", billingtest.NewCode(billingtest.PrefixAPI)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); len(ins.Invoices()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if len(ins.Invoices()) != 1 {
		t.Fatal("Run did not submit")
	}
}

// TestMergerFlagsReview: when the insurer of a prefix changed between the
// check and the first send, the invoice goes to the current insurer and
// is flagged for review (spec B3.5).
func TestMergerFlagsReview(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	binds, bill := b.Stores(t)
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	clock := billingtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ins.Clock = clock.Now
	cfg := billingtest.Config(t, binds, bill, ins, clock.Now)
	svc, _ := billing.New(cfg)
	code := billingtest.NewCode(billingtest.PrefixAPI)
	if _, err := svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	es := billingtest.Entries()
	for i := range es {
		if es[i].Prefix == billingtest.PrefixAPI {
			es[i].IK = "990000199"
		}
	}
	d, _, err := kassenapi.ParseDirectory(kassenapitest.DirectoryXML(es))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Directory = kassenapi.StaticDirectory{D: d}
	merged, _ := billing.New(cfg)
	if _, err := merged.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	c, _ := kassenapi.ParseCode(code)
	ds, _ := merged.Digests(c)
	red, _ := bill.Redemption(ctx, ds)
	invs, _ := bill.Invoices(ctx, red.ID)
	if len(invs) != 1 || !invs[0].NeedsReview {
		t.Fatalf("invoice %+v", invs)
	}
	if !bytes.Contains(ins.Invoices()[0].XML, []byte(`schemeID="XR03">990000199<`)) {
		t.Fatal("invoice not addressed to the current insurer")
	}
}

// TestLocalRejections: a buyer without postcode or city gives
// needs_address until an override arrives; an invoice that cannot be
// built yet stays local (needs_data) and is never sent (spec B4).
func TestLocalRejections(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	binds, bill := b.Stores(t)
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	clock := billingtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ins.Clock = clock.Now
	es := billingtest.Entries()
	for i := range es {
		if es[i].Prefix == billingtest.PrefixAPI {
			es[i].Address = kassenapi.PostalAddress{}
		}
	}
	d, _, err := kassenapi.ParseDirectory(kassenapitest.DirectoryXML(es))
	if err != nil {
		t.Fatal(err)
	}
	cfg := billingtest.Config(t, binds, bill, ins, clock.Now)
	cfg.Directory = kassenapi.StaticDirectory{D: d}
	svc, _ := billing.New(cfg)
	code := billingtest.NewCode(billingtest.PrefixAPI)
	if _, err := svc.Redeem(ctx, "a", code); err != nil {
		t.Fatal(err)
	}
	state := func(s *billing.Service) billing.InvoiceRow {
		c, _ := kassenapi.ParseCode(code)
		ds, _ := s.Digests(c)
		red, _ := bill.Redemption(ctx, ds)
		invs, _ := bill.Invoices(ctx, red.ID)
		return invs[0]
	}
	if _, err := svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if st := state(svc); st.State != billing.InvoiceNeedsAddress || ins.InvoiceCalls() != 0 {
		t.Fatalf("state %s", st.State)
	}
	cfg.AddressOverrides = map[string]xrechnung.Address{billingtest.IKAPI: {Street: "Kassenweg 2", Postcode: "20095", City: "Hamburg"}}
	fixed, _ := billing.New(cfg)
	clock.Advance(2 * time.Hour)
	if _, err := fixed.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fixed.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if st := state(fixed); st.State != billing.InvoiceAccepted {
		t.Fatalf("after override: %s", st.State)
	}

	// a service day after the issue day cannot be invoiced yet: needs_data,
	// no network call; it is requeued and built once the day has come
	ins.ServiceDay = kassenapi.MustDate("2026-12-31")
	late := billingtest.NewCode(billingtest.PrefixAPI)
	if _, err := fixed.Redeem(ctx, "b", late); err != nil {
		t.Fatal(err)
	}
	calls := ins.InvoiceCalls()
	if _, err := fixed.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	c, _ := kassenapi.ParseCode(late)
	ds, _ := fixed.Digests(c)
	red, _ := bill.Redemption(ctx, ds)
	invs, _ := bill.Invoices(ctx, red.ID)
	if invs[0].State != billing.InvoiceNeedsData || ins.InvoiceCalls() != calls {
		t.Fatalf("state %s review %v calls %d/%d: %s", invs[0].State, invs[0].NeedsReview, ins.InvoiceCalls(), calls, invs[0].Messages)
	}
	if strings.Contains(invs[0].Messages, late) {
		t.Fatal("finding message contains the code")
	}
	clock.Advance(305 * 24 * time.Hour)
	if _, err := fixed.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fixed.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	invs, _ = bill.Invoices(ctx, red.ID)
	if invs[0].State != billing.InvoiceAccepted {
		t.Fatalf("after the service day: %s %s", invs[0].State, invs[0].Messages)
	}
}
