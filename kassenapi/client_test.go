package kassenapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

func mustCode(t testing.TB, s string) kassenapi.Code {
	t.Helper()
	c, err := kassenapi.ParseCodeMode(s, kassenapi.CodeModeTest)
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	return c
}

func newClient(t testing.TB, srv *kassenapitest.Server, mod func(*kassenapi.Config)) *kassenapi.Client {
	t.Helper()
	cfg := srv.ClientConfig()
	if mod != nil {
		mod(&cfg)
	}
	c, err := kassenapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestValidatePseudoCodes(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, nil)
	tests := []struct {
		code     string
		sentinel error
		class    kassenapi.ErrorClass
		attempts int
	}{
		{kassenapitest.TestCodeValid, nil, kassenapi.ClassNone, 1},
		{kassenapitest.TestCodeExpired, kassenapi.ErrCodeExpired, kassenapi.ClassRejected, 1},
		{kassenapitest.TestCodeCancelled, kassenapi.ErrCodeCancelled, kassenapi.ClassRejected, 1},
		{kassenapitest.TestCodeNotFound, kassenapi.ErrCodeNotFound, kassenapi.ClassRejected, 1},
		{kassenapitest.TestCodeInvalid, kassenapi.ErrRequestRejected, kassenapi.ClassInternal, 1},
		{kassenapitest.TestCodeServer, kassenapi.ErrInsurerUnavailable, kassenapi.ClassTransient, 3},
		{kassenapitest.TestCodeStorage, kassenapi.ErrInsurerUnavailable, kassenapi.ClassTransient, 3},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			code := mustCode(t, tt.code)
			res, err := c.ValidateCode(t.Context(), code)
			if tt.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.VEID != "12345000" || res.ServiceDay != kassenapi.DateOf(time.Now()) || res.Procedure != "TDFC0" {
					t.Fatalf("got %s %s %s", res.VEID, res.ServiceDay, res.Procedure)
				}
				ex := res.Exchanges[0]
				if ex.SenderIK != "990000018" || ex.ReceiverIK != "990000200" || ex.InsurerIK != "990000101" || !ex.OK || !ex.Sent || ex.HTTPStatus != 200 {
					t.Fatalf("exchange %+v", ex)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) || kassenapi.ClassOf(err) != tt.class {
				t.Fatalf("err %v class %v", err, kassenapi.ClassOf(err))
			}
			var ie *kassenapi.InsurerError
			if !errors.As(err, &ie) || ie.Infos[0].Text == "" {
				t.Fatalf("no InsurerError with Fehlertext: %v", err)
			}
			if tt.sentinel == kassenapi.ErrRequestRejected && ie.Infos[0].XPath == "" {
				t.Fatal("FEH 200 without XPath")
			}
			exs := kassenapi.ExchangesOf(err)
			if len(exs) != tt.attempts || srv.CountFor(code) != tt.attempts {
				t.Fatalf("exchanges %d, server calls %d, want %d", len(exs), srv.CountFor(code), tt.attempts)
			}
			for i, ex := range exs {
				if ex.Attempt != i+1 || !ex.Sent || len(ex.FehlerNummern) != 1 || ex.Class != tt.class {
					t.Fatalf("exchange %d: %+v", i, ex)
				}
			}
		})
	}
}

func TestValidateRegistry(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{Repeat: kassenapitest.RepeatFEH101})
	c := newClient(t, srv, nil)
	valid := kassenapitest.NewCode("ZZ")
	day := kassenapi.DateOf(time.Now()).AddDays(-3)
	srv.AddCode(valid, kassenapitest.State{Status: kassenapitest.Valid, VEIDSuffix: "001", ServiceDay: day})
	expired, cancelled, unknown := kassenapitest.NewCode("ZZ"), kassenapitest.NewCode("ZZ"), kassenapitest.NewCode("ZU")
	srv.AddCode(expired, kassenapitest.State{Status: kassenapitest.Expired})
	srv.AddCode(cancelled, kassenapitest.State{Status: kassenapitest.Cancelled})

	res, err := c.ValidateCode(t.Context(), valid)
	if err != nil || res.VEID != "12345001" || res.ServiceDay != day || res.Procedure != "EDFC0" {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := c.ValidateCode(t.Context(), valid); !errors.Is(err, kassenapi.ErrCodeCancelled) {
		t.Fatalf("repeat: %v", err)
	}
	for code, want := range map[kassenapi.Code]error{expired: kassenapi.ErrCodeExpired, cancelled: kassenapi.ErrCodeCancelled, unknown: kassenapi.ErrCodeNotFound} {
		if _, err := c.ValidateCode(t.Context(), code); !errors.Is(err, want) {
			t.Fatalf("%v: got %v", want, err)
		}
	}
	// Service days: older than 400 days is a warning, in the future an error.
	old, future := kassenapitest.NewCode("ZZ"), kassenapitest.NewCode("ZZ")
	srv.AddCode(old, kassenapitest.State{ServiceDay: kassenapi.DateOf(time.Now()).AddDays(-401)})
	srv.AddCode(future, kassenapitest.State{ServiceDay: kassenapi.DateOf(time.Now()).AddDays(3)})
	if res, err := c.ValidateCode(t.Context(), old); err != nil || !strings.Contains(strings.Join(res.Warnings, "|"), "older than 400 days") {
		t.Fatalf("old service day: %v %v", err, res)
	}
	var pe *kassenapi.ProtocolError
	if _, err := c.ValidateCode(t.Context(), future); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "future") {
		t.Fatalf("future service day: %v", err)
	}
	// ZU goes to fake B with clearing IK 990000300.
	exs := kassenapi.ExchangesOf(func() error { _, err := c.ValidateCode(t.Context(), unknown); return err }())
	if len(exs) != 1 || exs[0].ReceiverIK != "990000300" || exs[0].URL != srv.URLB() {
		t.Fatalf("%+v", exs)
	}
}

func TestTestCodeNotAllowed(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, func(c *kassenapi.Config) { c.AllowTestCodes = false })
	code := mustCode(t, kassenapitest.TestCodeValid)
	if _, err := c.ValidateCode(t.Context(), code); !errors.Is(err, kassenapi.ErrTestCodeNotAllowed) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.ValidateTestCode(t.Context(), code, "ZZ"); !errors.Is(err, kassenapi.ErrTestCodeNotAllowed) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.SubmitInvoice(t.Context(), kassenapi.InvoiceSubmission{Test: true, XML: []byte("<x/>")}); !errors.Is(err, kassenapi.ErrTestCodeNotAllowed) {
		t.Fatalf("got %v", err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("%d calls reached the insurer", n)
	}
}

func TestRoutingErrors(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, nil)
	for prefix, want := range map[string]error{
		"ZX": kassenapi.ErrInsurerInsolvent,
		"ZY": kassenapi.ErrInsurerInsolvent, // merged into the insolvent ZX
		"ZV": kassenapi.ErrNoElectronicEndpoint,
		"ZA": kassenapi.ErrUnknownPrefix,
	} {
		if _, err := c.ValidateCode(t.Context(), kassenapitest.NewCode(prefix)); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", prefix, err, want)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("%d calls reached the insurer", n)
	}
}

// refreshingDir counts refreshes; the second snapshot knows the prefix.
type refreshingDir struct {
	mu        sync.Mutex
	cur, next *kassenapi.Directory
	refreshes int
}

func (r *refreshingDir) Current() *kassenapi.Directory {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}
func (r *refreshingDir) Refresh(context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshes++
	r.cur = r.next
	return true, nil
}

func TestUnknownPrefixRefreshesOnce(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	entries := kassenapitest.DefaultDirectoryEntries(kassenapitest.EndpointOf(srv.URLA()), kassenapitest.EndpointOf(srv.URLB()))
	without, _, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(kassenapitest.DirectoryXML(entries[1:]))
	if err != nil {
		t.Fatal(err)
	}
	rd := &refreshingDir{cur: without, next: srv.Directory()}
	c := newClient(t, srv, func(c *kassenapi.Config) { c.Directory = rd })
	code := kassenapitest.NewCode("ZZ")
	srv.AddCode(code, kassenapitest.State{})
	if _, err := c.ValidateCode(t.Context(), code); err != nil || rd.refreshes != 1 {
		t.Fatalf("%v, %d refreshes", err, rd.refreshes)
	}
	// another unknown prefix within 10 minutes: no second refresh
	if _, err := c.ValidateCode(t.Context(), kassenapitest.NewCode("ZA")); !errors.Is(err, kassenapi.ErrUnknownPrefix) || rd.refreshes != 1 {
		t.Fatalf("%v, %d refreshes", err, rd.refreshes)
	}
}

// TestNetworkFaults has one named case per network row of spec A4.
func TestNetworkFaults(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	tests := []struct {
		name      string
		fault     kassenapitest.Fault
		strict    bool
		class     kassenapi.ErrorClass
		sentinel  error
		sent      bool
		exchanges int
		warning   string
	}{
		{"empty 200 body", kassenapitest.Fault{Kind: kassenapitest.FaultEmptyBody}, true, kassenapi.ClassOutcomeUnknown, kassenapi.ErrOutcomeUnknown, true, 1, ""},
		{"multipart without boundary", kassenapitest.Fault{Kind: kassenapitest.FaultNoBoundary}, true, kassenapi.ClassNone, nil, true, 1, "boundary"},
		{"raw CMS body", kassenapitest.Fault{Kind: kassenapitest.FaultRawCMS}, true, kassenapi.ClassNone, nil, true, 1, "not multipart"},
		{"html 502 then ok", kassenapitest.Fault{Kind: kassenapitest.FaultHTML502, Times: 1}, true, kassenapi.ClassNone, nil, true, 2, ""},
		{"503 retry-after twice", kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 503, RetryAfter: "1", Times: 2}, true, kassenapi.ClassNone, nil, true, 3, ""},
		{"429 always", kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 429}, true, kassenapi.ClassTransient, kassenapi.ErrInsurerUnavailable, true, 3, ""},
		{"400", kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 400}, true, kassenapi.ClassInternal, nil, true, 1, ""},
		{"500 no retry", kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 500}, true, kassenapi.ClassTransient, kassenapi.ErrInsurerUnavailable, true, 1, ""},
		{"FEH 201 then ok", kassenapitest.Fault{Kind: kassenapitest.FaultFEH201, Times: 2}, true, kassenapi.ClassNone, nil, true, 3, ""},
		{"FEH 202 always", kassenapitest.Fault{Kind: kassenapitest.FaultFEH202}, true, kassenapi.ClassTransient, kassenapi.ErrInsurerUnavailable, true, 3, ""},
		{"accept then drop", kassenapitest.Fault{Kind: kassenapitest.FaultAcceptThenDrop}, true, kassenapi.ClassOutcomeUnknown, kassenapi.ErrOutcomeUnknown, true, 1, ""},
		{"delay", kassenapitest.Fault{Kind: kassenapitest.FaultDelay, Delay: 20 * time.Millisecond}, true, kassenapi.ClassNone, nil, true, 1, ""},
		{"v2 namespace v3 version", kassenapitest.Fault{Kind: kassenapitest.FaultWrongNamespace}, true, kassenapi.ClassNone, nil, true, 1, "v2 namespace"},
		{"windows-1252 declared utf-8", kassenapitest.Fault{Kind: kassenapitest.FaultBadEncoding}, true, kassenapi.ClassNone, nil, true, 1, "windows-1252"},
		{"answer for another code", kassenapitest.Fault{Kind: kassenapitest.FaultOtherCode}, true, kassenapi.ClassOutcomeUnknown, kassenapi.ErrOutcomeUnknown, true, 1, ""},
		{"VE-ID of another DiGA", kassenapitest.Fault{Kind: kassenapitest.FaultOtherVEID}, true, kassenapi.ClassOutcomeUnknown, nil, true, 1, ""},
		{"truncated CMS", kassenapitest.Fault{Kind: kassenapitest.FaultTruncatedCMS}, true, kassenapi.ClassOutcomeUnknown, nil, true, 1, ""},
		{"wrong AES OID", kassenapitest.Fault{Kind: kassenapitest.FaultWrongAESOID}, true, kassenapi.ClassOutcomeUnknown, nil, true, 1, ""},
		{"OAEP without MGF", kassenapitest.Fault{Kind: kassenapitest.FaultOAEPNoMGF}, true, kassenapi.ClassOutcomeUnknown, nil, true, 1, ""},
		{"unknown signer strict", kassenapitest.Fault{Kind: kassenapitest.FaultUnknownSigner}, true, kassenapi.ClassOutcomeUnknown, nil, true, 1, ""},
		{"unknown signer lenient", kassenapitest.Fault{Kind: kassenapitest.FaultUnknownSigner}, false, kassenapi.ClassNone, nil, true, 1, "signature not verified"},
		{"previous certificate", kassenapitest.Fault{Kind: kassenapitest.FaultPreviousCert}, true, kassenapi.ClassNone, nil, true, 1, "previous own certificate"},
		{"DER answer", kassenapitest.Fault{Kind: kassenapitest.FaultDER}, true, kassenapi.ClassNone, nil, true, 1, ""},
		{"no signed attributes", kassenapitest.Fault{Kind: kassenapitest.FaultNoSignedAttrs}, true, kassenapi.ClassNone, nil, true, 1, ""},
		{"unknown_ca", kassenapitest.Fault{Kind: kassenapitest.FaultUnknownCA}, true, kassenapi.ClassConfig, nil, false, 1, ""},
		{"IK_Krankenkasse differs (merger)", kassenapitest.Fault{Kind: kassenapitest.FaultOtherInsurerIK}, true, kassenapi.ClassNone, nil, true, 1, "IK_Krankenkasse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetFault(kassenapitest.Fault{}) // clear
			srv.SetFault(tt.fault)
			defer srv.SetFault(kassenapitest.Fault{})
			c := newClient(t, srv, func(c *kassenapi.Config) {
				if !tt.strict {
					c.Verify = kassenapi.VerifyLenient
				}
			})
			code := kassenapitest.NewCode("ZZ")
			srv.AddCode(code, kassenapitest.State{})
			res, err := c.ValidateCode(t.Context(), code)
			if got := kassenapi.ClassOf(err); got != tt.class {
				t.Fatalf("class %v, want %v (err %v)", got, tt.class, err)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Fatalf("err %v is not %v", err, tt.sentinel)
			}
			exs := kassenapi.ExchangesOf(err)
			if err == nil {
				exs = res.Exchanges
				if res.VEID != "12345000" {
					t.Fatalf("VEID %s", res.VEID)
				}
				if tt.warning != "" && !strings.Contains(strings.Join(res.Warnings, "|"), tt.warning) {
					t.Fatalf("warnings %q lack %q", res.Warnings, tt.warning)
				}
			}
			if len(exs) != tt.exchanges {
				t.Fatalf("%d exchanges, want %d: %+v", len(exs), tt.exchanges, exs)
			}
			if last := exs[len(exs)-1]; tt.class != kassenapi.ClassConfig && last.Sent != tt.sent {
				t.Fatalf("sent=%v", last.Sent)
			}
			if tt.class == kassenapi.ClassConfig {
				var te *kassenapi.TransportError
				if !errors.As(err, &te) || !strings.Contains(te.Hint, "chain") || !strings.Contains(err.Error(), "unknown certificate authority") {
					t.Fatalf("no TLS hint: %v", err)
				}
			}
		})
	}
}

func TestLeafOnlyChainUnknownCA(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, func(c *kassenapi.Config) { c.Identity = srv.PKI().LeafOnlyIdentity() })
	_, err := c.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid))
	var te *kassenapi.TransportError
	// Go's TLS client sends no certificate when its chain does not reach
	// an acceptable CA; the endpoint then aborts with an alert (TK:
	// handshake failure): class Config, no retry. With TLS 1.3 the server
	// checks the client certificate after the client has finished its
	// handshake, so the client may see its request write fail (broken pipe
	// or reset) before it reads the alert; it then reports a transport
	// failure. In both cases the call fails and is not retried.
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *TransportError", err)
	}
	alert := strings.Contains(err.Error(), "remote error: tls:")
	if alert && te.Class != kassenapi.ClassConfig {
		t.Fatalf("TLS alert classified %v, want config: %v", te.Class, err)
	}
	if !alert && !strings.Contains(err.Error(), "broken pipe") && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v, want the TLS alert or the TLS 1.3 write race", err)
	}
	if n := len(kassenapi.ExchangesOf(err)); n != 1 {
		t.Fatalf("%d exchanges: a TLS config error must not be retried", n)
	}
}

func TestHangTimeoutAndCancel(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultHang})
	c := newClient(t, srv, func(c *kassenapi.Config) { c.CheckTimeout = 300 * time.Millisecond })
	code := mustCode(t, kassenapitest.TestCodeValid)
	_, err := c.ValidateCode(t.Context(), code)
	var te *kassenapi.TransportError
	if !errors.As(err, &te) || !te.Sent || te.Class != kassenapi.ClassOutcomeUnknown || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	if n := len(kassenapi.ExchangesOf(err)); n != 1 {
		t.Fatalf("%d exchanges; a sent request must not be retried", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	c2 := newClient(t, srv, nil)
	_, err = c2.ValidateCode(ctx, code)
	if !errors.Is(err, context.Canceled) || !errors.As(err, &te) || !te.Sent {
		t.Fatalf("cancel: %v", err)
	}
}

func TestNothingSentIsRetried(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	entries := kassenapitest.DefaultDirectoryEntries("127.0.0.1:1", "127.0.0.1:1")
	d, _, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(kassenapitest.DirectoryXML(entries))
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c := newClient(t, srv, func(c *kassenapi.Config) {
		c.Directory = kassenapi.StaticDirectory{D: d}
		c.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	})
	_, err = c.ValidateCode(t.Context(), kassenapitest.NewCode("ZZ"))
	var te *kassenapi.TransportError
	if !errors.As(err, &te) || te.Sent || te.Class != kassenapi.ClassTransient || !errors.Is(err, kassenapi.ErrInsurerUnavailable) {
		t.Fatalf("got %v", err)
	}
	if n := len(kassenapi.ExchangesOf(err)); n != 3 {
		t.Fatalf("%d exchanges, want 3", n)
	}
	if len(waits) != 2 || waits[0] < 800*time.Millisecond || waits[0] > 1200*time.Millisecond || waits[1] < 1600*time.Millisecond || waits[1] > 2400*time.Millisecond {
		t.Fatalf("backoff %v, want 1 s and 2 s ±20 %%", waits)
	}
	// Invoices are retried when nothing was sent, too.
	r, _ := d.Route("ZZ", kassenapi.DateOf(time.Now()))
	_, err = c.SubmitInvoice(t.Context(), kassenapi.InvoiceSubmission{Route: r, XML: []byte("<x/>")})
	if n := len(kassenapi.ExchangesOf(err)); n != 3 {
		t.Fatalf("invoice: %d exchanges, want 3", n)
	}
}

func TestCircuitBreaker(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newClient(t, srv, func(c *kassenapi.Config) {
		c.Clock = clock
		c.Retry.MaxAttempts = 1
		c.Breaker = kassenapi.BreakerPolicy{Threshold: 2, Cooldown: time.Minute}
	})
	code := kassenapitest.NewCode("ZZ")
	srv.AddCode(code, kassenapitest.State{})
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 503})
	for range 2 {
		if _, err := c.ValidateCode(t.Context(), code); kassenapi.ClassOf(err) != kassenapi.ClassTransient {
			t.Fatal(err)
		}
	}
	before := srv.CountFor(code)
	_, err := c.ValidateCode(t.Context(), code)
	var te *kassenapi.TransportError
	if !errors.As(err, &te) || te.Sent || !errors.Is(err, kassenapi.ErrInsurerUnavailable) || srv.CountFor(code) != before {
		t.Fatalf("breaker not open: %v", err)
	}
	srv.SetFault(kassenapitest.Fault{})
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if _, err := c.ValidateCode(t.Context(), code); err != nil {
		t.Fatalf("trial: %v", err)
	}
	if _, err := c.ValidateCode(t.Context(), code); err != nil {
		t.Fatalf("closed again: %v", err)
	}
}

func TestSubmitInvoice(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, nil)
	ctx := t.Context()
	r, err := srv.Directory().Route("ZZ", kassenapi.DateOf(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// A code confirmed by a code check, and an invoice for it.
	code := kassenapitest.NewCode("ZZ")
	srv.AddCode(code, kassenapitest.State{Status: kassenapitest.Valid})
	if _, err := c.ValidateCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	build := func(number string, code kassenapi.Code) []byte {
		t.Helper()
		inv := xrechnungtest.Invoice()
		inv.Number, inv.Code = number, code.Plain()
		xml, err := xrechnung.Build(inv)
		if err != nil {
			t.Fatal(err)
		}
		return xml
	}
	submit := func(number string, code kassenapi.Code, xml []byte, test bool) *xrechnung.Report {
		t.Helper()
		ans, err := c.SubmitInvoice(ctx, kassenapi.InvoiceSubmission{Route: r, Test: test, Number: number, Code: code, XML: xml})
		if err != nil {
			t.Fatal(err)
		}
		if len(ans.Exchanges) != 1 || ans.Exchanges[0].InvoiceNumber != number {
			t.Fatalf("exchanges %+v", ans.Exchanges)
		}
		want := map[bool]string{false: "EDRE0", true: "TDRE0"}[test]
		if ans.Exchanges[0].Procedure != want || srv.Calls()[len(srv.Calls())-1].Procedure != want {
			t.Fatalf("procedure %s, want %s", ans.Exchanges[0].Procedure, want)
		}
		rep, err := xrechnung.ParseReport(ans.Payload)
		if err != nil {
			t.Fatalf("the fake's answer is not a VARL report: %v", err)
		}
		return rep
	}
	inv := build("DG-1", code)
	for _, test := range []bool{false, true} {
		// Accepted, and a resend under the same number is accepted again.
		if rep := submit("DG-1", code, inv, test); !rep.Valid || rep.Assessment != "accept" {
			t.Fatalf("valid invoice rejected: %+v", rep)
		}
	}
	// A second 380 for the same code under another number: INVER.
	if rep := submit("DG-2", code, build("DG-2", code), false); rep.Valid || !reportHas(rep, "INVER-2") {
		t.Fatalf("double billing accepted: %+v", rep)
	}
	// A code never confirmed by a code check: INVER.
	other := kassenapitest.NewCode("ZZ")
	if rep := submit("DG-3", other, build("DG-3", other), false); rep.Valid || !reportHas(rep, "INVER-1") {
		t.Fatalf("unconfirmed code accepted: %+v", rep)
	}
	// An invoice that breaks a DiGA rule: rejected with the rule id.
	broken := bytes.Replace(inv, []byte("<ram:TypeCode>380</ram:TypeCode>"), []byte("<ram:TypeCode>381</ram:TypeCode>"), 1)
	if rep := submit("DG-1", code, broken, false); rep.Valid {
		t.Fatalf("broken invoice accepted: %+v", rep)
	}
	// A sent invoice is never retried by the client.
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultStatus, Status: 503})
	_, err = c.SubmitInvoice(ctx, kassenapi.InvoiceSubmission{Route: r, XML: inv})
	if n := len(kassenapi.ExchangesOf(err)); n != 1 || kassenapi.ClassOf(err) != kassenapi.ClassTransient {
		t.Fatalf("%d exchanges, %v", n, err)
	}
}

// reportHas reports whether a report carries a message with rule code.
func reportHas(rep *xrechnung.Report, code string) bool {
	for _, st := range rep.Steps {
		for _, m := range st.Messages {
			if m.Code == code {
				return true
			}
		}
	}
	return false
}

func TestConcurrentValidations(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, nil)
	const n = 40
	codes := make([]kassenapi.Code, n)
	for i := range codes {
		codes[i] = kassenapitest.NewCode("ZZ")
		srv.AddCode(codes[i], kassenapitest.State{VEIDSuffix: fmt.Sprintf("%03d", i)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			res, err := c.ValidateCode(t.Context(), codes[i])
			if err == nil && res.VEID != fmt.Sprintf("12345%03d", i) {
				err = fmt.Errorf("code %d got VE-ID %s", i, res.VEID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, code := range codes {
		if srv.CountFor(code) != 1 {
			t.Fatalf("code called %d times", srv.CountFor(code))
		}
	}
}

// TestRedaction scans every rendering of results, errors, exchanges and
// log records for the plain codes (spec A6 "Redaction").
func TestRedaction(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	var logs bytes.Buffer
	c := newClient(t, srv, func(c *kassenapi.Config) {
		c.Verify = kassenapi.VerifyLenient
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultUnknownSigner, Times: 1})
	var rendered strings.Builder
	plain := []string{kassenapitest.TestCodeValid, kassenapitest.TestCodeExpired, kassenapitest.TestCodeCancelled,
		kassenapitest.TestCodeNotFound, kassenapitest.TestCodeInvalid, kassenapitest.TestCodeServer, kassenapitest.TestCodeStorage}
	for _, p := range plain {
		res, err := c.ValidateCode(t.Context(), mustCode(t, p))
		var tl bytes.Buffer
		lg := slog.New(slog.NewTextHandler(&tl, nil))
		if err != nil {
			fmt.Fprintf(&rendered, "%v|%s|%+v|%#v|", err, err, err, kassenapi.ExchangesOf(err))
			lg.Info("check failed", "err", err, "exchanges", kassenapi.ExchangesOf(err))
		} else {
			fmt.Fprintf(&rendered, "%v|%+v|%s|%v|%v|%+v|%#v|", res.Code, res.Exchanges, res.Code, res.Warnings, res, res, res.ResponseXML)
			if !strings.Contains(string(res.RequestXML), p) || strings.Contains(fmt.Sprintf("%s %q %x", res.RequestXML, res.RequestXML, res.RequestXML), p) {
				t.Fatal("RequestXML must hold the code and print redacted")
			}
			if j, err := json.Marshal(res); err == nil {
				rendered.Write(j)
			} else {
				t.Fatal(err)
			}
			lg.Info("check ok", "code", res.Code, "exchanges", res.Exchanges, "veid", res.VEID)
		}
		rendered.Write(tl.Bytes())
	}
	rendered.Write(logs.Bytes())
	if logs.Len() == 0 {
		t.Fatal("lenient verification logged nothing")
	}
	for _, p := range plain {
		if strings.Contains(rendered.String(), p) {
			t.Fatalf("plain code %s leaked", p[:4]+"…")
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	for name, mod := range map[string]func(*kassenapi.Config){
		"ik":        func(c *kassenapi.Config) { c.ManufacturerIK = "12" },
		"diga":      func(c *kassenapi.Config) { c.DiGAID = "1234" },
		"identity":  func(c *kassenapi.Config) { c.Identity = nil },
		"directory": func(c *kassenapi.Config) { c.Directory = nil },
		"keys":      func(c *kassenapi.Config) { c.Keys = nil },
		"other ik":  func(c *kassenapi.Config) { c.ManufacturerIK = "990000026" },
	} {
		cfg := srv.ClientConfig()
		mod(&cfg)
		if _, err := kassenapi.New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNoCertificateForClearingIK(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, func(c *kassenapi.Config) {
		c.Keys = kassenapi.StaticKeyList{K: kassenapi.NewKeyList(srv.PKI().Clearing[kassenapitest.ClearingIKB].Cert)}
	})
	_, err := c.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid))
	if !errors.Is(err, kassenapi.ErrNoCertificate) || kassenapi.ClassOf(err) != kassenapi.ClassConfig {
		t.Fatalf("got %v", err)
	}
}

func TestInFlightLimitPerEndpoint(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, func(c *kassenapi.Config) { c.MaxConcurrentPerEndpoint = 1 })
	hanging, waiting := kassenapitest.NewCode("ZZ"), kassenapitest.NewCode("ZZ")
	srv.AddCode(waiting, kassenapitest.State{})
	srv.SetCodeFault(hanging, kassenapitest.Fault{Kind: kassenapitest.FaultHang})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _, _ = c.ValidateCode(ctx, hanging) }()
	for srv.CountFor(hanging) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancelShort()
	_, err := c.ValidateCode(short, waiting)
	var te *kassenapi.TransportError
	if !errors.As(err, &te) || te.Sent || !errors.Is(err, context.DeadlineExceeded) || srv.CountFor(waiting) != 0 {
		t.Fatalf("queued call: %v", err)
	}
	cancel()
	<-done
	if _, err := c.ValidateCode(t.Context(), waiting); err != nil {
		t.Fatalf("slot not released: %v", err)
	}
}

func TestPerEndpointTimeout(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultDelay, Delay: 2 * time.Second})
	c := newClient(t, srv, func(c *kassenapi.Config) {
		c.EndpointTimeouts = map[string]time.Duration{srv.URLA(): 150 * time.Millisecond}
	})
	start := time.Now()
	_, err := c.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid))
	if !errors.Is(err, context.DeadlineExceeded) || kassenapi.ClassOf(err) != kassenapi.ClassOutcomeUnknown {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatal("per-endpoint timeout not applied")
	}
}

// TestNoGoroutineLeak: a client and a fake leave no goroutines behind
// once closed.
func TestNoGoroutineLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := kassenapitest.Start(kassenapitest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := kassenapi.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{kassenapitest.TestCodeValid, kassenapitest.TestCodeServer} {
		_, _ = c.ValidateCode(t.Context(), mustCode(t, p))
	}
	srv.SetFault(kassenapitest.Fault{Kind: kassenapitest.FaultAcceptThenDrop})
	_, _ = c.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid))
	c.CloseIdleConnections()
	_ = srv.Close()
}

func TestValidateTestCodeViaPrefix(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	c := newClient(t, srv, nil)
	res, err := c.ValidateTestCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid), "ZU")
	if err != nil || res.Procedure != "TDFC0" || res.Exchanges[0].URL != srv.URLB() || res.Exchanges[0].InsurerIK != "990000102" {
		t.Fatalf("%v %+v", err, res)
	}
	// Without Config.TestPrefix a test code has no route: class Config.
	prod := newClient(t, srv, func(c *kassenapi.Config) { c.TestPrefix = "" })
	if _, err := prod.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid)); kassenapi.ClassOf(err) != kassenapi.ClassConfig {
		t.Fatalf("test code without TestPrefix: %v", err)
	}
}
