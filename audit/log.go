package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Period is the length of a segment.
type Period string

// Segment periods (spec §3.2).
const (
	Monthly Period = "month"
	Weekly  Period = "week"
	Daily   Period = "day"
)

// LogConfig configures one log (security, privacy).
type LogConfig struct {
	// Period of a segment; "" means Monthly.
	Period Period
	// Retention is how long a closed segment is kept before DropExpired
	// may drop it; 0 means never drop.
	Retention time.Duration
	// Droppable, when set, must also approve a drop (privacy log: no live
	// account has an event in the segment).
	Droppable func(ctx context.Context, seg Segment) (bool, error)
}

// EventSink receives copies of committed events (canonical JSON per record)
// after commit. Its failure never affects the action.
type EventSink interface {
	Write(ctx context.Context, recs []Record) error
}

// Config configures a [Log]. Only Store is required.
type Config struct {
	// Store is the storage back end (required).
	Store Store
	// OriginPrefix starts checkpoint origins and the signer key name:
	// origin = <OriginPrefix>/<log>/<seg>. Default "audit.invalid".
	OriginPrefix string
	// Service is the svc member of every event; default "digakit".
	Service string
	// Host is the optional host member (instance id, not a customer FQDN).
	Host string
	// Logs configures the logs by name; missing logs get monthly segments
	// and no retention.
	Logs map[string]LogConfig
	// Signers sign checkpoints, keyed by log name. A log without signer
	// gets no checkpoints (development only).
	Signers map[string]note.Signer
	// KEK wraps the seal keys (32 bytes, from a key source outside the
	// database). Nil disables sealed values: events with Sealed fail.
	KEK []byte
	// NetKey keys the network and user-agent ids of ClientInfo. Nil: IP
	// and UserAgent are dropped.
	NetKey []byte
	// EventSinks get copies of committed events.
	EventSinks []EventSink
	// CheckpointSinks get every signed checkpoint (spec §3.4).
	CheckpointSinks []CheckpointSink
	// OnForbidden is Reject (zero value) or Redact.
	OnForbidden ForbiddenPolicy
	// AllowedAttrs, when it has an entry for a type, is the allow-list of
	// attribute names of that type; other names are forbidden content.
	// Types without an entry accept any well-formed name that is not on
	// the built-in deny list (password, token, mail, name, diagnosis, …).
	AllowedAttrs map[Type][]string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the random source of ids, keys and nonces; nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// MaxBatch caps a group commit of Record; 0 means 256.
	MaxBatch int
	// CheckpointEvery signs a checkpoint of an open segment after this
	// many new leaves; 0 means 1000.
	CheckpointEvery uint64
	// CheckpointAge signs a checkpoint of a grown open segment after this
	// time; 0 means 60 s.
	CheckpointAge time.Duration
	// Logger receives operational messages (never event content); nil
	// discards.
	Logger *slog.Logger
}

var reOrigin = regexp.MustCompile(`^[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$`)

// Log appends events to a tamper-evident store, signs checkpoints, proves
// inclusion and consistency, and serves reads. It is safe for concurrent
// use and starts no goroutines.
type Log struct {
	cfg   Config
	store Store
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger

	gcMu    sync.Mutex
	queue   []*batchReq
	leading bool

	cacheMu sync.Mutex
	cache   map[string]map[int64]tlog.Hash // per log/seg: tree hashes known to be stored
	keys    map[string][]byte              // unwrapped seal keys
	cpMu    sync.Mutex
}

// New validates cfg and returns a Log.
//
// REQ: TR03161-3:O.Arch_11, ASVS5:16.4.2
func New(cfg Config) (*Log, error) {
	if cfg.Store == nil {
		return nil, errors.New("audit: Config.Store is required")
	}
	if cfg.OriginPrefix == "" {
		cfg.OriginPrefix = "audit.invalid"
	}
	if !reOrigin.MatchString(cfg.OriginPrefix) {
		return nil, errors.New("audit: Config.OriginPrefix must be a schema-less URL without spaces or '+'")
	}
	if cfg.Service == "" {
		cfg.Service = "digakit"
	}
	if !reActorID.MatchString(cfg.Service) || (cfg.Host != "" && !reActorID.MatchString(cfg.Host)) {
		return nil, errors.New("audit: Config.Service/Host must match ^[A-Za-z0-9._:-]{1,64}$")
	}
	if cfg.KEK != nil && len(cfg.KEK) != 32 {
		return nil, errors.New("audit: Config.KEK must be 32 bytes")
	}
	for name, s := range cfg.Signers {
		if s == nil || s.Name() != cfg.OriginPrefix+"/"+name {
			return nil, fmt.Errorf("audit: signer for log %q must be named %s/%s", name, cfg.OriginPrefix, name)
		}
	}
	for _, s := range cfg.CheckpointSinks {
		if s == nil || s.Name() == "" {
			return nil, errors.New("audit: checkpoint sinks need a name")
		}
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.CheckpointAge == 0 {
		cfg.CheckpointAge = 60 * time.Second
	}
	l := &Log{cfg: cfg, store: cfg.Store, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger,
		cache: map[string]map[int64]tlog.Hash{}, keys: map[string][]byte{}}
	if l.now == nil {
		l.now = time.Now
	}
	if l.rand == nil {
		l.rand = rand.Reader
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// Store returns the store of the log.
func (l *Log) Store() Store { return l.store }

// Receipt identifies an appended event.
type Receipt struct {
	Log, Seg string
	Seq      uint64
	ID       string
	LeafHash tlog.Hash
}

// prepared is a validated event waiting for its position.
type prepared struct {
	ev       *Event
	members  map[string]any
	redacted []string
	log      string // overrides the type's log (segment drop events)
}

func (l *Log) prepare(evs []Event) ([]prepared, error) {
	out := make([]prepared, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		m, red, err := ev.value(l.cfg.OnForbidden, l.cfg.NetKey, l.cfg.AllowedAttrs)
		if err != nil {
			return nil, err
		}
		if len(ev.Sealed) > 0 && l.cfg.KEK == nil {
			return nil, fmt.Errorf("%w: sealed values need Config.KEK", ErrForbiddenContent)
		}
		out = append(out, prepared{ev: ev, members: m, redacted: red})
		if len(red) > 0 {
			fields := make([]any, len(red))
			for j, f := range red {
				fields[j] = f
			}
			extra := Event{Type: InputValidationFail, Outcome: Failure, Actor: ev.Actor, Subject: ev.Subject,
				Attrs: map[string]any{"fields": fields, "event_type": string(ev.Type)}}
			m2, _, err := extra.value(Reject, nil, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, prepared{ev: &extra, members: m2})
		}
	}
	return out, nil
}

// Tx is an audit transaction: the caller's business writes (through SQL)
// and the appended events commit together or not at all.
type Tx struct {
	l        *Log
	st       StoreTx
	heads    map[string]*head
	failed   error
	after    []func()
	appended []Record
	done     bool
}

type head struct {
	seg     Segment
	ok      bool
	dirty   bool
	overlay map[int64]tlog.Hash
}

// SQL returns the underlying *sql.Tx (nil for stores without SQL). With a
// one-connection SQLite pool every statement inside InTx must use it.
func (tx *Tx) SQL() *sql.Tx { return tx.st.SQL() }

// AfterCommit registers f to run after a successful commit. Its failure
// never affects the action.
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

// Append validates, encodes and appends events inside the transaction. An
// error latches the transaction as failed: InTx rolls back and returns
// ErrAuditWriteFailed even if the caller ignores this error.
func (tx *Tx) Append(ctx context.Context, evs ...Event) ([]Receipt, error) {
	if tx.failed != nil {
		return nil, tx.failed
	}
	if tx.done {
		return nil, fmt.Errorf("%w: transaction finished", ErrAuditWriteFailed)
	}
	ps, err := tx.l.prepare(evs)
	if err != nil {
		tx.failed = err
		return nil, err
	}
	rs, err := tx.appendPrepared(ctx, ps)
	if err != nil {
		tx.failed = err
		return nil, err
	}
	return rs, nil
}

func (tx *Tx) appendPrepared(ctx context.Context, ps []prepared) ([]Receipt, error) {
	rs := make([]Receipt, 0, len(ps))
	for _, p := range ps {
		r, err := tx.appendOne(ctx, p)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (tx *Tx) lock(ctx context.Context, log string) (*head, error) {
	if h := tx.heads[log]; h != nil {
		return h, nil
	}
	s, ok, err := tx.st.LockHead(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("%w: lock head: %w", ErrAuditWriteFailed, err)
	}
	h := &head{seg: s, ok: ok, overlay: map[int64]tlog.Hash{}}
	tx.heads[log] = h
	return h, nil
}

// SegmentID returns the id of the segment of period p that contains t
// (UTC): "2006-01", "2006-W02" or "2006-01-02".
func SegmentID(p Period, t time.Time) string {
	t = t.UTC()
	switch p {
	case Daily:
		return t.Format("2006-01-02")
	case Weekly:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	default:
		return t.Format("2006-01")
	}
}

func (l *Log) logConfig(log string) LogConfig { return l.cfg.Logs[log] }

func (tx *Tx) appendOne(ctx context.Context, p prepared) (Receipt, error) {
	l := tx.l
	logName := p.ev.Type.Log()
	if p.log != "" {
		logName = p.log
	}
	h, err := tx.lock(ctx, logName)
	if err != nil {
		return Receipt{}, err
	}
	ts := l.now().UTC().Truncate(time.Millisecond)
	if h.ok && h.seg.LastTS != "" {
		if last, err := time.Parse(TimeFormat, h.seg.LastTS); err == nil && ts.Before(last) {
			ts = last // clamp: ts never decreases within a log
		}
	}
	segID := SegmentID(l.logConfig(logName).Period, ts)
	if !h.ok || h.seg.Seg != segID {
		if err := tx.rollover(ctx, h, logName, segID, ts); err != nil {
			return Receipt{}, err
		}
	}
	if h.seg.State != SegOpen {
		return Receipt{}, fmt.Errorf("%w: %w", ErrAuditWriteFailed, ErrSegmentClosed)
	}
	return tx.write(ctx, h, p, ts)
}

// rollover closes the current segment of a log and opens segID, whose
// first leaf links to the previous segment (spec §3.2).
func (tx *Tx) rollover(ctx context.Context, h *head, logName, segID string, ts time.Time) error {
	var prev *Segment
	if h.ok {
		if segID < h.seg.Seg {
			return fmt.Errorf("%w: segment %s precedes the current segment", ErrAuditWriteFailed, segID)
		}
		old := h.seg
		old.State = SegClosed
		old.ClosedAt = ts
		if err := tx.st.PutSegment(ctx, old); err != nil {
			return fmt.Errorf("%w: close segment: %w", ErrAuditWriteFailed, err)
		}
		prev = &old
	}
	h.seg = Segment{Log: logName, Seg: segID, State: SegOpen, OpenedAt: ts}
	h.ok = true
	h.overlay = map[int64]tlog.Hash{}
	if err := tx.st.PutSegment(ctx, h.seg); err != nil {
		return fmt.Errorf("%w: open segment: %w", ErrAuditWriteFailed, err)
	}
	if prev != nil {
		link := Event{Type: AuditSegmentOpened, Outcome: Success, Actor: Actor{Kind: ActorSystem, ID: "system"},
			Attrs: map[string]any{"prev_seg": prev.Seg, "prev_size": int64(prev.Size), "prev_root": b64(prev.Root)}}
		m, _, err := link.value(Reject, nil, nil)
		if err != nil {
			return err
		}
		if _, err := tx.write(ctx, h, prepared{ev: &link, members: m}, ts); err != nil {
			return err
		}
	}
	return nil
}

// hashReader reads tree hashes from the tx overlay, the log cache and the
// store transaction.
type hashReader struct {
	ctx context.Context
	tx  *Tx
	h   *head
}

func (r hashReader) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	var miss []int64
	var missPos []int
	l := r.tx.l
	l.cacheMu.Lock()
	cache := l.cache[r.h.seg.Log+"/"+r.h.seg.Seg]
	for i, x := range idx {
		if v, ok := r.h.overlay[x]; ok {
			out[i] = v
		} else if v, ok := cache[x]; ok {
			out[i] = v
		} else {
			miss = append(miss, x)
			missPos = append(missPos, i)
		}
	}
	l.cacheMu.Unlock()
	if len(miss) > 0 {
		got, err := r.tx.st.Hashes(r.ctx, r.h.seg.Log, r.h.seg.Seg, miss)
		if err != nil {
			return nil, err
		}
		if len(got) != len(miss) {
			return nil, ErrNotFound
		}
		for i, p := range missPos {
			out[p] = got[i]
			r.h.overlay[miss[i]] = got[i]
		}
	}
	return out, nil
}

func (tx *Tx) write(ctx context.Context, h *head, p prepared, ts time.Time) (Receipt, error) {
	l := tx.l
	seq := h.seg.Size
	id, err := newULID(ts, l.rand)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
	}
	m := make(map[string]any, len(p.members)+10)
	for k, v := range p.members {
		m[k] = v
	}
	tsText := ts.Format(TimeFormat)
	m["v"] = int64(1)
	m["id"] = id
	m["log"] = h.seg.Log
	m["seg"] = h.seg.Seg
	m["seq"] = int64(seq)
	m["ts"] = tsText
	m["level"] = string(p.ev.Type.Level())
	m["svc"] = l.cfg.Service
	if l.cfg.Host != "" {
		m["host"] = l.cfg.Host
	}
	if len(p.ev.Sealed) > 0 {
		sealed, err := tx.seal(ctx, p.ev, id, ts)
		if err != nil {
			return Receipt{}, err
		}
		m["sealed"] = sealed
	}
	leaf, err := AppendCanonical(nil, m)
	if err != nil {
		return Receipt{}, err
	}
	if len(leaf) > MaxEventSize {
		return Receipt{}, fmt.Errorf("%w: %d bytes", ErrEventTooLarge, len(leaf))
	}
	rd := hashReader{ctx: ctx, tx: tx, h: h}
	lh := tlog.RecordHash(leaf)
	hashes, err := tlog.StoredHashesForRecordHash(int64(seq), lh, rd)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: tree hashes: %w", ErrAuditWriteFailed, err)
	}
	base := tlog.StoredHashIndex(0, int64(seq))
	sh := make([]StoredHash, len(hashes))
	for i, x := range hashes {
		sh[i] = StoredHash{Index: base + int64(i), Hash: x}
		h.overlay[base+int64(i)] = x
	}
	root, err := tlog.TreeHash(int64(seq)+1, rd)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: tree hash: %w", ErrAuditWriteFailed, err)
	}
	rec := Record{Log: h.seg.Log, Seg: h.seg.Seg, Seq: seq, ID: id, TS: tsText, Type: string(p.ev.Type),
		Actor: string(p.ev.Actor.Kind) + ":" + p.ev.Actor.ID, Subject: p.ev.Subject,
		Leaf: leaf, LeafHash: lh[:], Root: root[:]}
	if s, ok := p.members["actor"].(map[string]any); ok {
		rec.Actor = s["kind"].(string) + ":" + s["id"].(string)
	}
	if err := tx.st.Insert(ctx, rec, sh); err != nil {
		return Receipt{}, fmt.Errorf("%w: insert: %w", ErrAuditWriteFailed, err)
	}
	h.seg.Size = seq + 1
	h.seg.Root = rec.Root
	h.seg.LastTS = tsText
	h.dirty = true
	tx.appended = append(tx.appended, rec)
	return Receipt{Log: rec.Log, Seg: rec.Seg, Seq: seq, ID: id, LeafHash: lh}, nil
}

// flush writes the dirty heads.
func (tx *Tx) flush(ctx context.Context) error {
	for _, h := range tx.heads {
		if h.dirty {
			if err := tx.st.PutSegment(ctx, h.seg); err != nil {
				return fmt.Errorf("%w: set head: %w", ErrAuditWriteFailed, err)
			}
			h.dirty = false
		}
	}
	return nil
}

// commit flushes heads and commits; on success it feeds the hash cache,
// the event sinks and the AfterCommit hooks.
func (tx *Tx) commit(ctx context.Context) error {
	tx.done = true
	if err := tx.flush(ctx); err != nil {
		_ = tx.st.Rollback()
		return err
	}
	if err := tx.st.Commit(); err != nil {
		_ = tx.st.Rollback()
		return fmt.Errorf("%w: commit: %w", ErrAuditWriteFailed, err)
	}
	l := tx.l
	l.cacheMu.Lock()
	for _, h := range tx.heads {
		key := h.seg.Log + "/" + h.seg.Seg
		c := l.cache[key]
		if c == nil || len(c) > 1<<14 {
			c = map[int64]tlog.Hash{}
			// keep only what appends still need: the current frontier
			for k, v := range h.overlay {
				c[k] = v
			}
			for k := range l.cache {
				if len(k) > len(h.seg.Log) && k[:len(h.seg.Log)+1] == h.seg.Log+"/" && k != key {
					delete(l.cache, k)
				}
			}
			l.cache[key] = c
			continue
		}
		for k, v := range h.overlay {
			c[k] = v
		}
	}
	l.cacheMu.Unlock()
	if len(tx.appended) > 0 {
		for _, s := range l.cfg.EventSinks {
			if err := s.Write(ctx, tx.appended); err != nil {
				l.log.WarnContext(ctx, "audit event sink failed", "err_kind", fmt.Sprintf("%T", err))
			}
		}
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// InTx runs fn inside one store transaction. Business writes go through
// tx.SQL(), events through tx.Append. The transaction commits only if fn
// returns nil and no Append failed; an Append failure makes InTx return
// ErrAuditWriteFailed (wrapping the cause) even if fn swallowed it
// (fail closed, spec §3.3).
//
// REQ: ASVS5:16.5.3, audit-spec:3.3
func (l *Log) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	st, err := l.store.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", ErrAuditWriteFailed, err)
	}
	tx := &Tx{l: l, st: st, heads: map[string]*head{}}
	defer func() {
		if !tx.done { // fn panicked: release the transaction and its lock
			tx.done = true
			_ = st.Rollback()
		}
	}()
	ferr := fn(ctx, tx)
	if tx.failed != nil {
		_ = st.Rollback()
		tx.done = true
		if errors.Is(tx.failed, ErrAuditWriteFailed) {
			return tx.failed
		}
		return fmt.Errorf("%w: %w", ErrAuditWriteFailed, tx.failed)
	}
	if ferr != nil {
		_ = st.Rollback()
		tx.done = true
		return ferr
	}
	return tx.commit(ctx)
}

// batchReq is one Record call waiting in the group-commit queue.
type batchReq struct {
	ps       []prepared
	receipts []Receipt
	err      error
	done     chan struct{}
	lead     chan struct{}
}

// Record appends events that have no business write, with group commit:
// events are validated in the caller's goroutine; concurrent calls queue,
// the first waiting caller leads and commits every queued event (up to
// MaxBatch) in one transaction. It returns after that commit; nil means
// the events are durable (acknowledged). A batch failure gives every
// caller of the batch ErrAuditWriteFailed.
//
// REQ: audit-spec:3.3
func (l *Log) Record(ctx context.Context, evs ...Event) ([]Receipt, error) {
	ps, err := l.prepare(evs)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, nil
	}
	req := &batchReq{ps: ps, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	l.gcMu.Lock()
	l.queue = append(l.queue, req)
	if !l.leading {
		l.leading = true
		l.gcMu.Unlock()
	} else {
		l.gcMu.Unlock()
		select {
		case <-req.done:
			return req.receipts, req.err
		case <-req.lead:
		}
	}
	// Leader: commit batches until our own request is done, then hand
	// leadership to the next waiting caller.
	for {
		select {
		case <-req.done:
			l.gcMu.Lock()
			if len(l.queue) > 0 {
				l.queue[0].lead <- struct{}{}
			} else {
				l.leading = false
			}
			l.gcMu.Unlock()
			return req.receipts, req.err
		default:
		}
		l.gcMu.Lock()
		var batch []*batchReq
		n := 0
		for len(l.queue) > 0 && (n == 0 || n+len(l.queue[0].ps) <= l.cfg.MaxBatch) {
			n += len(l.queue[0].ps)
			batch = append(batch, l.queue[0])
			l.queue = l.queue[1:]
		}
		l.gcMu.Unlock()
		l.runBatch(ctx, batch)
	}
}

func (l *Log) runBatch(ctx context.Context, batch []*batchReq) {
	err := l.InTx(context.WithoutCancel(ctx), func(ctx context.Context, tx *Tx) error {
		for _, r := range batch {
			rs, err := tx.appendPrepared(ctx, r.ps)
			if err != nil {
				tx.failed = err
				return err
			}
			r.receipts = rs
		}
		return nil
	})
	for _, r := range batch {
		if err != nil {
			r.receipts = nil
			r.err = err
			if !errors.Is(err, ErrAuditWriteFailed) {
				r.err = fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
			}
		}
		close(r.done)
	}
}

// DefaultLogs returns the log configuration proposed by the audit spec
// §3.2: monthly segments; security segments dropped 12 months (365 days)
// after closing, privacy segments after 36 months (1095 days) and only
// when privacyDroppable approves (no live account has an event in the
// segment; nil keeps privacy segments forever). The legal periods are
// unverified proposals; the data-protection impact assessment decides.
func DefaultLogs(privacyDroppable func(ctx context.Context, seg Segment) (bool, error)) map[string]LogConfig {
	privacyRetention := 1095 * 24 * time.Hour
	if privacyDroppable == nil {
		privacyRetention = 0
	}
	return map[string]LogConfig{
		LogSecurity: {Period: Monthly, Retention: 365 * 24 * time.Hour},
		LogPrivacy:  {Period: Monthly, Retention: privacyRetention, Droppable: privacyDroppable},
	}
}

// Join binds the log to a store transaction the caller already began,
// for callers that manage their own *sql.Tx (wrap it with
// sqlstore.Store.Join). Events appended through the returned Tx go into
// that transaction; finish it with Tx.Commit (which refuses and rolls back
// when an Append failed, returning ErrAuditWriteFailed) or Tx.Rollback.
func (l *Log) Join(stx StoreTx) *Tx {
	return &Tx{l: l, st: stx, heads: map[string]*head{}}
}

// Commit commits a transaction obtained from Join. If an Append failed, it
// rolls back and returns ErrAuditWriteFailed: the action fails with the
// audit write.
func (tx *Tx) Commit(ctx context.Context) error {
	if tx.done {
		return fmt.Errorf("%w: transaction finished", ErrAuditWriteFailed)
	}
	if tx.failed != nil {
		tx.done = true
		_ = tx.st.Rollback()
		if errors.Is(tx.failed, ErrAuditWriteFailed) {
			return tx.failed
		}
		return fmt.Errorf("%w: %w", ErrAuditWriteFailed, tx.failed)
	}
	return tx.commit(ctx)
}

// Rollback aborts a transaction obtained from Join.
func (tx *Tx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	return tx.st.Rollback()
}
