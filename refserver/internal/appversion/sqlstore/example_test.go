package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/appversion/sqlstore"
	"github.com/digakit/digakit/refserver/internal/store"
)

func ExampleStore_Set() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlstore-example-")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "digakit.db"), store.RoleMain)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		panic(err)
	}
	st := sqlstore.New(db.DB, sqlstore.Config{
		Audit: func(_ context.Context, e appversion.AuditEvent) {
			fmt.Println("audit:", e.Type, e.Platform, e.Policy.Revision, e.Actor)
		},
	})
	if _, err := st.Set(ctx, appversion.Policy{Platform: appversion.IOS, MinimumVersion: "1.4.0"}, "cli"); err != nil {
		panic(err)
	}
	if _, err := st.Set(ctx, appversion.Policy{Platform: appversion.IOS, MinimumVersion: "v1.5"}, "cli"); err != nil {
		fmt.Println(err)
	}
	// The gate reads the stored policies.
	gate, _ := appversion.New(appversion.Config{Source: st})
	_ = gate.Refresh(ctx)
	info, _ := gate.Check(appversion.IOS, "1.3.0")
	fmt.Println(info.Status, *info.MinimumVersion)
	// Output:
	// audit: app_policy_changed ios 1 cli
	// appversion: policy minimum_version: not strict SemVer 2.0.0
	// update_required 1.4.0
}
