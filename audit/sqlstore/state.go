package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The methods below persist the detection engine's cursor and alert
// de-duplication (tables audit_cursors and audit_alerts); Store satisfies
// detect.State.

// Cursor returns the next position of consumer in log.
func (s *Store) Cursor(ctx context.Context, consumer, log string) (string, uint64, bool, error) {
	var seg string
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seg, seq FROM audit_cursors WHERE consumer = $1 AND log = $2`, consumer, log).Scan(&seg, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("sqlstore: cursor: %w", err)
	}
	return seg, uint64(seq), true, nil
}

// SetCursor stores the next position of consumer in log.
func (s *Store) SetCursor(ctx context.Context, consumer, log, seg string, next uint64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_cursors (consumer, log, seg, seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, log) DO UPDATE SET seg = excluded.seg, seq = excluded.seq`, consumer, log, seg, int64(next))
	if err != nil {
		return fmt.Errorf("sqlstore: set cursor: %w", err)
	}
	return nil
}

// ClaimAlert records an alert key and reports whether it was new.
func (s *Store) ClaimAlert(ctx context.Context, rule, key, windowStart string, raisedAt time.Time, payload []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO audit_alerts (rule, key, window_start, raised_at, payload) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (rule, key, window_start) DO NOTHING`, rule, key, windowStart, fmtTime(raisedAt), string(payload))
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim alert: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim alert: %w", err)
	}
	return n == 1, nil
}

// UnsentAlerts returns the payloads of claimed alerts not yet delivered.
func (s *Store) UnsentAlerts(ctx context.Context) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT payload FROM audit_alerts WHERE sent_at IS NULL ORDER BY raised_at, rule, key LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: unsent alerts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("sqlstore: unsent alerts: %w", err)
		}
		out = append(out, []byte(p))
	}
	return out, rows.Err()
}

// MarkAlertSent records the delivery of an alert.
func (s *Store) MarkAlertSent(ctx context.Context, rule, key, windowStart string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE audit_alerts SET sent_at = $4 WHERE rule = $1 AND key = $2 AND window_start = $3`,
		rule, key, windowStart, fmtTime(at))
	if err != nil {
		return fmt.Errorf("sqlstore: mark alert sent: %w", err)
	}
	return nil
}
