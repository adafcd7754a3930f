package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/store"
)

func ExampleNormalizeUsername() {
	n, ok := auth.NormalizeUsername("  ＡＬＩＣＥ-Straße ")
	fmt.Println(n, ok)
	_, ok = auth.NormalizeUsername("ab")
	fmt.Println(ok)
	// Output:
	// alice-strasse true
	// false
}

func ExampleRecoveryCodeHash() {
	fmt.Println(auth.NormalizeRecoveryCode("jbsw-y3dp-ehpk-3pxp-abcd-efgh"))
	fmt.Println(auth.RecoveryCodeHash("JBSW-Y3DP-EHPK-3PXP-ABCD-EFGH"))
	// Output:
	// JBSWY3DPEHPK3PXPABCDEFGH
	// ffb9afbe875cd228ef205fac7ab712513bad693e96df7ac1e0db800b3345c4f1
}

func ExampleTOTPCode() {
	// RFC 6238 Appendix B seed, 6 digits.
	code, _ := auth.TOTPCode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", auth.TOTPStep(time.Unix(1111111109, 0)))
	fmt.Println(code)
	c, ok := auth.NormalizeTOTP("08 18 04")
	fmt.Println(c, ok)
	// Output:
	// 081804
	// 081804 true
}

func ExampleParsePHC() {
	p, _, _, err := auth.ParsePHC("$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0")
	fmt.Println(p.MemoryKiB, p.Iterations, p.Parallelism, err)
	// Output: 19456 2 1 <nil>
}

// ExampleService mounts the auth service on a mux, registers a
// pseudonymous account and confirms its TOTP enrollment.
func ExampleService() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "auth-example")
	defer func() { _ = os.RemoveAll(dir) }()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "main.db"), store.RoleMain)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	ring, _ := auth.NewMemoryKeyRing(nil)
	var srv *httptest.Server
	svc, err := auth.New(auth.Config{
		DB: db.DB, Keys: auth.RandomKeys(), SigningKeys: ring,
		Issuer:  func() string { return srv.URL },
		Clients: []auth.ClientConfig{auth.DevClient()},
		Events:  &auth.MemorySink{},
		// Small parameters for the example; the default is OWASP's.
		Argon2:        auth.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
		AllowInsecure: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	svc.Mount(mux)
	srv = httptest.NewServer(mux)
	defer srv.Close()

	e, err := svc.Register(ctx, "Patient-42", "a long passphrase here")
	if err != nil {
		fmt.Println(err)
		return
	}
	code, _ := auth.TOTPCode(e.TOTPSecret, auth.TOTPStep(time.Now()))
	codes, err := svc.ConfirmTOTP(ctx, e.Token, code)
	fmt.Println(e.Username, len(codes), err)

	resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	if err == nil {
		_ = resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// patient-42 10 <nil>
	// 200
}
