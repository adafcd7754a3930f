package redeemapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/billingtest"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/refserver/internal/redeemapi"
	"github.com/digakit/digakit/refserver/internal/store"
)

// Wire the redemption endpoint on the two databases and redeem a code
// over HTTP against the fake insurer.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "redeemapi-example")
	defer os.RemoveAll(dir)
	mainDB, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "main.db"), store.RoleMain)
	billDB, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "billing.db"), store.RoleBilling)
	defer mainDB.Close()
	defer billDB.Close()
	_ = mainDB.Migrate(ctx)
	_ = billDB.Migrate(ctx)
	binds, _ := sqlstore.NewBindings(mainDB.DB, string(mainDB.Dialect))
	bill, _ := sqlstore.NewBilling(billDB.DB, string(billDB.Dialect))
	ins := billingtest.NewInsurer(billingtest.VEID, kassenapi.MustDate("2026-03-02"))
	d, _, _ := kassenapi.ParseDirectory(billingtest.DirectoryXML())
	seal, _ := billing.NewAESSealer("s1", map[string][]byte{"s1": []byte("0123456789abcdef0123456789abcdef")}, nil)
	svc, err := billing.New(billing.Config{
		Checker: ins, Submitter: ins, Directory: kassenapi.StaticDirectory{D: d},
		Bindings: binds, Billing: bill, Keys: billingtest.Keys(), Seal: seal,
		Catalog: &xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{{VEID: billingtest.VEID, Name: "Fake DiGA",
			From: xrechnung.NewDate(2020, 1, 1), NetCents: 21845, Tax: xrechnung.StandardVAT}}},
		Seller: billingtest.Seller(), Numbering: billing.Numbering{Prefix: "DG"},
		Clock: func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	h, _ := redeemapi.New(redeemapi.Config{Service: svc,
		Account: func(r *http.Request) (string, bool) { return "account-1", true }})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	code := billingtest.NewCode(billingtest.PrefixAPI)
	for range 2 {
		resp, _ := http.Post(srv.URL+"/v1/redemptions", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	// Output:
	// 201 {"outcome":"activated","state":"active","veid":"12345001","service_day":"2026-03-02","access_end":"2026-05-31"}
	// 200 {"outcome":"already_active","state":"active","veid":"12345001","service_day":"2026-03-02","access_end":"2026-05-31"}
}
