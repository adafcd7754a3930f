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

// Billing is the billing-database store (billing.BillingStore).
type Billing struct{ base }

// NewBilling returns the billing store on db (dialect "sqlite" or
// "postgres"). db must be the billing database, never the account one.
func NewBilling(db *sql.DB, dialect string) (*Billing, error) {
	b, err := newBase(db, dialect)
	if err != nil {
		return nil, err
	}
	return &Billing{b}, nil
}

var _ billing.BillingStore = (*Billing)(nil)

const redCols = `r.id, r.code_digest, r.key_id, r.code_ct, r.state, r.attempt_id, r.lease_until, r.prefix, r.insurer_ik, r.veid, r.service_day, r.checks, r.needs_review, r.next_check_at, r.claimable, r.created_at, r.updated_at`

type scanner interface{ Scan(...any) error }

func redDest(r *billing.Redemption, tmp *redTmp) []any {
	return []any{&r.ID, &tmp.sum, &tmp.key, &r.CodeCT, &tmp.state, &r.AttemptID, &tmp.lease, &r.Prefix, &r.InsurerIK, &r.VEID, &tmp.day, &r.Checks, &tmp.review, &tmp.next, &tmp.claimable, &tmp.created, &tmp.updated}
}

type redTmp struct {
	sum                           []byte
	key, state, day               string
	lease, next, created, updated int64
	review, claimable             int
}

func (t *redTmp) fill(r *billing.Redemption) {
	r.Digest = toDigest(t.key, t.sum)
	r.State = billing.RedemptionState(t.state)
	r.LeaseUntil, r.NextCheckAt, r.CreatedAt, r.UpdatedAt = fromMS(t.lease), fromMS(t.next), fromMS(t.created), fromMS(t.updated)
	r.ServiceDay = parseDate(t.day)
	r.NeedsReview = t.review != 0
	r.Claimable = t.claimable != 0
}

func scanRed(sc scanner) (*billing.Redemption, error) {
	var r billing.Redemption
	var t redTmp
	if err := sc.Scan(redDest(&r, &t)...); err != nil {
		return nil, err
	}
	t.fill(&r)
	return &r, nil
}

func (s *Billing) findRed(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ds []billing.Digest, lock string) (*billing.Redemption, error) {
	ph, args := in(1, ds)
	r, err := scanRed(q.QueryRowContext(ctx, `SELECT `+redCols+` FROM billing_redemptions r WHERE r.code_digest IN `+ph+lock, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return r, nil
}

// Redemption implements billing.BillingStore.
func (s *Billing) Redemption(ctx context.Context, ds []billing.Digest) (*billing.Redemption, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	return s.findRed(ctx, s.db, ds, "")
}

// BeginCheck implements billing.BillingStore.
func (s *Billing) BeginCheck(ctx context.Context, c billing.CheckStart) (*billing.Redemption, error) {
	if len(c.Digests) == 0 {
		return nil, errors.New("sqlstore: no digests")
	}
	var out *billing.Redemption
	var conflict bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out, conflict = nil, false
		r, err := s.findRed(ctx, tx, c.Digests, s.forUpdate)
		if err != nil {
			return err
		}
		if r == nil {
			d := c.Digests[0]
			ct, err := c.CodeCT(d)
			if err != nil {
				return err
			}
			x, err := tx.ExecContext(ctx, `INSERT INTO billing_redemptions (code_digest, key_id, code_ct, state, attempt_id, lease_until, prefix, checks, created_at, updated_at)
				VALUES ($1, $2, $3, 'checking', $4, $5, $6, 1, $7, $7) ON CONFLICT (code_digest) DO NOTHING`,
				d.Sum[:], d.KeyID, ct, c.AttemptID, ms(c.LeaseUntil), c.Prefix, ms(c.Now))
			if err != nil {
				return unavailable(err)
			}
			if n, _ := x.RowsAffected(); n == 1 {
				out, err = s.findRed(ctx, tx, c.Digests, "")
				return err
			}
			if r, err = s.findRed(ctx, tx, c.Digests, s.forUpdate); err != nil || r == nil {
				return unavailable(errors.Join(err, errors.New("redemption vanished")))
			}
		}
		ok := r.State == billing.RedemptionRejected || r.State == billing.RedemptionFailed ||
			(c.Recheck && (r.State == billing.RedemptionUnknown || (r.State == billing.RedemptionChecking && !r.LeaseUntil.After(c.Now))))
		if !ok {
			out, conflict = r, true
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_redemptions SET state = 'checking', attempt_id = $1, lease_until = $2, checks = checks + 1, updated_at = $3 WHERE id = $4`,
			c.AttemptID, ms(c.LeaseUntil), ms(c.Now), r.ID); err != nil {
			return unavailable(err)
		}
		r.PrevState = r.State
		r.State, r.AttemptID, r.LeaseUntil = billing.RedemptionChecking, c.AttemptID, c.LeaseUntil
		r.Checks++
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if conflict {
		return out, billing.ErrConflict
	}
	return out, nil
}

func (s *Billing) insertProtocol(ctx context.Context, tx *sql.Tx, ps []billing.ProtocolEntry) error {
	for _, p := range ps {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO billing_protocol (ts_utc, ts_local, process, procedure, sender_ik, receiver_ik, insurer_ik, code_ct, code_digest, key_id, result, class, fehlernummern, http_status, sent, duration_ms, invoice_number, attempt_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
			ms(p.TS), p.TSLocal, p.Process, p.Procedure, p.SenderIK, p.ReceiverIK, p.InsurerIK, p.CodeCT, p.Digest.Sum[:], p.Digest.KeyID,
			p.Result, p.Class, p.FehlerNummern, p.HTTPStatus, b2i(p.Sent), p.DurationMS, p.InvoiceNumber, p.AttemptID).Scan(&id)
		if err != nil {
			return unavailable(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_protocol_audit_pending (protocol_id) VALUES ($1)`, id); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// allocate hands out the next number of a series in tx (spec B3.5).
//
// REQ: kassenapi-spec:B3.5
func allocate(ctx context.Context, tx *sql.Tx, n billing.NewInvoice) (string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_series (series, next) VALUES ($1, 1) ON CONFLICT (series) DO NOTHING`, n.Series); err != nil {
		return "", unavailable(err)
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `UPDATE billing_series SET next = next + 1 WHERE series = $1 RETURNING next`, n.Series).Scan(&next); err != nil {
		return "", unavailable(err)
	}
	num := fmt.Sprintf("%s%0*d", n.Prefix, n.Width, next-1)
	if len(num) > 20 {
		return "", errors.New("sqlstore: invoice number series exhausted")
	}
	return num, nil
}

func insertInvoice(ctx context.Context, tx *sql.Tx, redemptionID int64, n billing.NewInvoice) (string, error) {
	num, err := allocate(ctx, tx, n)
	if err != nil {
		return "", err
	}
	var corrects any
	if n.Corrects != "" {
		corrects = n.Corrects
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_invoices (redemption_id, number, type_code, test, state, net_cents, corrects, reason, next_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $8, $8)`,
		redemptionID, num, n.Type, b2i(n.Test), n.NetCents, corrects, n.Reason, ms(n.Now))
	if err != nil {
		return "", unavailable(err)
	}
	return num, nil
}

// FinishCheck implements billing.BillingStore.
//
// REQ: kassenapi-spec:B3.3, kassenapi-spec:B3.8
func (s *Billing) FinishCheck(ctx context.Context, o billing.CheckOutcome) (string, error) {
	var num string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		num = ""
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE billing_redemptions SET state = $1, insurer_ik = $2, veid = $3, service_day = $4,
			needs_review = $5, next_check_at = $6, lease_until = 0, updated_at = $7
			WHERE code_digest = $8 AND state = 'checking' AND attempt_id = $9 RETURNING id`,
			string(o.State), o.InsurerIK, o.VEID, dateStr(o.ServiceDay), b2i(o.NeedsReview), ms(o.NextCheckAt), ms(o.Now),
			o.Digest.Sum[:], o.AttemptID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return billing.ErrConflict
		}
		if err != nil {
			return unavailable(err)
		}
		if err := s.insertProtocol(ctx, tx, o.Protocol); err != nil {
			return err
		}
		if o.State == billing.RedemptionValidated && o.Invoice != nil {
			num, err = insertInvoice(ctx, tx, id, *o.Invoice)
			return err
		}
		return nil
	})
	return num, err
}

func (s *Billing) listRed(ctx context.Context, q string, args ...any) ([]billing.Redemption, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []billing.Redemption
	for rows.Next() {
		r, err := scanRed(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, *r)
	}
	return out, unavailable(rows.Err())
}

// DueRechecks implements billing.BillingStore.
func (s *Billing) DueRechecks(ctx context.Context, now time.Time, limit int) ([]billing.Redemption, error) {
	return s.listRed(ctx, `SELECT `+redCols+` FROM billing_redemptions r
		WHERE (r.state = 'unknown' OR (r.state = 'checking' AND r.lease_until < $1)) AND r.next_check_at <= $1 ORDER BY r.id LIMIT $2`, ms(now), limit)
}

// ValidatedWithoutInvoice implements billing.BillingStore.
func (s *Billing) ValidatedWithoutInvoice(ctx context.Context, limit int) ([]billing.Redemption, error) {
	return s.listRed(ctx, `SELECT `+redCols+` FROM billing_redemptions r WHERE r.state = 'validated'
		AND NOT EXISTS (SELECT 1 FROM billing_invoices i WHERE i.redemption_id = r.id AND i.type_code = '380') ORDER BY r.id LIMIT $1`, limit)
}

// CreateInvoice implements billing.BillingStore.
func (s *Billing) CreateInvoice(ctx context.Context, redemptionID int64, n billing.NewInvoice) (string, error) {
	var num string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		num, err = insertInvoice(ctx, tx, redemptionID, n)
		return err
	})
	return num, err
}

const invCols = `i.id, i.number, i.type_code, i.state, i.test, i.net_cents, COALESCE(i.corrects, ''), COALESCE(i.corrected_by, ''), i.reason, i.xml_ct,
	i.maybe_sent, i.attempts, i.needs_review, i.verdict, i.messages, i.dispatch, i.target, i.dispatched_by, i.dispatch_ref, i.dispatched_at, i.created_at, i.updated_at, ` + redCols

func scanInv(sc scanner) (*billing.InvoiceRow, error) {
	var r billing.InvoiceRow
	var t redTmp
	var state string
	var test, sent, review int
	var dat, cat, uat int64
	dest := []any{&r.ID, &r.Number, &r.Type, &state, &test, &r.NetCents, &r.Corrects, &r.CorrectedBy, &r.Reason, &r.XMLCT,
		&sent, &r.Attempts, &review, &r.Verdict, &r.Messages, &r.Dispatch, &r.Target, &r.DispatchedBy, &r.DispatchRef, &dat, &cat, &uat}
	if err := sc.Scan(append(dest, redDest(&r.Redemption, &t)...)...); err != nil {
		return nil, err
	}
	t.fill(&r.Redemption)
	r.State = billing.InvoiceState(state)
	r.Test, r.MaybeSent, r.NeedsReview = test != 0, sent != 0, review != 0
	r.DispatchedAt, r.CreatedAt, r.UpdatedAt = fromMS(dat), fromMS(cat), fromMS(uat)
	return &r, nil
}

func (s *Billing) listInv(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]billing.InvoiceRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+invCols+` FROM billing_invoices i JOIN billing_redemptions r ON r.id = i.redemption_id `+where, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []billing.InvoiceRow
	for rows.Next() {
		r, err := scanInv(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, *r)
	}
	return out, unavailable(rows.Err())
}

// ClaimInvoices implements billing.BillingStore.
func (s *Billing) ClaimInvoices(ctx context.Context, owner string, now, until time.Time, n int) ([]billing.InvoiceRow, error) {
	var out []billing.InvoiceRow
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	const due = `(state IN ('queued', 'submit_unknown') OR (state = 'submitting' AND lease_until < $1)) AND next_at <= $1`
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id FROM billing_invoices WHERE `+due+` ORDER BY next_at, id LIMIT $2`+lock, ms(now), n)
		if err != nil {
			return unavailable(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return unavailable(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable(err)
		}
		for _, id := range ids {
			x, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET maybe_sent = CASE WHEN state = 'submit_unknown' THEN 1 ELSE maybe_sent END,
				state = 'submitting', lease_owner = $2, lease_until = $3, attempts = attempts + 1, updated_at = $1
				WHERE id = $4 AND `+due, ms(now), owner, ms(until), id)
			if err != nil {
				return unavailable(err)
			}
			if k, _ := x.RowsAffected(); k != 1 {
				continue
			}
			rs, err := s.listInv(ctx, tx, `WHERE i.id = $1`, id)
			if err != nil {
				return err
			}
			out = append(out, rs...)
		}
		return nil
	})
	return out, err
}

func (s *Billing) casInv(ctx context.Context, q string, args ...any) error {
	x, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return unavailable(err)
	}
	if n, _ := x.RowsAffected(); n != 1 {
		return billing.ErrConflict
	}
	return nil
}

// SaveXML implements billing.BillingStore.
func (s *Billing) SaveXML(ctx context.Context, id int64, owner string, xmlCT []byte) error {
	return s.casInv(ctx, `UPDATE billing_invoices SET xml_ct = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'submitting' AND xml_ct IS NULL`, xmlCT, id, owner)
}

// MarkSending implements billing.BillingStore.
func (s *Billing) MarkSending(ctx context.Context, id int64, owner string) error {
	return s.casInv(ctx, `UPDATE billing_invoices SET maybe_sent = 1 WHERE id = $1 AND lease_owner = $2 AND state = 'submitting'`, id, owner)
}

// FinishInvoice implements billing.BillingStore.
func (s *Billing) FinishInvoice(ctx context.Context, o billing.InvoiceOutcome) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		x, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET state = $1, verdict = $2, messages = $3, report_ct = COALESCE($4, report_ct),
			needs_review = CASE WHEN $5 = 1 THEN 1 ELSE needs_review END, dispatch = CASE WHEN $6 > 0 THEN $6 ELSE dispatch END,
			target = CASE WHEN $7 <> '' THEN $7 ELSE target END, next_at = $8, lease_owner = '', lease_until = 0, updated_at = $9,
			maybe_sent = CASE WHEN $12 = 1 THEN 0 ELSE maybe_sent END
			WHERE id = $10 AND lease_owner = $11 AND state = 'submitting'`,
			string(o.State), o.Verdict, o.Messages, o.ReportCT, b2i(o.NeedsReview), o.Dispatch, o.Target, ms(o.NextAt), ms(o.Now), o.ID, o.Owner, b2i(o.NotSent))
		if err != nil {
			return unavailable(err)
		}
		if n, _ := x.RowsAffected(); n != 1 {
			return billing.ErrConflict
		}
		return s.insertProtocol(ctx, tx, o.Protocol)
	})
}

// Invoice implements billing.BillingStore.
func (s *Billing) Invoice(ctx context.Context, number string) (*billing.InvoiceRow, error) {
	rs, err := s.listInv(ctx, s.db, `WHERE i.number = $1`, number)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, billing.ErrNotFound
	}
	return &rs[0], nil
}

// Invoices implements billing.BillingStore.
func (s *Billing) Invoices(ctx context.Context, redemptionID int64) ([]billing.InvoiceRow, error) {
	return s.listInv(ctx, s.db, `WHERE i.redemption_id = $1 ORDER BY i.id`, redemptionID)
}

// Requeue implements billing.BillingStore.
func (s *Billing) Requeue(ctx context.Context, now time.Time) (int, error) {
	x, err := s.db.ExecContext(ctx, `UPDATE billing_invoices SET state = 'queued', updated_at = $1 WHERE state IN ('needs_address', 'needs_data') AND next_at <= $1`, ms(now))
	if err != nil {
		return 0, unavailable(err)
	}
	n, _ := x.RowsAffected()
	return int(n), nil
}

// ManualQueue implements billing.BillingStore.
func (s *Billing) ManualQueue(ctx context.Context, f billing.ManualFilter) ([]billing.InvoiceRow, error) {
	states := f.States
	if len(states) == 0 {
		states = []billing.InvoiceState{billing.InvoiceManualPending, billing.InvoiceNeedsAddress}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	ph := make([]string, len(states))
	args := []any{f.Limit}
	for i, st := range states {
		ph[i] = fmt.Sprintf("$%d", i+2)
		args = append(args, string(st))
	}
	return s.listInv(ctx, s.db, `WHERE i.state IN (`+strings.Join(ph, ",")+`) ORDER BY i.id LIMIT $1`, args...)
}

// MarkDispatched implements billing.BillingStore.
func (s *Billing) MarkDispatched(ctx context.Context, number, by, reference string, at time.Time, p billing.ProtocolEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		x, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET state = 'manual_sent', dispatched_by = $1, dispatch_ref = $2, dispatched_at = $3, updated_at = $3
			WHERE number = $4 AND state = 'manual_pending'`, by, reference, ms(at), number)
		if err != nil {
			return unavailable(err)
		}
		if n, _ := x.RowsAffected(); n != 1 {
			return billing.ErrConflict
		}
		return s.insertProtocol(ctx, tx, []billing.ProtocolEntry{p})
	})
}

// Correct implements billing.BillingStore.
func (s *Billing) Correct(ctx context.Context, number string, n billing.NewInvoice) (string, error) {
	var num string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id, red int64
		var state string
		var by sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, redemption_id, state, corrected_by FROM billing_invoices WHERE number = $1`+s.forUpdate, number).Scan(&id, &red, &state, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %w", billing.ErrInvalidCorrection, billing.ErrNotFound)
		}
		if err != nil {
			return unavailable(err)
		}
		switch billing.InvoiceState(state) {
		case billing.InvoiceAccepted, billing.InvoiceAcceptedPresumed, billing.InvoiceManualSent:
		default:
			return fmt.Errorf("%w: invoice is %s", billing.ErrInvalidCorrection, state)
		}
		if by.Valid {
			return fmt.Errorf("%w: invoice already corrected", billing.ErrInvalidCorrection)
		}
		n.Corrects = number
		if num, err = insertInvoice(ctx, tx, red, n); err != nil {
			return err
		}
		if num == number {
			return billing.ErrInvalidCorrection
		}
		_, err = tx.ExecContext(ctx, `UPDATE billing_invoices SET corrected_by = $1 WHERE id = $2`, num, id)
		return unavailable(err)
	})
	return num, err
}

const protoCols = `id, ts_utc, ts_local, process, procedure, sender_ik, receiver_ik, insurer_ik, code_ct, code_digest, key_id, result, class, fehlernummern, http_status, sent, duration_ms, invoice_number, attempt_id`

func (s *Billing) listProto(ctx context.Context, q string, args ...any) ([]billing.ProtocolEntry, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []billing.ProtocolEntry
	for rows.Next() {
		var p billing.ProtocolEntry
		var ts int64
		var sum []byte
		var key string
		var sent int
		if err := rows.Scan(&p.ID, &ts, &p.TSLocal, &p.Process, &p.Procedure, &p.SenderIK, &p.ReceiverIK, &p.InsurerIK, &p.CodeCT, &sum, &key,
			&p.Result, &p.Class, &p.FehlerNummern, &p.HTTPStatus, &sent, &p.DurationMS, &p.InvoiceNumber, &p.AttemptID); err != nil {
			return nil, unavailable(err)
		}
		p.TS, p.Digest, p.Sent = fromMS(ts), toDigest(key, sum), sent != 0
		out = append(out, p)
	}
	return out, unavailable(rows.Err())
}

// Protocol implements billing.BillingStore.
func (s *Billing) Protocol(ctx context.Context, fromLocal, toLocal string) ([]billing.ProtocolEntry, error) {
	return s.listProto(ctx, `SELECT `+protoCols+` FROM billing_protocol WHERE ts_local >= $1 AND ts_local <= $2 ORDER BY id`, fromLocal, toLocal)
}

// AuditPending implements billing.BillingStore.
func (s *Billing) AuditPending(ctx context.Context, limit int) ([]billing.ProtocolEntry, error) {
	return s.listProto(ctx, `SELECT `+protoCols+` FROM billing_protocol WHERE id IN (SELECT protocol_id FROM billing_protocol_audit_pending) ORDER BY id LIMIT $1`, limit)
}

// AuditDone implements billing.BillingStore.
func (s *Billing) AuditDone(ctx context.Context, ids []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM billing_protocol_audit_pending WHERE protocol_id = $1`, id); err != nil {
				return unavailable(err)
			}
		}
		return nil
	})
}

// Transition implements billing.BillingStore.
func (s *Billing) Transition(ctx context.Context, number string, from []billing.InvoiceState, to billing.InvoiceState, clearXML bool, now time.Time) error {
	ph := make([]string, len(from))
	args := []any{string(to), b2i(clearXML), ms(now), number}
	for i, st := range from {
		ph[i] = fmt.Sprintf("$%d", i+5)
		args = append(args, string(st))
	}
	x, err := s.db.ExecContext(ctx, `UPDATE billing_invoices SET state = $1, xml_ct = CASE WHEN $2 = 1 THEN NULL ELSE xml_ct END,
		maybe_sent = 0, next_at = $3, updated_at = $3 WHERE number = $4 AND state IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return unavailable(err)
	}
	if n, _ := x.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Invoice(ctx, number); err != nil {
		return err
	}
	return billing.ErrConflict
}

// Resolve implements billing.BillingStore.
func (s *Billing) Resolve(ctx context.Context, ds []billing.Digest, veid string, day kassenapi.Date, n billing.NewInvoice) (string, error) {
	var num string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.findRed(ctx, tx, ds, s.forUpdate)
		if err != nil {
			return err
		}
		if r == nil || r.State != billing.RedemptionRejected || !r.NeedsReview {
			return billing.ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_redemptions SET state = 'validated', veid = $1, service_day = $2, needs_review = 0,
			claimable = 1, updated_at = $3 WHERE id = $4`, veid, dateStr(day), ms(n.Now), r.ID); err != nil {
			return unavailable(err)
		}
		num, err = insertInvoice(ctx, tx, r.ID, n)
		return err
	})
	return num, err
}

// TakeClaim implements billing.BillingStore.
func (s *Billing) TakeClaim(ctx context.Context, ds []billing.Digest) error {
	ph, args := in(1, ds)
	return s.casInv(ctx, `UPDATE billing_redemptions SET claimable = 0 WHERE claimable = 1 AND state = 'validated' AND code_digest IN `+ph, args...)
}

// Stats implements billing.BillingStore.
func (s *Billing) Stats(ctx context.Context, now time.Time, ages billing.StatAges) (billing.Stats, error) {
	st := billing.Stats{ByState: map[billing.InvoiceState]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM billing_invoices GROUP BY state`)
	if err != nil {
		return st, unavailable(err)
	}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			rows.Close()
			return st, unavailable(err)
		}
		st.ByState[billing.InvoiceState(state)] = n
	}
	rows.Close()
	for _, q := range []struct {
		dst  *int
		sql  string
		args []any
	}{
		{&st.QueuedOverdue, `SELECT COUNT(*) FROM billing_invoices WHERE state = 'queued' AND created_at < $1`, []any{ms(now.Add(-ages.Queued))}},
		{&st.SubmitUnknownOld, `SELECT COUNT(*) FROM billing_invoices WHERE state = 'submit_unknown' AND updated_at < $1`, []any{ms(now.Add(-ages.SubmitUnknown))}},
		{&st.ManualPendingOld, `SELECT COUNT(*) FROM billing_invoices WHERE state = 'manual_pending' AND updated_at < $1`, []any{ms(now.Add(-ages.ManualPending))}},
		{&st.InvoicesNeedReview, `SELECT COUNT(*) FROM billing_invoices WHERE needs_review = 1`, nil},
		{&st.RedemptionsReview, `SELECT COUNT(*) FROM billing_redemptions WHERE needs_review = 1`, nil},
		{&st.RedemptionsUnknown, `SELECT COUNT(*) FROM billing_redemptions WHERE state = 'unknown'`, nil},
		{&st.ProtocolAuditBacklog, `SELECT COUNT(*) FROM billing_protocol_audit_pending`, nil},
	} {
		if err := s.db.QueryRowContext(ctx, q.sql, q.args...).Scan(q.dst); err != nil {
			return st, unavailable(err)
		}
	}
	return st, nil
}
