package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/audittest"
	"github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/internal/sqltest"
	"github.com/stretchr/testify/require"
)

const envCrashDB = "DIGAKIT_AUDIT_CRASH_DB"

func openCrashDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqltest.SQLitePragmas)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// TestHelperAppend is the crash-harness child (audit spec §5): it appends
// one event per transaction together with a business row and prints the
// event id after each commit (= acknowledgement). The parent kills it.
func TestHelperAppend(t *testing.T) {
	path := os.Getenv(envCrashDB)
	if path == "" {
		t.Skip("crash-harness child; run by TestT10Crash")
	}
	ctx := context.Background()
	db, err := openCrashDB(path)
	if err != nil {
		os.Exit(3)
	}
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		os.Exit(3)
	}
	l, err := audit.New(audit.Config{Store: st, OriginPrefix: audittest.TestOriginPrefix, Signers: audittest.Signers()})
	if err != nil {
		os.Exit(3)
	}
	fmt.Println("ready")
	for i := 0; i < 100000; i++ {
		var id string
		err := l.InTx(ctx, func(ctx context.Context, tx *audit.Tx) error {
			r, err := tx.Append(ctx, audittest.LoginFail(i%13))
			if err != nil {
				return err
			}
			id = r[0].ID
			_, err = tx.SQL().ExecContext(ctx, `INSERT INTO crash_business (event_id) VALUES ($1)`, id)
			return err
		})
		if err != nil {
			os.Exit(4)
		}
		fmt.Println(id)
		if i%10 == 9 {
			if _, err := l.Checkpoint(ctx); err != nil {
				os.Exit(5)
			}
		}
	}
	os.Exit(0)
}

// T10 (AU-6): a child process appends with synchronous(FULL) and is
// SIGKILLed at random points; after every restart no acknowledged event is
// missing, no business row lacks its event (or vice versa), the chain
// verifies and PRAGMA integrity_check is ok. 200 kill points; under -race
// (where every child is about 15x slower) 30 unless DIGAKIT_LONG=1.
func TestT10Crash(t *testing.T) {
	points := 200
	if raceEnabled && os.Getenv("DIGAKIT_LONG") != "1" {
		points = 30
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	db, err := openCrashDB(path)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, sqlstore.CreateSchema(ctx, db, sqlstore.SQLite))
	_, err = db.ExecContext(ctx, `CREATE TABLE crash_business (event_id TEXT PRIMARY KEY)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	rng := rand.New(rand.NewPCG(10, 10))
	acked := map[string]bool{}
	for point := range points {
		target := 1 + rng.IntN(25)
		delay := time.Duration(rng.IntN(3000)) * time.Microsecond
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppend$")
		cmd.Env = append(os.Environ(), envCrashDB+"="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(out)
		n := 0
		killed := false
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" || strings.HasPrefix(line, "=== ") {
				continue
			}
			if len(line) == 26 {
				acked[line] = true
				n++
			}
			if n == target && !killed {
				time.Sleep(delay) // land inside the next transaction
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				killed = true
			}
		}
		_ = cmd.Wait()
		require.True(t, killed, "point %d: child ended before the kill (%d acks)", point, n)

		db, err := openCrashDB(path)
		require.NoError(t, err)
		var ic string
		require.NoError(t, db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ic))
		require.Equal(t, "ok", ic)
		rows, err := db.QueryContext(ctx, `SELECT id FROM audit_events`)
		require.NoError(t, err)
		have := map[string]bool{}
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			have[id] = true
		}
		require.NoError(t, rows.Err())
		for id := range acked {
			require.True(t, have[id], "point %d: acknowledged event missing", point)
		}
		var orphans int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT
 (SELECT COUNT(*) FROM crash_business b WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.id = b.event_id)) +
 (SELECT COUNT(*) FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM crash_business b WHERE b.event_id = e.id))`).Scan(&orphans))
		require.Zero(t, orphans, "point %d: half-written transaction", point)
		st, err := sqlstore.New(db, sqlstore.SQLite)
		require.NoError(t, err)
		rep, err := audit.Verify(ctx, st, audit.VerifyOptions{Verifiers: audittest.Verifiers()})
		require.NoError(t, err)
		require.True(t, rep.OK, "point %d: %+v", point, rep)
		require.NoError(t, db.Close())
	}
	t.Logf("T10: %d kill points, %d acknowledged events, all present", points, len(acked))
}
