package sqlstore_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the refserver migration files")

// TestRefserverMigrationsMatch keeps the refserver's goose migrations
// equal to the schema of this package.
func TestRefserverMigrationsMatch(t *testing.T) {
	root := "../../../refserver/internal/store/migrations"
	for _, role := range []string{"main", "billing"} {
		name := "00200_billing.sql"
		if role == "main" {
			name = "00200_redemption.sql"
		}
		for _, d := range []string{sqlstore.SQLite, sqlstore.Postgres} {
			path := filepath.Join(root, role, d, name)
			want := sqlstore.GooseMigration(d, role)
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Fatalf("%s differs from sqlstore.GooseMigration; run go test -run TestRefserverMigrationsMatch -update", path)
			}
		}
	}
}
