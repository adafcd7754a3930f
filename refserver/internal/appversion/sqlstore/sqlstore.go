package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion"
)

// ErrConcurrentChange is returned by [Store.Set] when another change
// of the same platform's policy committed first; retry with fresh data.
var ErrConcurrentChange = errors.New("sqlstore: concurrent policy change")

// ErrCorruptPolicy is returned when a stored policy does not decode or
// validate; the gate keeps the policies it had.
var ErrCorruptPolicy = errors.New("sqlstore: stored policy is invalid")

var reActor = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// Store keeps the policies in the main database (tables app_policy
// and app_policy_history, migration 00400 of the store package). It works
// on SQLite and PostgreSQL alike.
type Store struct {
	db    *sql.DB
	now   func() time.Time
	audit func(ctx context.Context, e appversion.AuditEvent)
}

// Config holds the optional settings of [New].
type Config struct {
	// Now is the clock for change times. Nil means time.Now.
	Now func() time.Time
	// Audit receives app_policy_changed after each committed change. Nil
	// audits nothing.
	Audit func(ctx context.Context, e appversion.AuditEvent)
}

// New returns a store on db, which must be the migrated main
// database.
func New(db *sql.DB, cfg Config) *Store {
	s := &Store{db: db, now: cfg.Now, audit: cfg.Audit}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// LoadPolicies returns the stored policies in the order of [appversion.Platforms].
// A row that does not decode or validate yields ErrCorruptPolicy.
func (s *Store) LoadPolicies(ctx context.Context) ([]appversion.Policy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT platform, revision, policy FROM app_policy`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load policies: %w", err)
	}
	defer rows.Close()
	byPlatform := map[appversion.Platform]appversion.Policy{}
	for rows.Next() {
		var plat, doc string
		var rev int64
		if err := rows.Scan(&plat, &rev, &doc); err != nil {
			return nil, fmt.Errorf("sqlstore: load policies: %w", err)
		}
		p, err := decodePolicy([]byte(doc))
		if err != nil || string(p.Platform) != plat {
			return nil, fmt.Errorf("%w (platform %s)", ErrCorruptPolicy, safePlatform(plat))
		}
		p.Revision = rev
		byPlatform[p.Platform] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: load policies: %w", err)
	}
	var out []appversion.Policy
	for _, pl := range appversion.Platforms {
		if p, ok := byPlatform[pl]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func safePlatform(s string) string {
	if appversion.Platform(s).Valid() {
		return s
	}
	return "?"
}

// decodePolicy decodes a policy document strictly (unknown members
// rejected) and validates it.
func decodePolicy(b []byte) (appversion.Policy, error) {
	var p appversion.Policy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return appversion.Policy{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return appversion.Policy{}, errors.New("trailing data")
	}
	if err := p.Validate(); err != nil {
		return appversion.Policy{}, err
	}
	return p, nil
}

// Set validates p and stores it as the platform's new policy with the
// next revision, recording actor ("cli", an admin subject id; 1-64 of
// [A-Za-z0-9._:-]) in the history. It returns the stored policy with its
// revision. A concurrent change of the same platform yields
// ErrConcurrentChange and stores nothing.
//
// REQ: TR03161-3:O.Arch_12
func (s *Store) Set(ctx context.Context, p appversion.Policy, actor string) (appversion.Policy, error) {
	p.Revision = 0
	if err := p.Validate(); err != nil {
		return appversion.Policy{}, err
	}
	if !reActor.MatchString(actor) {
		return appversion.Policy{}, errors.New("sqlstore: actor must be 1-64 of [A-Za-z0-9._:-]")
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return appversion.Policy{}, fmt.Errorf("sqlstore: encode policy: %w", err)
	}
	now := s.now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return appversion.Policy{}, fmt.Errorf("sqlstore: set policy: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var rev int64
	err = tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(revision), 0) FROM app_policy_history WHERE platform = $1`, string(p.Platform)).Scan(&rev)
	if err != nil {
		return appversion.Policy{}, fmt.Errorf("sqlstore: set policy: %w", err)
	}
	rev++
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO app_policy_history (platform, revision, policy, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5)`,
		string(p.Platform), rev, string(doc), now, actor); err != nil {
		if isUniqueViolation(err) {
			return appversion.Policy{}, ErrConcurrentChange
		}
		return appversion.Policy{}, fmt.Errorf("sqlstore: set policy: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO app_policy (platform, revision, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (platform) DO UPDATE SET revision = excluded.revision, policy = excluded.policy,
		   updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		string(p.Platform), rev, string(doc), now, actor); err != nil {
		return appversion.Policy{}, fmt.Errorf("sqlstore: set policy: %w", err)
	}
	if err := tx.Commit(); err != nil {
		if isUniqueViolation(err) {
			return appversion.Policy{}, ErrConcurrentChange
		}
		return appversion.Policy{}, fmt.Errorf("sqlstore: set policy: %w", err)
	}
	p.Revision = rev
	if s.audit != nil {
		cp := p
		s.audit(ctx, appversion.AuditEvent{Type: "app_policy_changed", Platform: p.Platform, Policy: &cp, Actor: actor})
	}
	return p, nil
}

// isUniqueViolation recognises a primary-key clash on both drivers
// (SQLite "UNIQUE constraint failed", PostgreSQL SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "23505")
}

// Change is one entry of a platform's policy history.
type Change struct {
	Policy    appversion.Policy `json:"policy"`
	ChangedAt time.Time         `json:"changed_at"`
	ChangedBy string            `json:"changed_by"`
}

// History returns the changes of platform's policy, oldest first.
func (s *Store) History(ctx context.Context, platform appversion.Platform) ([]Change, error) {
	if !platform.Valid() {
		return nil, appversion.ErrUnknownPlatform
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT revision, policy, changed_at, changed_by FROM app_policy_history WHERE platform = $1 ORDER BY revision`,
		string(platform))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: history: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var rev, at int64
		var doc, by string
		if err := rows.Scan(&rev, &doc, &at, &by); err != nil {
			return nil, fmt.Errorf("sqlstore: history: %w", err)
		}
		p, err := decodePolicy([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%w (platform %s)", ErrCorruptPolicy, platform)
		}
		p.Revision = rev
		out = append(out, Change{Policy: p, ChangedAt: time.UnixMilli(at).UTC(), ChangedBy: by})
	}
	return out, rows.Err()
}
