package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
)

// Migrate creates the tables of role ("main" or "billing") in db if they
// do not exist. The refserver uses its goose migrations instead; Migrate
// is for library users and tests.
func Migrate(ctx context.Context, db *sql.DB, dialect, role string) error {
	var st []string
	switch role {
	case "main":
		st = MainSchema(dialect)
	case "billing":
		st = BillingSchema(dialect)
	default:
		return fmt.Errorf("sqlstore: unknown role %q", role)
	}
	for _, s := range st {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", role, err)
		}
	}
	return nil
}

type base struct {
	db        *sql.DB
	dialect   string
	forUpdate string
}

func newBase(db *sql.DB, dialect string) (base, error) {
	switch dialect {
	case SQLite:
		return base{db: db, dialect: dialect}, nil
	case Postgres:
		return base{db: db, dialect: dialect, forUpdate: " FOR UPDATE"}, nil
	}
	return base{}, fmt.Errorf("sqlstore: unknown dialect %q", dialect)
}

// tx runs f in one transaction. On SQLite the handle must open write
// transactions with BEGIN IMMEDIATE (_txlock=immediate), as the digakit
// stores do, so that the read-then-write steps are serialised.
func (b base) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

func unavailable(err error) error {
	if err == nil || errors.Is(err, billing.ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", billing.ErrStoreUnavailable, err)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dateStr(d kassenapi.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func parseDate(s string) kassenapi.Date {
	d, _ := kassenapi.ParseDate(s)
	return d
}

// in returns "($n,…)" placeholders starting at first and the args.
func in(first int, ds []billing.Digest) (string, []any) {
	ph := make([]string, len(ds))
	args := make([]any, len(ds))
	for i, d := range ds {
		ph[i] = fmt.Sprintf("$%d", first+i)
		args[i] = d.Sum[:]
	}
	return "(" + strings.Join(ph, ",") + ")", args
}

func toDigest(keyID string, sum []byte) billing.Digest {
	d := billing.Digest{KeyID: keyID}
	copy(d.Sum[:], sum)
	return d
}

// Bindings is the account-database store (billing.BindingStore).
type Bindings struct{ base }

// NewBindings returns the binding store on db (dialect "sqlite" or
// "postgres").
func NewBindings(db *sql.DB, dialect string) (*Bindings, error) {
	b, err := newBase(db, dialect)
	if err != nil {
		return nil, err
	}
	return &Bindings{b}, nil
}

var _ billing.BindingStore = (*Bindings)(nil)

const bindingCols = `digest, key_id, account_id, state, attempt_id, lease_until, activations, first_at, last_at, access_until`

func scanBinding(sc interface{ Scan(...any) error }) (billing.Binding, error) {
	var b billing.Binding
	var sum []byte
	var key, state, access string
	var lease, first, last int64
	if err := sc.Scan(&sum, &key, &b.AccountID, &state, &b.AttemptID, &lease, &b.Activations, &first, &last, &access); err != nil {
		return b, err
	}
	b.Digest = toDigest(key, sum)
	b.State = billing.BindingState(state)
	b.LeaseUntil, b.FirstAt, b.LastAt = fromMS(lease), fromMS(first), fromMS(last)
	b.AccessUntil = parseDate(access)
	return b, nil
}

func (s *Bindings) find(ctx context.Context, tx *sql.Tx, ds []billing.Digest) (*billing.Binding, error) {
	ph, args := in(1, ds)
	row := tx.QueryRowContext(ctx, `SELECT `+bindingCols+` FROM redemption_bindings WHERE digest IN `+ph+s.forUpdate, args...)
	b, err := scanBinding(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &b, nil
}

// Claim implements billing.BindingStore.
//
// REQ: kassenapi-spec:B3.4
func (s *Bindings) Claim(ctx context.Context, r billing.ClaimRequest) (billing.ClaimResult, error) {
	if len(r.Digests) == 0 {
		return billing.ClaimResult{}, errors.New("sqlstore: no digests")
	}
	var res billing.ClaimResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res = billing.ClaimResult{}
		b, err := s.find(ctx, tx, r.Digests)
		if err != nil {
			return err
		}
		if b == nil {
			d := r.Digests[0]
			x, err := tx.ExecContext(ctx, `INSERT INTO redemption_bindings (`+bindingCols+`)
				VALUES ($1, $2, $3, 'pending', $4, $5, 0, 0, 0, '') ON CONFLICT (digest) DO NOTHING`,
				d.Sum[:], d.KeyID, r.AccountID, r.AttemptID, ms(r.LeaseUntil))
			if err != nil {
				return unavailable(err)
			}
			if n, _ := x.RowsAffected(); n == 1 {
				res.Won = true
				res.Binding = billing.Binding{Digest: d, AccountID: r.AccountID, State: billing.BindingPending, AttemptID: r.AttemptID, LeaseUntil: r.LeaseUntil}
				return nil
			}
			if b, err = s.find(ctx, tx, r.Digests); err != nil {
				return err
			}
			if b == nil {
				return unavailable(errors.New("binding vanished"))
			}
		}
		res.Binding = *b
		if b.State == billing.BindingActive && r.Decide != nil {
			d := r.Decide(*b)
			res.Decision = &d
			if d.Err == nil && d.Count {
				if _, err := tx.ExecContext(ctx, `UPDATE redemption_bindings SET activations = activations + 1, last_at = $1 WHERE digest = $2`,
					ms(r.Now), b.Digest.Sum[:]); err != nil {
					return unavailable(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO redemption_activations (account_id, digest, key_id, at, access_until) VALUES ($1, $2, $3, $4, $5)`,
					r.AccountID, b.Digest.Sum[:], b.Digest.KeyID, ms(r.Now), dateStr(b.AccessUntil)); err != nil {
					return unavailable(err)
				}
				res.Binding.Activations++
			}
		}
		return nil
	})
	return res, err
}

func (s *Bindings) cas(ctx context.Context, q string, args ...any) error {
	x, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return unavailable(err)
	}
	if n, _ := x.RowsAffected(); n != 1 {
		return billing.ErrConflict
	}
	return nil
}

// TakeOver implements billing.BindingStore.
func (s *Bindings) TakeOver(ctx context.Context, d billing.Digest, oldAttempt, newAttempt string, leaseUntil time.Time) error {
	return s.cas(ctx, `UPDATE redemption_bindings SET attempt_id = $1, lease_until = $2 WHERE digest = $3 AND state = 'pending' AND attempt_id = $4`,
		newAttempt, ms(leaseUntil), d.Sum[:], oldAttempt)
}

// Extend implements billing.BindingStore.
func (s *Bindings) Extend(ctx context.Context, d billing.Digest, attemptID string, leaseUntil time.Time) error {
	return s.cas(ctx, `UPDATE redemption_bindings SET lease_until = $1 WHERE digest = $2 AND state = 'pending' AND attempt_id = $3`,
		ms(leaseUntil), d.Sum[:], attemptID)
}

// Activate implements billing.BindingStore.
func (s *Bindings) Activate(ctx context.Context, d billing.Digest, attemptID string, accessUntil kassenapi.Date, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var account string
		err := tx.QueryRowContext(ctx, `UPDATE redemption_bindings SET state = 'active', activations = 1, first_at = $1, last_at = $1, access_until = $2, lease_until = 0
			WHERE digest = $3 AND state = 'pending' AND attempt_id = $4 RETURNING account_id`,
			ms(at), dateStr(accessUntil), d.Sum[:], attemptID).Scan(&account)
		if errors.Is(err, sql.ErrNoRows) {
			return billing.ErrConflict
		}
		if err != nil {
			return unavailable(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO redemption_activations (account_id, digest, key_id, at, access_until) VALUES ($1, $2, $3, $4, $5)`,
			account, d.Sum[:], d.KeyID, ms(at), dateStr(accessUntil))
		return unavailable(err)
	})
}

// Release implements billing.BindingStore.
func (s *Bindings) Release(ctx context.Context, d billing.Digest, attemptID string) error {
	return s.cas(ctx, `DELETE FROM redemption_bindings WHERE digest = $1 AND state = 'pending' AND attempt_id = $2`, d.Sum[:], attemptID)
}

// Expired implements billing.BindingStore.
func (s *Bindings) Expired(ctx context.Context, before time.Time, limit int) ([]billing.Binding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+bindingCols+` FROM redemption_bindings WHERE state = 'pending' AND lease_until < $1 ORDER BY lease_until LIMIT $2`, ms(before), limit)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []billing.Binding
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, b)
	}
	return out, unavailable(rows.Err())
}

// Activations implements billing.BindingStore.
func (s *Bindings) Activations(ctx context.Context, accountID string) ([]billing.Activation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT digest, key_id, at, access_until FROM redemption_activations WHERE account_id = $1 ORDER BY at DESC, id DESC`, accountID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []billing.Activation
	for rows.Next() {
		var sum []byte
		var key, access string
		var at int64
		if err := rows.Scan(&sum, &key, &at, &access); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, billing.Activation{AccountID: accountID, Digest: toDigest(key, sum), At: fromMS(at), AccessUntil: parseDate(access)})
	}
	return out, unavailable(rows.Err())
}

// ForgetAccount implements billing.BindingStore.
func (s *Bindings) ForgetAccount(ctx context.Context, accountID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM redemption_activations WHERE account_id = $1`, accountID); err != nil {
			return unavailable(err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM redemption_bindings WHERE account_id = $1`, accountID)
		return unavailable(err)
	})
}
