package billing_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

// The crash test K1 (spec B6): a child process runs redemptions and the
// submission worker on SQLite files and is SIGKILLed, at a random moment
// or at one of the crash points. The fake insurer lives in the parent and
// is reached over HTTP, so it survives the kills. After every kill the
// parent restarts on the same files, reconciles and checks: no code with
// two 380s, no changed number, every code the insurer confirmed is
// validated with exactly one accepted 380 and bound to its account, and
// PRAGMA integrity_check is ok.

const (
	envChild = "DIGAKIT_BILLING_CRASH_CHILD"
	envDir   = "DIGAKIT_BILLING_CRASH_DIR"
	envURL   = "DIGAKIT_BILLING_CRASH_URL"
	envCodes = "DIGAKIT_BILLING_CRASH_CODES"
	envPoint = "DIGAKIT_BILLING_CRASH_POINT"
)

type rpcAnswer struct {
	VEID    string `json:"veid,omitempty"`
	Day     string `json:"day,omitempty"`
	FEH     int    `json:"feh,omitempty"`
	Unknown bool   `json:"unknown,omitempty"`
	Payload []byte `json:"payload,omitempty"`
}

// rpcInsurer is the child's view of the parent's fake insurer.
type rpcInsurer struct{ url string }

func (r rpcInsurer) call(ctx context.Context, path string, body any) (*rpcAnswer, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", r.url+path, strings.NewReader(string(b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: errors.New("rpc failed")}
	}
	defer resp.Body.Close()
	var a rpcAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: errors.New("rpc failed")}
	}
	if a.Unknown {
		return nil, &kassenapi.TransportError{Sent: true, Class: kassenapi.ClassOutcomeUnknown, Err: errors.New("dropped")}
	}
	if a.FEH != 0 {
		return nil, billingtest.FEH(a.FEH)
	}
	return &a, nil
}

func (r rpcInsurer) ValidateCode(ctx context.Context, code kassenapi.Code) (*kassenapi.CodeCheck, error) {
	a, err := r.call(ctx, "/check", map[string]string{"code": code.Plain()})
	if err != nil {
		return nil, err
	}
	day, _ := kassenapi.ParseDate(a.Day)
	return &kassenapi.CodeCheck{Code: code, VEID: a.VEID, ServiceDay: day, Procedure: kassenapi.ProcedureCheck,
		Exchanges: []kassenapi.Exchange{{At: time.Now(), Procedure: kassenapi.ProcedureCheck, SenderIK: kassenapitest.ManufacturerIK, ReceiverIK: billingtest.IKAPI, InsurerIK: billingtest.IKAPI, OK: true, Sent: true}}}, nil
}

func (r rpcInsurer) SubmitInvoice(ctx context.Context, s kassenapi.InvoiceSubmission) (*kassenapi.InvoiceAnswer, error) {
	a, err := r.call(ctx, "/invoice", map[string]any{"code": s.Code.Plain(), "number": s.Number, "xml": s.XML})
	if err != nil {
		return nil, err
	}
	return &kassenapi.InvoiceAnswer{Payload: a.Payload,
		Exchanges: []kassenapi.Exchange{{At: time.Now(), Procedure: kassenapi.ProcedureInvoice, SenderIK: kassenapitest.ManufacturerIK, ReceiverIK: billingtest.IKAPI, InsurerIK: billingtest.IKAPI, OK: true, Sent: true}}}, nil
}

func serveInsurer(ins *billingtest.Insurer) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Code string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		code, _ := kassenapi.ParseCode(in.Code)
		cc, err := ins.ValidateCode(r.Context(), code)
		a := rpcAnswer{}
		var ie *kassenapi.InsurerError
		switch {
		case err == nil:
			a.VEID, a.Day = cc.VEID, cc.ServiceDay.String()
		case errors.As(err, &ie):
			a.FEH = ie.Infos[0].Nummer
		default:
			a.Unknown = true
		}
		_ = json.NewEncoder(w).Encode(a)
	})
	mux.HandleFunc("POST /invoice", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Code, Number string
			XML          []byte
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		code, _ := kassenapi.ParseCode(in.Code)
		ans, err := ins.SubmitInvoice(r.Context(), kassenapi.InvoiceSubmission{Number: in.Number, Code: code, XML: in.XML})
		a := rpcAnswer{}
		if err != nil {
			a.Unknown = true
		} else {
			a.Payload = ans.Payload
		}
		_ = json.NewEncoder(w).Encode(a)
	})
	return httptest.NewServer(mux)
}

func openFile(t testing.TB, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqltest.SQLitePragmas)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

type fileBackend struct{ dir string }

func (b fileBackend) Stores(t *testing.T) (billing.BindingStore, billing.BillingStore) {
	m, bl := openFile(t, filepath.Join(b.dir, "main.db")), openFile(t, filepath.Join(b.dir, "billing.db"))
	t.Cleanup(func() { _ = m.Close(); _ = bl.Close() })
	x, _ := sqlstore.NewBindings(m, "sqlite")
	y, _ := sqlstore.NewBilling(bl, "sqlite")
	return x, y
}

// TestCrashChild is the child process of TestCrashK1; it does nothing
// unless started by it.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("child of TestCrashK1")
	}
	ctx := context.Background()
	binds, bill := fileBackend{os.Getenv(envDir)}.Stores(t)
	ins := rpcInsurer{os.Getenv(envURL)}
	cfg := billingtest.Config(t, binds, bill, nil, time.Now)
	cfg.Checker, cfg.Submitter = ins, ins
	if p := os.Getenv(envPoint); p != "" {
		cfg.Fault = func(point string) error {
			if point == p {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Second)
			}
			return nil
		}
	}
	svc, err := billing.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range strings.Split(os.Getenv(envCodes), ",") {
		_, _ = svc.Redeem(ctx, "acct-"+c[:8], c)
		if i%2 == 1 {
			_, _ = svc.SubmitDue(ctx, 5)
		}
	}
	for {
		if n, _ := svc.SubmitDue(ctx, 10); n == 0 {
			break
		}
	}
	_, _ = svc.Reconcile(ctx)
}

func TestCrashK1(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short")
	}
	dir := t.TempDir()
	for _, role := range []string{"main", "billing"} {
		db := openFile(t, filepath.Join(dir, role+".db"))
		if err := sqlstore.Migrate(context.Background(), db, "sqlite", role); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	ins := billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay)
	ins.Delay = 2 * time.Millisecond
	srv := serveInsurer(ins)
	defer srv.Close()
	rounds := 12
	if os.Getenv("DIGAKIT_LONG") == "1" {
		rounds = 200
	}
	points := []string{"check:claimed", "check:answered", "check:recorded", "invoice:built", "invoice:sent"}
	var all []string
	rng := rand.New(rand.NewPCG(1, 2))
	offset := time.Duration(0)
	kills := 0
	for round := 0; round < rounds; round++ {
		codes := make([]string, 4)
		for i := range codes {
			codes[i] = billingtest.NewCode(billingtest.PrefixAPI)
		}
		all = append(all, codes...)
		point := ""
		if round%2 == 0 {
			point = points[(round/2)%len(points)]
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"=1", envDir+"="+dir, envURL+"="+srv.URL, envCodes+"="+strings.Join(codes, ","), envPoint+"="+point)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if point == "" {
			time.Sleep(time.Duration(5+rng.IntN(120)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		if err := cmd.Wait(); err != nil {
			kills++
		}
		// restart: a new process on the same files, later in time
		offset += 8 * time.Hour
		off := offset
		binds, bill := fileBackend{dir}.Stores(t)
		cfg := billingtest.Config(t, binds, bill, ins, func() time.Time { return time.Now().Add(off) })
		svc, err := billing.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for pass := 0; pass < 3; pass++ {
			if _, err := svc.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			for {
				n, err := svc.SubmitDue(ctx, 20)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			off += 7 * time.Hour
			offset = off
		}
		checkK1(t, svc, bill, ins, all)
	}
	if kills == 0 {
		t.Fatal("no child was killed")
	}
	db := openFile(t, filepath.Join(dir, "billing.db"))
	defer db.Close()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %s %v", ok, err)
	}
	t.Logf("%d rounds, %d children killed, %d codes, %d invoices booked", rounds, kills, len(all), len(ins.Invoices()))
}

func checkK1(t *testing.T, svc *billing.Service, bill billing.BillingStore, ins *billingtest.Insurer, codes []string) {
	t.Helper()
	ctx := context.Background()
	billed := ins.BilledCodes()
	for _, c := range codes {
		if len(billed[c]) > 1 {
			t.Fatalf("code billed under %d numbers", len(billed[c]))
		}
		code, _ := kassenapi.ParseCode(c)
		ds, _ := svc.Digests(code)
		r, err := bill.Redemption(ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		confirmed := ins.CountFor(c) > 0
		if !confirmed {
			continue
		}
		if r == nil || r.State != billing.RedemptionValidated {
			t.Fatalf("insurer confirmed a code that is not validated: %+v", r)
		}
		invs, _ := bill.Invoices(ctx, r.ID)
		if len(invs) != 1 || invs[0].State != billing.InvoiceAccepted || invs[0].NeedsReview {
			t.Fatalf("confirmed code: invoices %d %v", len(invs), func() []string {
				var s []string
				for _, i := range invs {
					s = append(s, fmt.Sprint(i.Number, " ", i.State))
				}
				return s
			}())
		}
		if len(billed[c]) != 1 || billed[c][0] != invs[0].Number {
			t.Fatalf("fake booked %v, ledger %s", billed[c], invs[0].Number)
		}
		res, err := svc.Redeem(ctx, "acct-"+c[:8], c)
		if err != nil || res.Outcome != billing.AlreadyActive {
			t.Fatalf("confirmed code not bound to its account: %v %v", res, err)
		}
	}
}
