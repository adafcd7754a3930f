package sqlstore_test

import (
	"testing"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

func newStore(t *testing.T, db *sqltest.DB) *sqlstore.Store {
	t.Helper()
	require.NoError(t, sqlstore.CreateSchema(t.Context(), db.DB, db.Dialect))
	st, err := sqlstore.New(db.DB, db.Dialect)
	require.NoError(t, err)
	return st
}

// AU-20: the conformance suite on SQLite always and PostgreSQL when
// DIGAKIT_TEST_POSTGRES is set.
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		audittest.Run(t, func(t *testing.T) audit.Store { return newStore(t, sqltest.SQLite(t)) })
	})
	t.Run("postgres", func(t *testing.T) {
		sqltest.Postgres(t) // skips with a visible message when not configured
		audittest.Run(t, func(t *testing.T) audit.Store { return newStore(t, sqltest.Postgres(t)) })
	})
}
