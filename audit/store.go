package audit

import (
	"context"
	"database/sql"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Segment states (spec §3.2).
const (
	SegOpen     = "open"
	SegClosed   = "closed"
	SegDropping = "dropping"
	SegDropped  = "dropped"
)

// Record is one stored event row. Leaf holds the canonical bytes that are
// hashed; TS, Type, Actor and Subject are derived query columns that the
// verifier checks against the leaf.
type Record struct {
	Log, Seg string
	Seq      uint64
	ID       string
	TS       string // "2006-01-02T15:04:05.000Z"
	Type     string
	Actor    string // "<kind>:<id>"
	Subject  string // "" when absent
	Leaf     []byte
	LeafHash []byte // 32 bytes
	Root     []byte // running root at size Seq+1, 32 bytes
}

// StoredHash is one stored tree hash in x/mod/sumdb/tlog StoredHashIndex
// numbering.
type StoredHash struct {
	Index int64
	Hash  tlog.Hash
}

// Segment is the head row of one segment of a log.
type Segment struct {
	Log, Seg  string
	State     string // open, closed, dropping, dropped
	Size      uint64
	Root      []byte // nil for an empty segment
	LastTS    string // ts of the last event ("" when empty)
	OpenedAt  time.Time
	ClosedAt  time.Time // zero while open
	DroppedAt time.Time // zero unless dropped
	// FinalCheckpoint is the signed note of the final checkpoint once
	// a closed segment has one.
	FinalCheckpoint string
}

// SignedCheckpoint is one signed checkpoint note of a segment.
type SignedCheckpoint struct {
	Log, Seg string
	Size     uint64
	Root     tlog.Hash
	Note     []byte // the signed note (C2SP tlog-checkpoint)
	SignedAt time.Time
	Final    bool
	// ShippedTo lists the names of the sinks that accepted the checkpoint.
	ShippedTo []string
}

// WrappedKey is a row of the seal-key registry (spec §3.5).
type WrappedKey struct {
	KID         string
	Kind        string // "subj" or "period"
	Wrapped     []byte // nil after destruction
	CreatedAt   time.Time
	DestroyedAt time.Time // zero while the key exists
}

// Store is the storage back end of a [Log]: sqlstore on database/sql or
// memstore in memory. Hashing and encoding live in Log, never here. Every
// implementation passes the audittest conformance suite.
type Store interface {
	// Begin starts a write transaction.
	Begin(ctx context.Context) (StoreTx, error)
	// Logs lists the names of all logs with at least one segment, sorted.
	Logs(ctx context.Context) ([]string, error)
	// Segments lists the segments of log in opening order.
	Segments(ctx context.Context, log string) ([]Segment, error)
	// Records returns up to limit rows of a segment with seq >= from,
	// ordered by seq.
	Records(ctx context.Context, log, seg string, from uint64, limit int) ([]Record, error)
	// SubjectRecords returns rows with the given subject in (ts, log,
	// seq) order, at most limit.
	SubjectRecords(ctx context.Context, subject string, limit int) ([]Record, error)
	// Hashes returns the stored tree hashes at the given indexes;
	// ErrNotFound if one is missing.
	Hashes(ctx context.Context, log, seg string, idx []int64) ([]tlog.Hash, error)
	// Checkpoints lists the saved checkpoints of a segment by size.
	Checkpoints(ctx context.Context, log, seg string) ([]SignedCheckpoint, error)
	// MarkShipped records that sink accepted the checkpoint (idempotent).
	MarkShipped(ctx context.Context, log, seg string, size uint64, sink string, at time.Time) error
	// Key returns a wrapped seal key; ErrNotFound if absent. A destroyed
	// key is returned with Wrapped nil and DestroyedAt set.
	Key(ctx context.Context, kid string) (WrappedKey, error)
	// DestroyKey overwrites the wrapped key and sets DestroyedAt
	// (idempotent); ErrNotFound if absent.
	DestroyKey(ctx context.Context, kid string, at time.Time) error
	// DropRows deletes up to batch rows (events and hashes) of a segment
	// in state dropping and returns how many events were deleted.
	DropRows(ctx context.Context, log, seg string, batch int) (int, error)
}

// StoreTx is one write transaction of a Store. Its methods are used under
// the head lock of a log.
type StoreTx interface {
	// LockHead locks the head of log until the transaction ends (FOR
	// UPDATE, or the single SQLite writer) and returns its current
	// segment; ok is false for a log without segments.
	LockHead(ctx context.Context, log string) (seg Segment, ok bool, err error)
	// PutSegment inserts a new segment or updates state, size, root,
	// last ts, closed/dropped time and final checkpoint of an existing one;
	// a new open segment becomes the head of its log.
	PutSegment(ctx context.Context, s Segment) error
	// Insert stores one event row and its new tree hashes.
	Insert(ctx context.Context, rec Record, hashes []StoredHash) error
	// Hashes reads stored tree hashes inside the transaction.
	Hashes(ctx context.Context, log, seg string, idx []int64) ([]tlog.Hash, error)
	// Segments lists the segments of log inside the transaction.
	Segments(ctx context.Context, log string) ([]Segment, error)
	// Checkpoints lists the saved checkpoints of a segment by size.
	Checkpoints(ctx context.Context, log, seg string) ([]SignedCheckpoint, error)
	// SaveCheckpoint stores a checkpoint; equal content is a no-op, a
	// different note for the same size is ErrCheckpointConflict.
	SaveCheckpoint(ctx context.Context, cp SignedCheckpoint) error
	// Key returns a wrapped seal key (ErrNotFound if absent).
	Key(ctx context.Context, kid string) (WrappedKey, error)
	// PutKey stores a new wrapped seal key.
	PutKey(ctx context.Context, k WrappedKey) error
	// SQL returns the underlying *sql.Tx so that business writes join the
	// transaction; nil for stores without SQL.
	SQL() *sql.Tx
	// Commit commits the transaction.
	Commit() error
	// Rollback aborts the transaction; after Commit it is a no-op.
	Rollback() error
}

// TimeFormat is the fixed UTC layout of ts (spec §3.1).
const TimeFormat = "2006-01-02T15:04:05.000Z"
