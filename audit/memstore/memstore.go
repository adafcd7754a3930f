package memstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/digakit/digakit/audit"
	"golang.org/x/mod/sumdb/tlog"
)

type segKey struct{ log, seg string }

type segData struct {
	meta   audit.Segment
	recs   []audit.Record
	hashes map[int64]tlog.Hash
	cps    []audit.SignedCheckpoint
}

// Store is an in-memory audit store. The zero value is not usable; call New.
type Store struct {
	wmu   sync.Mutex // held by the open write transaction
	mu    sync.RWMutex
	segs  map[segKey]*segData
	order map[string][]string // log -> segment ids in opening order
	heads map[string]string
	keys  map[string]audit.WrappedKey
	ids   map[string]bool
	// FailInsert, when set, is called before every Insert; an error fails
	// the Insert (fault injection for tests).
	FailInsert func() error
}

// New returns an empty store.
func New() *Store {
	return &Store{segs: map[segKey]*segData{}, order: map[string][]string{}, heads: map[string]string{},
		keys: map[string]audit.WrappedKey{}, ids: map[string]bool{}}
}

var _ audit.Store = (*Store)(nil)

// Begin starts a write transaction; it waits for the previous one to end.
func (s *Store) Begin(ctx context.Context) (audit.StoreTx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	return &tx{s: s, segs: map[segKey]*audit.Segment{}, hashes: map[segKey]map[int64]tlog.Hash{},
		keys: map[string]audit.WrappedKey{}}, nil
}

// Logs implements audit.Store.
func (s *Store) Logs(context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.order))
	for l := range s.order {
		out = append(out, l)
	}
	sort.Strings(out)
	return out, nil
}

// Segments implements audit.Store.
func (s *Store) Segments(_ context.Context, log string) ([]audit.Segment, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.segments(log), nil
}

func (s *Store) segments(log string) []audit.Segment {
	out := []audit.Segment{}
	for _, id := range s.order[log] {
		out = append(out, s.segs[segKey{log, id}].meta)
	}
	return out
}

// Records implements audit.Store.
func (s *Store) Records(_ context.Context, log, seg string, from uint64, limit int) ([]audit.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.segs[segKey{log, seg}]
	if d == nil {
		return []audit.Record{}, nil
	}
	i := sort.Search(len(d.recs), func(i int) bool { return d.recs[i].Seq >= from })
	end := min(len(d.recs), i+limit)
	out := make([]audit.Record, end-i)
	copy(out, d.recs[i:end])
	return out, nil
}

// SubjectRecords implements audit.Store.
func (s *Store) SubjectRecords(_ context.Context, subject string, limit int) ([]audit.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []audit.Record
	for _, d := range s.segs {
		for _, r := range d.recs {
			if r.Subject == subject {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		if a.Log != b.Log {
			return a.Log < b.Log
		}
		return a.Seq < b.Seq
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Hashes implements audit.Store.
func (s *Store) Hashes(_ context.Context, log, seg string, idx []int64) ([]tlog.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hashesLocked(log, seg, idx, nil)
}

func (s *Store) hashesLocked(log, seg string, idx []int64, pending map[int64]tlog.Hash) ([]tlog.Hash, error) {
	d := s.segs[segKey{log, seg}]
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if h, ok := pending[x]; ok {
			out[i] = h
			continue
		}
		if d == nil {
			return nil, audit.ErrNotFound
		}
		h, ok := d.hashes[x]
		if !ok {
			return nil, audit.ErrNotFound
		}
		out[i] = h
	}
	return out, nil
}

// Checkpoints implements audit.Store.
func (s *Store) Checkpoints(_ context.Context, log, seg string) ([]audit.SignedCheckpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.segs[segKey{log, seg}]
	if d == nil {
		return []audit.SignedCheckpoint{}, nil
	}
	out := make([]audit.SignedCheckpoint, len(d.cps))
	for i, c := range d.cps {
		c.ShippedTo = slices.Clone(c.ShippedTo)
		out[i] = c
	}
	return out, nil
}

// MarkShipped implements audit.Store.
func (s *Store) MarkShipped(_ context.Context, log, seg string, size uint64, sink string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.segs[segKey{log, seg}]
	if d == nil {
		return audit.ErrNotFound
	}
	for i := range d.cps {
		if d.cps[i].Size == size {
			if !slices.Contains(d.cps[i].ShippedTo, sink) {
				d.cps[i].ShippedTo = append(d.cps[i].ShippedTo, sink)
			}
			return nil
		}
	}
	return audit.ErrNotFound
}

// Key implements audit.Store.
func (s *Store) Key(_ context.Context, kid string) (audit.WrappedKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[kid]
	if !ok {
		return audit.WrappedKey{}, audit.ErrNotFound
	}
	return k, nil
}

// DestroyKey implements audit.Store.
func (s *Store) DestroyKey(_ context.Context, kid string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[kid]
	if !ok {
		return audit.ErrNotFound
	}
	if k.Wrapped != nil {
		clear(k.Wrapped)
		k.Wrapped = nil
		k.DestroyedAt = at
		s.keys[kid] = k
	}
	return nil
}

// DropRows implements audit.Store.
func (s *Store) DropRows(_ context.Context, log, seg string, batch int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.segs[segKey{log, seg}]
	if d == nil {
		return 0, audit.ErrNotFound
	}
	if d.meta.State != audit.SegDropping {
		return 0, fmt.Errorf("memstore: segment %s/%s is not dropping", log, seg)
	}
	n := min(batch, len(d.recs))
	for _, r := range d.recs[:n] {
		delete(s.ids, r.ID)
	}
	d.recs = d.recs[n:]
	if len(d.recs) == 0 {
		d.hashes = map[int64]tlog.Hash{}
	}
	return n, nil
}

type tx struct {
	s      *Store
	done   bool
	segs   map[segKey]*audit.Segment
	newSeg []segKey
	heads  map[string]string
	recs   []audit.Record
	hashes map[segKey]map[int64]tlog.Hash
	cps    []audit.SignedCheckpoint
	keys   map[string]audit.WrappedKey
}

func (t *tx) check() error {
	if t.done {
		return errors.New("memstore: transaction finished")
	}
	return nil
}

func (t *tx) seg(k segKey) (audit.Segment, bool) {
	if s, ok := t.segs[k]; ok {
		return *s, true
	}
	d := t.s.segs[k]
	if d == nil {
		return audit.Segment{}, false
	}
	return d.meta, true
}

func (t *tx) LockHead(_ context.Context, log string) (audit.Segment, bool, error) {
	if err := t.check(); err != nil {
		return audit.Segment{}, false, err
	}
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	h, ok := t.heads[log]
	if !ok {
		h, ok = t.s.heads[log]
	}
	if !ok {
		return audit.Segment{}, false, nil
	}
	s, ok := t.seg(segKey{log, h})
	return s, ok, nil
}

func (t *tx) PutSegment(_ context.Context, s audit.Segment) error {
	if err := t.check(); err != nil {
		return err
	}
	k := segKey{s.Log, s.Seg}
	t.s.mu.RLock()
	_, exists := t.seg(k)
	t.s.mu.RUnlock()
	if !exists {
		t.newSeg = append(t.newSeg, k)
	}
	if s.State == audit.SegOpen {
		if t.heads == nil {
			t.heads = map[string]string{}
		}
		t.heads[s.Log] = s.Seg
	}
	s.Root = slices.Clone(s.Root)
	t.segs[k] = &s
	return nil
}

func (t *tx) Insert(_ context.Context, rec audit.Record, hs []audit.StoredHash) error {
	if err := t.check(); err != nil {
		return err
	}
	if t.s.FailInsert != nil {
		if err := t.s.FailInsert(); err != nil {
			return err
		}
	}
	k := segKey{rec.Log, rec.Seg}
	t.s.mu.RLock()
	seg, ok := t.seg(k)
	dup := t.s.ids[rec.ID]
	var n int
	if d := t.s.segs[k]; d != nil {
		n = len(d.recs)
		if n > 0 {
			n = int(d.recs[n-1].Seq) + 1
		}
	}
	t.s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("memstore: no segment %s/%s", rec.Log, rec.Seg)
	}
	if seg.State != audit.SegOpen {
		return audit.ErrSegmentClosed
	}
	for _, r := range t.recs {
		if r.Log == rec.Log && r.Seg == rec.Seg {
			n = int(r.Seq) + 1
		}
		if r.ID == rec.ID {
			dup = true
		}
	}
	if dup || uint64(n) != rec.Seq {
		return fmt.Errorf("memstore: constraint violation (seq %d, want %d)", rec.Seq, n)
	}
	rec.Leaf = slices.Clone(rec.Leaf)
	t.recs = append(t.recs, rec)
	m := t.hashes[k]
	if m == nil {
		m = map[int64]tlog.Hash{}
		t.hashes[k] = m
	}
	for _, h := range hs {
		m[h.Index] = h.Hash
	}
	return nil
}

func (t *tx) Hashes(_ context.Context, log, seg string, idx []int64) ([]tlog.Hash, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.hashesLocked(log, seg, idx, t.hashes[segKey{log, seg}])
}

func (t *tx) Segments(_ context.Context, log string) ([]audit.Segment, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	out := t.s.segments(log)
	for i := range out {
		if s, ok := t.segs[segKey{log, out[i].Seg}]; ok {
			out[i] = *s
		}
	}
	for _, k := range t.newSeg {
		if k.log == log {
			out = append(out, *t.segs[k])
		}
	}
	return out, nil
}

func (t *tx) Checkpoints(ctx context.Context, log, seg string) ([]audit.SignedCheckpoint, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out, _ := t.s.Checkpoints(ctx, log, seg)
	for _, c := range t.cps {
		if c.Log == log && c.Seg == seg {
			out = append(out, c)
		}
	}
	return out, nil
}

func (t *tx) SaveCheckpoint(ctx context.Context, cp audit.SignedCheckpoint) error {
	if err := t.check(); err != nil {
		return err
	}
	have, _ := t.Checkpoints(ctx, cp.Log, cp.Seg)
	for _, c := range have {
		if c.Size == cp.Size {
			if bytes.Equal(c.Note, cp.Note) {
				return nil
			}
			return audit.ErrCheckpointConflict
		}
	}
	cp.Note = slices.Clone(cp.Note)
	cp.ShippedTo = nil
	t.cps = append(t.cps, cp)
	return nil
}

func (t *tx) Key(_ context.Context, kid string) (audit.WrappedKey, error) {
	if err := t.check(); err != nil {
		return audit.WrappedKey{}, err
	}
	if k, ok := t.keys[kid]; ok {
		return k, nil
	}
	return t.s.Key(context.Background(), kid)
}

func (t *tx) PutKey(_ context.Context, k audit.WrappedKey) error {
	if err := t.check(); err != nil {
		return err
	}
	if _, err := t.Key(context.Background(), k.KID); err == nil {
		return fmt.Errorf("memstore: key exists")
	}
	k.Wrapped = slices.Clone(k.Wrapped)
	t.keys[k.KID] = k
	return nil
}

func (t *tx) SQL() *sql.Tx { return nil }

func (t *tx) Commit() error {
	if err := t.check(); err != nil {
		return err
	}
	t.done = true
	defer t.s.wmu.Unlock()
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range t.newSeg {
		s.segs[k] = &segData{hashes: map[int64]tlog.Hash{}}
		s.order[k.log] = append(s.order[k.log], k.seg)
	}
	for k, m := range t.segs {
		s.segs[k].meta = *m
	}
	for l, h := range t.heads {
		s.heads[l] = h
	}
	for _, r := range t.recs {
		d := s.segs[segKey{r.Log, r.Seg}]
		d.recs = append(d.recs, r)
		s.ids[r.ID] = true
	}
	for k, m := range t.hashes {
		d := s.segs[k]
		for i, h := range m {
			d.hashes[i] = h
		}
	}
	for _, c := range t.cps {
		d := s.segs[segKey{c.Log, c.Seg}]
		d.cps = append(d.cps, c)
		sort.Slice(d.cps, func(i, j int) bool { return d.cps[i].Size < d.cps[j].Size })
	}
	for kid, k := range t.keys {
		s.keys[kid] = k
	}
	return nil
}

func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	t.s.wmu.Unlock()
	return nil
}
