package appversion_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion"
)

func ExampleGate_Middleware() {
	grace := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	gate, err := appversion.New(appversion.Config{
		Policies: []appversion.Policy{{
			Platform: appversion.IOS, MinimumVersion: "1.4.0", GraceUntil: &grace,
			BlockedVersions: []string{"1.3.7"}, StoreURL: "https://apps.example/id1",
		}},
		Now: func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	api := gate.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "data")
	}))
	for _, v := range []string{"1.4.2", "1.3.9", "1.3.7", "v1.4"} {
		r := httptest.NewRequest("GET", "/v1/things", nil)
		r.Header.Set("X-App-Platform", "ios")
		r.Header.Set("X-App-Version", v)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Printf("%-6s %d %q\n", v, w.Code, w.Header().Get("X-App-Update-Status"))
	}
	// Output:
	// 1.4.2  200 ""
	// 1.3.9  200 "update_required; grace-until=2026-12-06T00:00:00Z"
	// 1.3.7  426 ""
	// v1.4   426 ""
}

func ExampleGate_Handler() {
	gate, _ := appversion.New(appversion.Config{
		Policies: []appversion.Policy{{Platform: appversion.Android, MinimumVersion: "2.0.0", RecommendedVersion: "2.3.0"}},
	})
	r := httptest.NewRequest("GET", "/v1/app-versions?platform=android&version=2.1.0", nil)
	w := httptest.NewRecorder()
	gate.Handler().ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 {"platform":"android","status":"update_recommended","minimum_version":"2.0.0","recommended_version":"2.3.0","grace_until":null,"store_url":null,"advisory_id":null,"message_key":null}
}
