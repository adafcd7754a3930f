package kassenapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUpdaterClosed is returned by Run and Refresh after Close.
var ErrUpdaterClosed = errors.New("kassenapi: updater closed")

// UpdateError is a failed refresh. Stage is "fetch", "unpack", "parse",
// "guard" or "store". For "unpack", "parse" and "guard" the downloaded file
// was rejected (errors.Is(err, ErrDirectoryRejected) holds for directory
// updaters) and the previous snapshot stays current.
type UpdateError struct {
	Stage string
	Err   error
}

// Error describes the failure.
func (e *UpdateError) Error() string { return "kassenapi: update " + e.Stage + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *UpdateError) Unwrap() error { return e.Err }

// UpdaterConfig configures an Updater for snapshots of type T.
type UpdaterConfig[T any] struct {
	// Source fetches the file. Required.
	Source Source
	// Parse turns the unpacked payload into a snapshot. Required.
	Parse func(payload []byte) (T, error)
	// Unpack turns a download into the payload that is hashed, parsed and
	// persisted (e.g. UnpackDirectory for ZIPs). Nil: the body as is.
	Unpack func(body []byte) ([]byte, error)
	// Accept is the guard: it returns an error to keep the old snapshot.
	// old is the zero T when there is none. Nil: accept everything that
	// parses.
	Accept func(old, new T) error
	// Digest is the canonical digest of a snapshot. When the new digest
	// equals the current one (e.g. only white space changed) the snapshot
	// is swapped without OnChange. Nil: the payload SHA-256 decides alone.
	Digest func(T) string
	// Store persists the last-known-good snapshot and is loaded by
	// NewUpdater. Nil: nothing is persisted.
	Store SnapshotStore
	// OnChange is called after a new snapshot was swapped in (not for the
	// snapshot loaded at start). old is the zero T for the first one.
	OnChange func(old, new T)
	// OnError is called for every rejected download or stored snapshot and
	// every persistence failure. Nil: errors are only returned.
	OnError func(error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Interval is the schedule of Run. Zero: 24 h.
	Interval time.Duration
	// Jitter is the relative random spread of Interval in Run (0.1 = ±10 %).
	// Zero: 0.1; negative: none.
	Jitter float64
	// Rand returns a float in [0,1) for the jitter. Nil: math/rand/v2.
	Rand func() float64
	// OnDemandInterval is the minimum time between two fetches triggered
	// by RefreshIfStale (an unknown prefix, a missing certificate). Zero:
	// 10 min.
	OnDemandInterval time.Duration
	// Unavailable is the error of Get when there is no snapshot. Nil:
	// ErrDirectoryUnavailable.
	Unavailable error
}

// UpdaterStatus reports the state of an Updater for health checks.
type UpdaterStatus struct {
	Healthy      bool      // a snapshot is available
	SHA256       string    // of the current payload
	ETag         string    // validators of the current payload
	LastModified string    //
	AcceptedAt   time.Time // when the current snapshot was accepted
	LastAttempt  time.Time // last fetch attempt
	LastSuccess  time.Time // last fetch that ended without error
	LastError    error     // error of the last attempt, nil if it succeeded
}

type updSnapshot[T any] struct {
	value   T
	snap    Snapshot
	unsaved bool // the last Save failed; retried on the next refresh
}

type updCall struct {
	done    chan struct{}
	changed bool
	err     error
}

// Updater keeps a snapshot (the endpoint directory, the key list) current:
// conditional fetch, change detection by SHA-256, parse, guard, atomic
// swap, persistence and change reports (spec A3). It starts no goroutines:
// call Refresh from a scheduler, or Run in a goroutine of your own. It is
// safe for concurrent use; Current is lock-free.
//
// REQ: kassenapi-spec:A3
type Updater[T any] struct {
	cfg     UpdaterConfig[T]
	current atomic.Pointer[updSnapshot[T]]

	mu          sync.Mutex
	inflight    *updCall
	lastAttempt time.Time
	lastSuccess time.Time
	lastErr     error
	force       string // SHA-256 to accept despite the guard

	closeOnce sync.Once
	closed    chan struct{}
	running   sync.WaitGroup
}

// NewUpdater validates cfg and loads the last-known-good snapshot from
// cfg.Store. A stored snapshot that fails to parse is reported through
// OnError and ignored; the updater then starts without a snapshot (Get
// returns cfg.Unavailable until a Refresh succeeds).
func NewUpdater[T any](ctx context.Context, cfg UpdaterConfig[T]) (*Updater[T], error) {
	if cfg.Source == nil {
		return nil, errors.New("kassenapi: UpdaterConfig.Source is required")
	}
	if cfg.Parse == nil {
		return nil, errors.New("kassenapi: UpdaterConfig.Parse is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 24 * time.Hour
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.1
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.OnDemandInterval <= 0 {
		cfg.OnDemandInterval = 10 * time.Minute
	}
	if cfg.Unavailable == nil {
		cfg.Unavailable = ErrDirectoryUnavailable
	}
	u := &Updater[T]{cfg: cfg, closed: make(chan struct{})}
	if cfg.Store != nil {
		snap, err := cfg.Store.Load(ctx)
		switch {
		case err != nil:
			u.report(&UpdateError{Stage: "store", Err: err})
		case snap != nil:
			v, err := cfg.Parse(snap.Payload)
			if err != nil {
				u.report(&UpdateError{Stage: "parse", Err: fmt.Errorf("stored snapshot: %w", err)})
				break
			}
			u.current.Store(&updSnapshot[T]{value: v, snap: *snap})
		}
	}
	return u, nil
}

func (u *Updater[T]) report(err error) {
	if u.cfg.OnError != nil {
		u.cfg.OnError(err)
	}
}

// Current returns the current snapshot, the zero T (nil for pointers) when
// there is none. It never blocks.
func (u *Updater[T]) Current() T {
	if s := u.current.Load(); s != nil {
		return s.value
	}
	var zero T
	return zero
}

// Get returns the current snapshot or cfg.Unavailable (default
// ErrDirectoryUnavailable) when there is none.
func (u *Updater[T]) Get() (T, error) {
	if s := u.current.Load(); s != nil {
		return s.value, nil
	}
	var zero T
	return zero, u.cfg.Unavailable
}

// Status reports the health of the updater.
func (u *Updater[T]) Status() UpdaterStatus {
	u.mu.Lock()
	st := UpdaterStatus{LastAttempt: u.lastAttempt, LastSuccess: u.lastSuccess, LastError: u.lastErr}
	u.mu.Unlock()
	if s := u.current.Load(); s != nil {
		st.Healthy = true
		st.SHA256, st.ETag, st.LastModified, st.AcceptedAt = s.snap.SHA256, s.snap.ETag, s.snap.LastModified, s.snap.FetchedAt
	}
	return st
}

// ForceAccept makes the next Refresh accept a download whose payload has
// this SHA-256 (hex) even when the guard refuses it: the operator's
// override for a legitimately shrunken directory.
func (u *Updater[T]) ForceAccept(sha256Hex string) {
	u.mu.Lock()
	u.force = sha256Hex
	u.mu.Unlock()
}

// Refresh fetches, checks and swaps once. It is single-flight: concurrent
// callers wait for the refresh in progress and share its result (and its
// context). changed is true when a new snapshot was swapped in. Errors are
// *UpdateError and are also passed to OnError. On a fetch, unpack, parse
// or guard error the previous snapshot stays current; a "store" error
// (persisting failed) comes with changed == true, since the new snapshot
// is in use but not yet saved.
func (u *Updater[T]) Refresh(ctx context.Context) (changed bool, err error) {
	return u.refresh(ctx, false)
}

// Update is Refresh for schedulers that only want an error, such as a
// River job's Work method: one fetch-check-swap step.
func (u *Updater[T]) Update(ctx context.Context) error {
	_, err := u.Refresh(ctx)
	return err
}

// RefreshIfStale is the on-demand refresh for an unknown prefix or a
// missing certificate: it fetches only when the last attempt is older than
// OnDemandInterval (default 10 min), so a burst of misses causes at most
// one fetch. It returns (false, nil) when it did not fetch.
func (u *Updater[T]) RefreshIfStale(ctx context.Context) (changed bool, err error) {
	return u.refresh(ctx, true)
}

func (u *Updater[T]) refresh(ctx context.Context, onlyIfStale bool) (bool, error) {
	select {
	case <-u.closed:
		return false, ErrUpdaterClosed
	default:
	}
	u.mu.Lock()
	if c := u.inflight; c != nil {
		u.mu.Unlock()
		select {
		case <-c.done:
			return c.changed, c.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	now := u.cfg.Now()
	if onlyIfStale && !u.lastAttempt.IsZero() && now.Sub(u.lastAttempt) < u.cfg.OnDemandInterval {
		u.mu.Unlock()
		return false, nil
	}
	c := &updCall{done: make(chan struct{})}
	u.inflight = c
	u.lastAttempt = now
	u.mu.Unlock()

	c.changed, c.err = u.doRefresh(ctx)

	u.mu.Lock()
	u.inflight = nil
	u.lastErr = c.err
	if c.err == nil {
		u.lastSuccess = u.cfg.Now()
	}
	u.mu.Unlock()
	close(c.done)
	if c.err != nil {
		u.report(c.err)
	}
	return c.changed, c.err
}

func (u *Updater[T]) doRefresh(ctx context.Context) (bool, error) {
	old := u.current.Load()
	var prev FetchState
	if old != nil {
		prev = FetchState{ETag: old.snap.ETag, LastModified: old.snap.LastModified}
	}
	res, err := u.cfg.Source.Fetch(ctx, prev)
	if err != nil {
		return false, &UpdateError{Stage: "fetch", Err: err}
	}
	if res.NotModified {
		if old == nil {
			return false, &UpdateError{Stage: "fetch", Err: errors.New("304 Not Modified without a snapshot")}
		}
		return false, nil
	}
	payload := res.Body
	if u.cfg.Unpack != nil {
		if payload, err = u.cfg.Unpack(res.Body); err != nil {
			return false, &UpdateError{Stage: "unpack", Err: err}
		}
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	snap := Snapshot{Payload: payload, SHA256: hash, ETag: res.ETag, LastModified: res.LastModified, FetchedAt: u.cfg.Now()}
	if old != nil && old.snap.SHA256 == hash {
		// Same content under new validators: remember them, and retry a
		// save that failed before.
		snap.FetchedAt = old.snap.FetchedAt
		if old.unsaved {
			if err := u.cfg.Store.Save(ctx, &snap); err != nil {
				u.current.Store(&updSnapshot[T]{value: old.value, snap: snap, unsaved: true})
				return false, &UpdateError{Stage: "store", Err: err}
			}
			u.current.Store(&updSnapshot[T]{value: old.value, snap: snap})
		} else if old.snap.ETag != res.ETag || old.snap.LastModified != res.LastModified {
			u.current.Store(&updSnapshot[T]{value: old.value, snap: snap})
		}
		return false, nil
	}
	v, err := u.cfg.Parse(payload)
	if err != nil {
		return false, &UpdateError{Stage: "parse", Err: err}
	}
	var oldV T
	if old != nil {
		oldV = old.value
	}
	u.mu.Lock()
	forced := u.force != "" && u.force == hash
	u.mu.Unlock()
	if u.cfg.Accept != nil && !forced {
		if err := u.cfg.Accept(oldV, v); err != nil {
			return false, &UpdateError{Stage: "guard", Err: err}
		}
	}
	if forced {
		u.mu.Lock()
		u.force = ""
		u.mu.Unlock()
	}
	var storeErr error
	if u.cfg.Store != nil {
		if err := u.cfg.Store.Save(ctx, &snap); err != nil {
			storeErr = &UpdateError{Stage: "store", Err: err}
		}
	}
	u.current.Store(&updSnapshot[T]{value: v, snap: snap, unsaved: storeErr != nil})
	same := old != nil && u.cfg.Digest != nil && u.cfg.Digest(oldV) == u.cfg.Digest(v)
	if !same && u.cfg.OnChange != nil {
		u.cfg.OnChange(oldV, v)
	}
	return !same, storeErr
}

// Run calls Refresh every Interval (± Jitter) until ctx ends or Close is
// called, and returns ctx.Err() or ErrUpdaterClosed. Refresh errors are
// reported through OnError and do not stop Run. Run blocks; start it in a
// goroutine of your own and call Close to stop it.
func (u *Updater[T]) Run(ctx context.Context) error {
	u.mu.Lock()
	select {
	case <-u.closed:
		u.mu.Unlock()
		return ErrUpdaterClosed
	default:
	}
	u.running.Add(1)
	u.mu.Unlock()
	defer u.running.Done()
	for {
		wait := u.cfg.Interval
		if u.cfg.Jitter > 0 {
			wait += time.Duration((u.cfg.Rand()*2 - 1) * u.cfg.Jitter * float64(u.cfg.Interval))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-u.closed:
			t.Stop()
			return ErrUpdaterClosed
		case <-t.C:
			_, _ = u.Refresh(ctx)
		}
	}
}

// Close stops Run and waits for it to return. It is idempotent. The
// current snapshot stays readable.
func (u *Updater[T]) Close() error {
	u.closeOnce.Do(func() {
		u.mu.Lock()
		close(u.closed)
		u.mu.Unlock()
	})
	u.running.Wait()
	return nil
}
