package redeemapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/sqltest"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/refserver/internal/redeemapi"
	"github.com/digakit/digakit/refserver/internal/store"
)

const opToken = "operator-test-token-0123456789"

type fixture struct {
	srv   *httptest.Server
	ins   *billingtest.Insurer
	clock *billingtest.Clock
	main  *store.DB
	bill  *store.DB
	svc   *billing.Service
	binds billing.BindingStore
}

// dsns returns a main and a billing DSN per dialect.
func dsns(t testing.TB, dialect string) (string, string) {
	if dialect == "sqlite" {
		dir := t.TempDir()
		return "sqlite:" + filepath.Join(dir, "main.db"), "sqlite:" + filepath.Join(dir, "billing.db")
	}
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.SkipMessage)
	}
	var out [2]string
	for i := range out {
		dsn, drop, err := sqltest.CreateDatabase(context.Background(), base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		out[i] = dsn
	}
	return out[0], out[1]
}

func newFixture(t *testing.T, dialect string) *fixture { return newFixtureDialect(t, dialect) }

func newFixtureTB(t testing.TB) *fixture { return newFixtureDialect(t, "sqlite") }

func newFixtureDialect(t testing.TB, dialect string) *fixture {
	ctx := context.Background()
	md, bd := dsns(t, dialect)
	mainDB, err := store.Open(ctx, md, store.RoleMain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mainDB.Close() })
	billDB, err := store.Open(ctx, bd, store.RoleBilling)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = billDB.Close() })
	for _, db := range []*store.DB{mainDB, billDB} {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if dialect == "postgres" {
			db.SetMaxOpenConns(10)
		}
	}
	binds, err := sqlstore.NewBindings(mainDB.DB, string(mainDB.Dialect))
	if err != nil {
		t.Fatal(err)
	}
	bill, err := sqlstore.NewBilling(billDB.DB, string(billDB.Dialect))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ins: billingtest.NewInsurer(billingtest.VEID, billingtest.ServiceDay),
		clock: billingtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), main: mainDB, bill: billDB, binds: binds}
	f.ins.Clock = f.clock.Now
	cfg := billingtest.Config(t, binds, bill, f.ins, f.clock.Now)
	cfg.AllowTestCodes = false
	if f.svc, err = billing.New(cfg); err != nil {
		t.Fatal(err)
	}
	h, err := redeemapi.New(redeemapi.Config{Service: f.svc, OperatorToken: opToken,
		Account: func(r *http.Request) (string, bool) {
			a := r.Header.Get("X-Test-Account")
			return a, a != ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f.srv = httptest.NewServer(mux)
	f.srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t testing.TB, method, path, account, body string, hdr ...string) (int, []byte, http.Header) {
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if account != "" {
		req.Header.Set("X-Test-Account", account)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (f *fixture) redeem(t testing.TB, account, code string) (int, []byte) {
	st, b, _ := f.do(t, "POST", "/v1/redemptions", account, `{"code":"`+code+`"}`)
	return st, b
}

// runs is the number of T1 runs: 50 as issue #4 asks (also under
// -race), 10 with -short.
func runs() int {
	if testing.Short() && os.Getenv("DIGAKIT_LONG") != "1" {
		return 10
	}
	return 50
}

func eachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

func (f *fixture) pendingBindings(t *testing.T) int {
	var n int
	if err := f.main.QueryRow(`SELECT COUNT(*) FROM redemption_bindings WHERE state = 'pending'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestT1 is refserver spec T1: 200 goroutines with 200 accounts redeem
// one code through POST /v1/redemptions: exactly one 201 and 199 409 per
// run, at most one call at the fake insurer per code.
func TestT1(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		n := runs()
		if dialect == "postgres" && os.Getenv("DIGAKIT_LONG") != "1" {
			n = 10 // PostgreSQL runs are slower (two databases per fixture)
		}
		for run := 0; run < n; run++ {
			code := billingtest.NewCode(billingtest.PrefixAPI)
			var wg sync.WaitGroup
			var mu sync.Mutex
			count := map[int]int{}
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					st, body := f.redeem(t, fmt.Sprintf("acct-%d-%d", run, i), code)
					if bytes.Contains(body, []byte(code)) {
						t.Error("answer echoes the code")
					}
					mu.Lock()
					count[st]++
					mu.Unlock()
				}(i)
			}
			wg.Wait()
			if count[201] != 1 || count[409] != 199 {
				t.Fatalf("run %d: statuses %v", run, count)
			}
			if c := f.ins.CountFor(code); c > 1 {
				t.Fatalf("run %d: insurer saw %d calls", run, c)
			}
		}
		if p := f.pendingBindings(t); p != 0 {
			t.Fatalf("%d pending bindings", p)
		}
	})
}

// TestT2 is refserver spec T2: two accounts race for one code, 100 runs:
// one binding per run and no orphaned claims.
func TestT2(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		for run := 0; run < 100; run++ {
			code := billingtest.NewCode(billingtest.PrefixAPI)
			var wg sync.WaitGroup
			st := make([]int, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st[i], _ = f.redeem(t, fmt.Sprintf("t2-%d-%d", run, i), code)
				}()
			}
			wg.Wait()
			if !(st[0] == 201 && st[1] == 409 || st[0] == 409 && st[1] == 201) {
				t.Fatalf("run %d: statuses %v", run, st)
			}
		}
		var bound, orphan int
		if err := f.main.QueryRow(`SELECT COUNT(*) FROM redemption_bindings WHERE state = 'active'`).Scan(&bound); err != nil {
			t.Fatal(err)
		}
		orphan = f.pendingBindings(t)
		var validated, open int
		_ = f.bill.QueryRow(`SELECT COUNT(*) FROM billing_redemptions WHERE state = 'validated'`).Scan(&validated)
		_ = f.bill.QueryRow(`SELECT COUNT(*) FROM billing_redemptions WHERE state <> 'validated'`).Scan(&open)
		if bound != 100 || orphan != 0 || validated != 100 || open != 0 {
			t.Fatalf("bound %d, orphan claims %d, validated %d, open %d", bound, orphan, validated, open)
		}
		if f.ins.Checks() != 100 {
			t.Fatalf("insurer checks %d", f.ins.Checks())
		}
	})
}

func TestStatusMapping(t *testing.T) {
	f := newFixture(t, "sqlite")
	code := billingtest.NewCode(billingtest.PrefixAPI)
	type want struct {
		status int
		code   string
		reason string
	}
	check := func(name string, st int, body []byte, w want) {
		t.Helper()
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		if st != w.status || (w.code != "" && p["code"] != w.code) || (w.reason != "" && p["reason"] != w.reason) {
			t.Fatalf("%s: %d %s", name, st, body)
		}
	}
	st, body := f.redeem(t, "a", code)
	check("first", st, body, want{201, "", ""})
	var v redeemapi.RedemptionView
	if err := json.Unmarshal(body, &v); err != nil || v.VEID != billingtest.VEID || v.AccessEnd != "2026-05-31" || v.ServiceDay != "2026-03-02" {
		t.Fatalf("body %s", body)
	}
	st, body = f.redeem(t, "a", strings.ToLower(code[:4])+"-"+code[4:])
	check("again", st, body, want{200, "", ""})
	st, body = f.redeem(t, "b", code)
	check("other", st, body, want{409, "code-already-redeemed", ""})
	st, body = f.redeem(t, "a", "77AAAAAAAAAAAAAX")
	check("test code", st, body, want{422, "code-invalid", "test_code"})
	st, body = f.redeem(t, "a", code[:15]+"1")
	check("format", st, body, want{422, "code-invalid", "format"})
	st, body = f.redeem(t, "a", billingtest.NewCode("QQ"))
	check("prefix", st, body, want{422, "code-invalid", "unknown_prefix"})
	nf := billingtest.NewCode(billingtest.PrefixAPI)
	f.ins.Answer(nf, billingtest.FEH(102))
	st, body = f.redeem(t, "a", nf)
	check("not found", st, body, want{422, "code-invalid", "not_found"})
	if bytes.Contains(body, []byte(nf)) {
		t.Fatal("422 echoes the code")
	}
	tr := billingtest.NewCode(billingtest.PrefixAPI)
	f.ins.Answer(tr, billingtest.FEH(201))
	st, body, hdr := f.do(t, "POST", "/v1/redemptions", "a", `{"code":"`+tr+`"}`)
	check("transient", st, body, want{503, "insurer-unavailable", ""})
	if hdr.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	f.ins.DropChecks(1)
	st, body = f.redeem(t, "a", billingtest.NewCode(billingtest.PrefixAPI))
	check("unknown", st, body, want{503, "insurer-unavailable", ""})
	for _, b := range []string{``, `{}`, `{"code":1}`, `{"code":"x","y":1}`, `{"code":"x"} {}`, `[]`} {
		st, body, _ := f.do(t, "POST", "/v1/redemptions", "a", b)
		check("body "+b, st, body, want{400, "bad-request", ""})
	}
	st, body, _ = f.do(t, "POST", "/v1/redemptions", "", `{"code":"`+code+`"}`)
	check("anonymous", st, body, want{401, "unauthorized", ""})

	st, body, _ = f.do(t, "GET", "/v1/redemptions/me", "a", "")
	var list []redeemapi.RedemptionView
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list) != 1 || list[0].VEID != billingtest.VEID || list[0].State != "active" {
		t.Fatalf("me: %d %s", st, body)
	}
	if bytes.Contains(body, []byte(code)) {
		t.Fatal("me echoes the code")
	}
}

func TestOperatorEndpoints(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	api, mail := billingtest.NewCode(billingtest.PrefixAPI), billingtest.NewCode(billingtest.PrefixEmail)
	for i, c := range []string{api, mail} {
		if st, b := f.redeem(t, fmt.Sprintf("u%d", i), c); st != 201 {
			t.Fatalf("%d %s", st, b)
		}
	}
	if _, err := f.svc.SubmitDue(ctx, 10); err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + opToken}
	if st, _, _ := f.do(t, "GET", "/admin/v1/billing/manual", "", ""); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	if st, _, _ := f.do(t, "GET", "/admin/v1/billing/manual", "", "", "Authorization", "Bearer wrong"); st != 401 {
		t.Fatalf("wrong token: %d", st)
	}
	st, body, _ := f.do(t, "GET", "/admin/v1/billing/manual", "", "", auth...)
	var items []redeemapi.InvoiceView
	if st != 200 || json.Unmarshal(body, &items) != nil || len(items) != 1 || items[0].Target != "rechnung@zw.example" {
		t.Fatalf("manual: %d %s", st, body)
	}
	if bytes.Contains(body, []byte(mail)) || bytes.Contains(body, []byte(api)) {
		t.Fatal("operator list shows a code")
	}
	num := items[0].Number
	st, body, _ = f.do(t, "GET", "/admin/v1/billing/invoices/"+num+"/xml", "", "", auth...)
	if st != 200 || !bytes.Contains(body, []byte("CrossIndustryInvoice")) {
		t.Fatalf("xml: %d", st)
	}
	if st, b, _ := f.do(t, "POST", "/admin/v1/billing/invoices/"+num+"/dispatched", "", `{"by":"op1","reference":"mail 42"}`, auth...); st != 204 {
		t.Fatalf("dispatched: %d %s", st, b)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/invoices/"+num+"/dispatched", "", `{"by":"op1","reference":"mail 42"}`, auth...); st != 409 {
		t.Fatalf("dispatched twice: %d", st)
	}
	st, body, _ = f.do(t, "GET", "/admin/v1/billing/invoices?state=accepted,manual_sent", "", "", auth...)
	if st != 200 || json.Unmarshal(body, &items) != nil || len(items) != 2 {
		t.Fatalf("queue: %d %s", st, body)
	}
	var accepted string
	for _, it := range items {
		if it.State == "accepted" {
			accepted = it.Number
		}
	}
	st, body, _ = f.do(t, "POST", "/admin/v1/billing/invoices/"+accepted+"/corrections", "", `{"net_cents":20000,"reason":"010:UST-ID"}`, auth...)
	if st != 201 || !bytes.Contains(body, []byte(`"corrects":"`+accepted+`"`)) {
		t.Fatalf("correction: %d %s", st, body)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/invoices/"+accepted+"/corrections", "", `{"net_cents":20000,"reason":"003"}`, auth...); st != 422 {
		t.Fatalf("second correction: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/invoices/"+accepted+"/corrections", "", `{"net_cents":1,"reason":"010:010"}`, auth...); st != 422 {
		t.Fatalf("bad reason: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/invoices/"+accepted+"/cancel", "", "", auth...); st != 409 {
		t.Fatalf("cancel accepted: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/invoices/DG2026999999/resubmit", "", "", auth...); st != 404 {
		t.Fatalf("resubmit unknown: %d", st)
	}
	// review resolution: a dropped check answered later with FEH 102
	rev := billingtest.NewCode(billingtest.PrefixAPI)
	f.ins.DropChecks(1)
	if st, _ := f.redeem(t, "rv", rev); st != 503 {
		t.Fatalf("dropped check: %d", st)
	}
	f.ins.Answer(rev, billingtest.FEH(102))
	f.clock.Advance(10 * time.Minute)
	if _, err := f.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	body0 := `{"code":"` + rev + `","veid":"12345001","service_day":"2026-03-02"}`
	if st, b, _ := f.do(t, "POST", "/admin/v1/billing/reviews", "", body0, auth...); st != 201 || !bytes.Contains(b, []byte(`"number":"DG2026`)) {
		t.Fatalf("resolve: %d %s", st, b)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/reviews", "", body0, auth...); st != 409 {
		t.Fatalf("resolve twice: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/admin/v1/billing/reviews", "", `{"code":"x","veid":"1","service_day":"2026-03-02"}`, auth...); st != 422 {
		t.Fatalf("resolve bad code: %d", st)
	}
	if st, b := f.redeem(t, "rv", rev); st != 201 {
		t.Fatalf("redeem after resolution: %d %s", st, b)
	}
	st, body, _ = f.do(t, "GET", "/admin/v1/billing/summary", "", "", auth...)
	var sum map[string]any
	if st != 200 || json.Unmarshal(body, &sum) != nil || sum["by_state"] == nil {
		t.Fatalf("summary: %d %s", st, body)
	}
	if st, _, _ := f.do(t, "GET", "/admin/v1/billing/invoices?state=bogus", "", "", auth...); st != 400 {
		t.Fatal("bad state accepted")
	}
}

// TestNoPlainCodeInMainDB runs the HTTP flows and scans every column of
// every table of the main database (and the billing database, where the
// code may only be sealed) for the plain codes.
func TestNoPlainCodeInMainDB(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		ctx := context.Background()
		var codes []string
		for i := 0; i < 5; i++ {
			c := billingtest.NewCode(billingtest.PrefixAPI)
			codes = append(codes, c)
			f.redeem(t, fmt.Sprintf("s%d", i), c)
			f.redeem(t, fmt.Sprintf("x%d", i), c)
		}
		rej := billingtest.NewCode(billingtest.PrefixAPI)
		f.ins.Answer(rej, billingtest.FEH(102))
		f.redeem(t, "r", rej)
		codes = append(codes, rej)
		if _, err := f.svc.SubmitDue(ctx, 50); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		for _, db := range []*store.DB{f.main, f.bill} {
			dump := dump(t, db)
			for _, c := range codes {
				for _, form := range []string{c, strings.ToLower(c)} {
					if bytes.Contains(dump, []byte(form)) {
						t.Fatalf("plain code in the %s database", db.Role)
					}
				}
			}
		}
	})
}

func dump(t *testing.T, db *store.DB) []byte {
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	var buf bytes.Buffer
	for _, n := range names {
		rs, err := db.Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptr := make([]any, len(cols))
			for i := range vals {
				ptr[i] = &vals[i]
			}
			if err := rs.Scan(ptr...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					buf.Write(b)
				} else {
					fmt.Fprint(&buf, v)
				}
				buf.WriteByte(0)
			}
		}
		rs.Close()
	}
	return buf.Bytes()
}
