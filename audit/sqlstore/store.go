package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digakit/digakit/audit"
	"golang.org/x/mod/sumdb/tlog"
)

// Store is an [audit.Store] on database/sql for SQLite (modernc.org/sqlite,
// driver "sqlite") and PostgreSQL (pgx stdlib, driver "pgx"). The caller
// opens the database (SQLite: WAL, synchronous(FULL), _txlock=immediate,
// one-connection write pool) and applies the schema (CreateSchema or the
// refserver's goose migration).
type Store struct {
	db      *sql.DB
	dialect string
	heads   sync.Map // logs whose head row is known to exist (committed)
}

var _ audit.Store = (*Store)(nil)

// New returns a store on db for dialect "sqlite" or "postgres".
func New(db *sql.DB, dialect string) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil db")
	}
	if err := checkDialect(dialect); err != nil {
		return nil, err
	}
	return &Store{db: db, dialect: dialect}, nil
}

// DB returns the underlying handle.
func (s *Store) DB() *sql.DB { return s.db }

// queryer is what *sql.DB and *sql.Tx share.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

const tsLayout = time.RFC3339Nano

func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(tsLayout)
}

func parseTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(tsLayout, s.String)
	return t
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Begin implements audit.Store.
func (s *Store) Begin(ctx context.Context) (audit.StoreTx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: begin: %w", err)
	}
	return &Tx{tx: tx, s: s}, nil
}

// Join wraps a transaction the caller already began on the same database,
// so that audit appends join it (for callers that manage their own
// *sql.Tx); the caller commits or rolls back tx itself through the
// returned StoreTx.
func (s *Store) Join(tx *sql.Tx) audit.StoreTx { return &Tx{tx: tx, s: s} }

// Logs implements audit.Store.
func (s *Store) Logs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT log FROM audit_segments ORDER BY log`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: logs: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("sqlstore: logs: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

const segCols = `log, seg, state, size, root, last_ts, opened_at, closed_at, dropped_at, final_checkpoint`

func scanSegments(rows *sql.Rows) ([]audit.Segment, error) {
	defer rows.Close()
	out := []audit.Segment{}
	for rows.Next() {
		var sg audit.Segment
		var size int64
		var opened string
		var closed, dropped, final sql.NullString
		if err := rows.Scan(&sg.Log, &sg.Seg, &sg.State, &size, &sg.Root, &sg.LastTS, &opened, &closed, &dropped, &final); err != nil {
			return nil, fmt.Errorf("sqlstore: segments: %w", err)
		}
		sg.Size = uint64(size)
		sg.OpenedAt = parseTime(sql.NullString{String: opened, Valid: true})
		sg.ClosedAt = parseTime(closed)
		sg.DroppedAt = parseTime(dropped)
		sg.FinalCheckpoint = final.String
		out = append(out, sg)
	}
	return out, rows.Err()
}

func segments(ctx context.Context, q queryer, log string) ([]audit.Segment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+segCols+` FROM audit_segments WHERE log = $1 ORDER BY seg`, log)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: segments: %w", err)
	}
	return scanSegments(rows)
}

// Segments implements audit.Store.
func (s *Store) Segments(ctx context.Context, log string) ([]audit.Segment, error) {
	return segments(ctx, s.db, log)
}

const recCols = `log, seg, seq, id, ts, type, actor, subject, leaf, leaf_hash, root`

func scanRecords(rows *sql.Rows, n int) ([]audit.Record, error) {
	defer rows.Close()
	out := make([]audit.Record, 0, n)
	for rows.Next() {
		var r audit.Record
		var seq int64
		var subj sql.NullString
		if err := rows.Scan(&r.Log, &r.Seg, &seq, &r.ID, &r.TS, &r.Type, &r.Actor, &subj, &r.Leaf, &r.LeafHash, &r.Root); err != nil {
			return nil, fmt.Errorf("sqlstore: records: %w", err)
		}
		r.Seq = uint64(seq)
		r.Subject = subj.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// Records implements audit.Store.
func (s *Store) Records(ctx context.Context, log, seg string, from uint64, limit int) ([]audit.Record, error) {
	if limit <= 0 {
		return []audit.Record{}, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+recCols+` FROM audit_events WHERE log = $1 AND seg = $2 AND seq >= $3 ORDER BY seq LIMIT $4`,
		log, seg, int64(from), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: records: %w", err)
	}
	return scanRecords(rows, min(limit, 1024))
}

// SubjectRecords implements audit.Store.
func (s *Store) SubjectRecords(ctx context.Context, subject string, limit int) ([]audit.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recCols+` FROM audit_events WHERE subject = $1 ORDER BY ts, log, seq LIMIT $2`, subject, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: subject records: %w", err)
	}
	return scanRecords(rows, 16)
}

func hashes(ctx context.Context, q queryer, log, seg string, idx []int64) ([]tlog.Hash, error) {
	if len(idx) == 0 {
		return []tlog.Hash{}, nil
	}
	var b strings.Builder
	args := make([]any, 0, len(idx)+2)
	args = append(args, log, seg)
	b.WriteString(`SELECT idx, hash FROM audit_hashes WHERE log = $1 AND seg = $2 AND idx IN (`)
	for i, x := range idx {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(i+3))
		args = append(args, x)
	}
	b.WriteByte(')')
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: hashes: %w", err)
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(idx))
	for rows.Next() {
		var i int64
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			return nil, fmt.Errorf("sqlstore: hashes: %w", err)
		}
		var x tlog.Hash
		copy(x[:], h)
		got[i] = x
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: hashes: %w", err)
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := got[x]
		if !ok {
			return nil, audit.ErrNotFound
		}
		out[i] = h
	}
	return out, nil
}

// Hashes implements audit.Store.
func (s *Store) Hashes(ctx context.Context, log, seg string, idx []int64) ([]tlog.Hash, error) {
	return hashes(ctx, s.db, log, seg, idx)
}

func checkpoints(ctx context.Context, q queryer, log, seg string) ([]audit.SignedCheckpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT size, root, note, signed_at, final FROM audit_checkpoints WHERE log = $1 AND seg = $2 ORDER BY size`, log, seg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: checkpoints: %w", err)
	}
	out := []audit.SignedCheckpoint{}
	for rows.Next() {
		c := audit.SignedCheckpoint{Log: log, Seg: seg}
		var size, final int64
		var root []byte
		var noteText, signed string
		if err := rows.Scan(&size, &root, &noteText, &signed, &final); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: checkpoints: %w", err)
		}
		c.Size = uint64(size)
		copy(c.Root[:], root)
		c.Note = []byte(noteText)
		c.SignedAt = parseTime(sql.NullString{String: signed, Valid: true})
		c.Final = final != 0
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: checkpoints: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	srows, err := q.QueryContext(ctx, `SELECT size, sink FROM audit_checkpoint_shipments WHERE log = $1 AND seg = $2 ORDER BY size, sink`, log, seg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: shipments: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var size int64
		var sink string
		if err := srows.Scan(&size, &sink); err != nil {
			return nil, fmt.Errorf("sqlstore: shipments: %w", err)
		}
		for i := range out {
			if out[i].Size == uint64(size) {
				out[i].ShippedTo = append(out[i].ShippedTo, sink)
			}
		}
	}
	return out, srows.Err()
}

// Checkpoints implements audit.Store.
func (s *Store) Checkpoints(ctx context.Context, log, seg string) ([]audit.SignedCheckpoint, error) {
	return checkpoints(ctx, s.db, log, seg)
}

// MarkShipped implements audit.Store.
func (s *Store) MarkShipped(ctx context.Context, log, seg string, size uint64, sink string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_checkpoint_shipments (log, seg, size, sink, shipped_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (log, seg, size, sink) DO NOTHING`, log, seg, int64(size), sink, fmtTime(at))
	if err != nil {
		return fmt.Errorf("sqlstore: mark shipped: %w", err)
	}
	return nil
}

func key(ctx context.Context, q queryer, kid string) (audit.WrappedKey, error) {
	k := audit.WrappedKey{KID: kid}
	var created string
	var destroyed sql.NullString
	err := q.QueryRowContext(ctx, `SELECT kind, wrapped, created_at, destroyed_at FROM audit_keys WHERE kid = $1`, kid).
		Scan(&k.Kind, &k.Wrapped, &created, &destroyed)
	if errors.Is(err, sql.ErrNoRows) {
		return k, audit.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("sqlstore: key: %w", err)
	}
	k.CreatedAt = parseTime(sql.NullString{String: created, Valid: true})
	k.DestroyedAt = parseTime(destroyed)
	if destroyed.Valid {
		k.Wrapped = nil
	}
	return k, nil
}

// Key implements audit.Store.
func (s *Store) Key(ctx context.Context, kid string) (audit.WrappedKey, error) {
	return key(ctx, s.db, kid)
}

// DestroyKey implements audit.Store. The wrapped bytes are first
// overwritten with zeros of the same length, then set to NULL.
func (s *Store) DestroyKey(ctx context.Context, kid string, at time.Time) error {
	k, err := key(ctx, s.db, kid)
	if err != nil {
		return err
	}
	if !k.DestroyedAt.IsZero() {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: destroy key: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `UPDATE audit_keys SET wrapped = $2 WHERE kid = $1`, kid, make([]byte, len(k.Wrapped))); err != nil {
		return fmt.Errorf("sqlstore: destroy key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_keys SET wrapped = NULL, destroyed_at = $2 WHERE kid = $1`, kid, fmtTime(at)); err != nil {
		return fmt.Errorf("sqlstore: destroy key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: destroy key: %w", err)
	}
	return nil
}

// DropRows implements audit.Store. The append-only triggers allow the
// deletes only while the segment is in state dropping.
func (s *Store) DropRows(ctx context.Context, log, seg string, batch int) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: drop rows: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var state string
	if err := tx.QueryRowContext(ctx, `SELECT state FROM audit_segments WHERE log = $1 AND seg = $2`, log, seg).Scan(&state); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, audit.ErrNotFound
		}
		return 0, fmt.Errorf("sqlstore: drop rows: %w", err)
	}
	if state != audit.SegDropping {
		return 0, fmt.Errorf("sqlstore: drop rows: segment is %s, not dropping", state)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE log = $1 AND seg = $2 AND seq IN
(SELECT seq FROM audit_events WHERE log = $3 AND seg = $4 ORDER BY seq LIMIT $5)`, log, seg, log, seg, batch)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: drop rows: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_hashes WHERE log = $1 AND seg = $2 AND idx IN
(SELECT idx FROM audit_hashes WHERE log = $3 AND seg = $4 ORDER BY idx LIMIT $5)`, log, seg, log, seg, 3*batch); err != nil {
		return 0, fmt.Errorf("sqlstore: drop hashes: %w", err)
	}
	if n == 0 {
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_hashes WHERE log = $1 AND seg = $2`, log, seg).Scan(&left); err != nil {
			return 0, fmt.Errorf("sqlstore: drop rows: %w", err)
		}
		if left > 0 {
			n = 0
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_hashes WHERE log = $1 AND seg = $2`, log, seg); err != nil {
				return 0, fmt.Errorf("sqlstore: drop hashes: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlstore: drop rows: %w", err)
	}
	return int(n), nil
}

// Tx is a write transaction of a Store.
type Tx struct {
	tx    *sql.Tx
	s     *Store
	heads map[string]string // head segment per log as locked or set here
}

var _ audit.StoreTx = (*Tx)(nil)

// LockHead implements audit.StoreTx: it creates the head row of the log
// if missing and locks it (PostgreSQL FOR UPDATE; SQLite takes the write
// lock with the insert).
func (t *Tx) LockHead(ctx context.Context, log string) (audit.Segment, bool, error) {
	// The insert creates the head row if missing and, on SQLite, takes the
	// write lock even in a deferred transaction without writing a page;
	// PostgreSQL locks the head row with FOR UPDATE.
	// Once the head row is known to exist, the insert is skipped; SQLite
	// then relies on BEGIN IMMEDIATE (_txlock=immediate) or the
	// one-connection pool for the write lock.
	if _, known := t.s.heads.Load(log); !known {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO audit_heads (log, seg) VALUES ($1, '') ON CONFLICT (log) DO NOTHING`, log); err != nil {
			return audit.Segment{}, false, fmt.Errorf("sqlstore: lock head: %w", err)
		}
	}
	q := `SELECT h.seg, s.state, s.size, s.root, s.last_ts, s.opened_at, s.closed_at, s.dropped_at, s.final_checkpoint
FROM audit_heads h LEFT JOIN audit_segments s ON s.log = h.log AND s.seg = h.seg WHERE h.log = $1`
	if t.s.dialect == Postgres {
		// Lock first, then read the segment in a new statement: under READ
		// COMMITTED a joined row would come from the pre-lock snapshot.
		var seg string
		if err := t.tx.QueryRowContext(ctx, `SELECT seg FROM audit_heads WHERE log = $1 FOR UPDATE`, log).Scan(&seg); err != nil {
			return audit.Segment{}, false, fmt.Errorf("sqlstore: lock head: %w", err)
		}
	}
	sg := audit.Segment{Log: log}
	var state, lastTS, opened, closed, dropped, final sql.NullString
	var size sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, q, log).Scan(&sg.Seg, &state, &size, &sg.Root, &lastTS, &opened, &closed, &dropped, &final); err != nil {
		return audit.Segment{}, false, fmt.Errorf("sqlstore: lock head: %w", err)
	}
	if t.heads == nil {
		t.heads = map[string]string{}
	}
	t.heads[log] = sg.Seg
	if sg.Seg == "" {
		return audit.Segment{}, false, nil
	}
	t.s.heads.Store(log, true) // a non-empty head seg was committed earlier
	if !state.Valid {
		return audit.Segment{}, false, fmt.Errorf("sqlstore: head segment %s missing", sg.Seg)
	}
	sg.State, sg.Size, sg.LastTS = state.String, uint64(size.Int64), lastTS.String
	sg.OpenedAt, sg.ClosedAt, sg.DroppedAt = parseTime(opened), parseTime(closed), parseTime(dropped)
	sg.FinalCheckpoint = final.String
	return sg, true, nil
}

// PutSegment implements audit.StoreTx.
func (t *Tx) PutSegment(ctx context.Context, sg audit.Segment) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO audit_segments (`+segCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (log, seg) DO UPDATE SET state = excluded.state, size = excluded.size, root = excluded.root,
  last_ts = excluded.last_ts, closed_at = excluded.closed_at, dropped_at = excluded.dropped_at,
  final_checkpoint = excluded.final_checkpoint`,
		sg.Log, sg.Seg, sg.State, int64(sg.Size), sg.Root, sg.LastTS, fmtTime(sg.OpenedAt), fmtTime(sg.ClosedAt),
		fmtTime(sg.DroppedAt), nullStr(sg.FinalCheckpoint))
	if err != nil {
		return fmt.Errorf("sqlstore: put segment: %w", err)
	}
	if sg.State == audit.SegOpen {
		if h, ok := t.heads[sg.Log]; !ok || h != sg.Seg {
			if _, err := t.tx.ExecContext(ctx, `UPDATE audit_heads SET seg = $2 WHERE log = $1`, sg.Log, sg.Seg); err != nil {
				return fmt.Errorf("sqlstore: put segment: %w", err)
			}
			if t.heads == nil {
				t.heads = map[string]string{}
			}
			t.heads[sg.Log] = sg.Seg
		}
	}
	return nil
}

// Insert implements audit.StoreTx.
func (t *Tx) Insert(ctx context.Context, r audit.Record, hs []audit.StoredHash) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO audit_events (`+recCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.Log, r.Seg, int64(r.Seq), r.ID, r.TS, r.Type, r.Actor, nullStr(r.Subject), r.Leaf, r.LeafHash, r.Root)
	if err != nil {
		return fmt.Errorf("sqlstore: insert event: %w", err)
	}
	if len(hs) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 4*len(hs))
	b.WriteString(`INSERT INTO audit_hashes (log, seg, idx, hash) VALUES `)
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(',')
		}
		n := 4 * i
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
		args = append(args, r.Log, r.Seg, h.Index, h.Hash[:])
	}
	if _, err := t.tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("sqlstore: insert hashes: %w", err)
	}
	return nil
}

// Hashes implements audit.StoreTx.
func (t *Tx) Hashes(ctx context.Context, log, seg string, idx []int64) ([]tlog.Hash, error) {
	return hashes(ctx, t.tx, log, seg, idx)
}

// Segments implements audit.StoreTx.
func (t *Tx) Segments(ctx context.Context, log string) ([]audit.Segment, error) {
	return segments(ctx, t.tx, log)
}

// Checkpoints implements audit.StoreTx.
func (t *Tx) Checkpoints(ctx context.Context, log, seg string) ([]audit.SignedCheckpoint, error) {
	return checkpoints(ctx, t.tx, log, seg)
}

// SaveCheckpoint implements audit.StoreTx.
func (t *Tx) SaveCheckpoint(ctx context.Context, cp audit.SignedCheckpoint) error {
	var old string
	err := t.tx.QueryRowContext(ctx, `SELECT note FROM audit_checkpoints WHERE log = $1 AND seg = $2 AND size = $3`,
		cp.Log, cp.Seg, int64(cp.Size)).Scan(&old)
	switch {
	case err == nil:
		if old == string(cp.Note) {
			return nil
		}
		return audit.ErrCheckpointConflict
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: save checkpoint: %w", err)
	}
	final := 0
	if cp.Final {
		final = 1
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (log, seg, size, root, note, signed_at, final) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		cp.Log, cp.Seg, int64(cp.Size), cp.Root[:], string(cp.Note), fmtTime(cp.SignedAt), final); err != nil {
		return fmt.Errorf("sqlstore: save checkpoint: %w", err)
	}
	return nil
}

// Key implements audit.StoreTx.
func (t *Tx) Key(ctx context.Context, kid string) (audit.WrappedKey, error) {
	return key(ctx, t.tx, kid)
}

// PutKey implements audit.StoreTx.
func (t *Tx) PutKey(ctx context.Context, k audit.WrappedKey) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO audit_keys (kid, kind, wrapped, created_at) VALUES ($1, $2, $3, $4)`,
		k.KID, k.Kind, k.Wrapped, fmtTime(k.CreatedAt)); err != nil {
		return fmt.Errorf("sqlstore: put key: %w", err)
	}
	return nil
}

// SQL implements audit.StoreTx.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// Commit implements audit.StoreTx.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback implements audit.StoreTx.
func (t *Tx) Rollback() error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
