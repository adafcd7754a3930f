package audittest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"

	"github.com/digakit/digakit/audit"
)

// ErrInjected is the error FaultStore injects.
var ErrInjected = errors.New("audittest: injected fault")

// Op names an operation FaultStore can fail.
type Op string

// Operations that can fail.
const (
	OpBegin      Op = "begin"
	OpInsert     Op = "insert"
	OpPutSegment Op = "put_segment"
	OpCommit     Op = "commit"
)

// FaultStore wraps a Store and fails chosen operations: the n-th call
// (FailAt) or each call with probability (FailRate).
type FaultStore struct {
	audit.Store
	mu       sync.Mutex
	calls    map[Op]int
	failAt   map[Op]int
	failRate map[Op]float64
	rng      *rand.Rand
	// Injected counts the injected failures.
	Injected int
}

// NewFaultStore wraps inner; seed makes probabilistic faults repeatable.
func NewFaultStore(inner audit.Store, seed uint64) *FaultStore {
	return &FaultStore{Store: inner, calls: map[Op]int{}, failAt: map[Op]int{}, failRate: map[Op]float64{},
		rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995))}
}

// FailAt makes the n-th call (1-based, counted from now) of op fail.
func (f *FaultStore) FailAt(op Op, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt[op] = f.calls[op] + n
}

// FailRate makes each call of op fail with probability p.
func (f *FaultStore) FailRate(op Op, p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRate[op] = p
}

func (f *FaultStore) fault(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if f.failAt[op] == f.calls[op] || (f.failRate[op] > 0 && f.rng.Float64() < f.failRate[op]) {
		f.Injected++
		return ErrInjected
	}
	return nil
}

// Begin implements audit.Store.
func (f *FaultStore) Begin(ctx context.Context) (audit.StoreTx, error) {
	if err := f.fault(OpBegin); err != nil {
		return nil, err
	}
	tx, err := f.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &faultTx{StoreTx: tx, f: f}, nil
}

type faultTx struct {
	audit.StoreTx
	f *FaultStore
}

func (t *faultTx) Insert(ctx context.Context, r audit.Record, hs []audit.StoredHash) error {
	if err := t.f.fault(OpInsert); err != nil {
		return err
	}
	return t.StoreTx.Insert(ctx, r, hs)
}

func (t *faultTx) PutSegment(ctx context.Context, s audit.Segment) error {
	if err := t.f.fault(OpPutSegment); err != nil {
		return err
	}
	return t.StoreTx.PutSegment(ctx, s)
}

func (t *faultTx) Commit() error {
	if err := t.f.fault(OpCommit); err != nil {
		_ = t.StoreTx.Rollback()
		return err
	}
	return t.StoreTx.Commit()
}
