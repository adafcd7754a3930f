package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/digakit/digakit/refserver/internal/store"
)

func ExampleParseDSN() {
	for _, s := range []string{"sqlite:digakit-data/digakit.db", "sqlite:///var/lib/digakit/billing.db", "postgres://app@db:5432/digakit?passfile=/run/pgpass", "mysql://db/x"} {
		d, err := store.ParseDSN(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(d.Dialect, d.Redacted())
	}
	// Output:
	// sqlite sqlite:digakit-data/digakit.db
	// sqlite sqlite:/var/lib/digakit/billing.db
	// postgres postgres://db:5432/digakit
	// error: store: unknown DSN scheme (want sqlite:PATH or postgres://…)
}

func ExampleDB_Migrate() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	main, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "digakit.db"), store.RoleMain)
	defer main.Close()
	billing, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "billing.db"), store.RoleBilling)
	defer billing.Close()
	fmt.Println(main.Migrate(ctx), billing.Migrate(ctx))

	// The same file opened for the other role is refused.
	wrong, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "digakit.db"), store.RoleBilling)
	defer wrong.Close()
	fmt.Println(wrong.Migrate(ctx))
	// Output:
	// <nil> <nil>
	// store: main and billing DSNs name the same database
}
