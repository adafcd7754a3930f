package kassenapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DirectoryChange is reported after a new directory snapshot was swapped in.
type DirectoryChange struct {
	Old  *Directory // nil for the first snapshot
	New  *Directory
	Diff DirectoryDiff // prefixes added and removed, endpoints and IKs changed
}

// DirectoryUpdaterConfig configures NewDirectoryUpdater. Only one of URL
// and Source is needed.
type DirectoryUpdaterConfig struct {
	// URL of the directory (raw XML or ZIP). Used when Source is nil.
	URL string
	// HTTPClient for URL. Nil: a private client with a 60 s timeout.
	HTTPClient *http.Client
	// Source overrides URL (a file, an embedded copy, a test source).
	Source Source
	// SnapshotDir is where the last-known-good copy is kept (file
	// "Krankenkassenverzeichnis_DiGA.xml" plus ".json" metadata). Empty:
	// no persistence unless Store is set.
	SnapshotDir string
	// Store overrides SnapshotDir (e.g. a database row).
	Store SnapshotStore
	// Options are the parse options (AllowTestEndpoints for fakes).
	Options DirectoryOptions
	// Guard decides whether a parsed directory replaces the current one.
	// Nil: DirectoryGuard.
	Guard func(old, new *Directory) error
	// OnChange receives every accepted change with its diff.
	OnChange func(DirectoryChange)
	// OnError receives every rejected download and persistence failure.
	OnError func(error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Interval, Jitter and OnDemandInterval as in UpdaterConfig (24 h,
	// ±10 %, 10 min).
	Interval         time.Duration
	Jitter           float64
	OnDemandInterval time.Duration
}

// NewDirectoryUpdater returns an Updater for the endpoint directory and
// loads the last-known-good snapshot. The result satisfies the directory
// interface of the client (Current, Refresh).
func NewDirectoryUpdater(ctx context.Context, cfg DirectoryUpdaterConfig) (*Updater[*Directory], error) {
	src := cfg.Source
	if src == nil {
		if cfg.URL == "" {
			return nil, errors.New("kassenapi: DirectoryUpdaterConfig needs URL or Source")
		}
		src = &HTTPSource{URL: cfg.URL, Client: cfg.HTTPClient}
	}
	store := cfg.Store
	if store == nil && cfg.SnapshotDir != "" {
		store = FileSnapshotStore{Dir: cfg.SnapshotDir, Name: "Krankenkassenverzeichnis_DiGA.xml"}
	}
	guard := cfg.Guard
	if guard == nil {
		guard = DirectoryGuard
	}
	ucfg := UpdaterConfig[*Directory]{
		Source: src,
		Unpack: UnpackDirectory,
		Parse: func(b []byte) (*Directory, error) {
			d, _, err := cfg.Options.Parse(b)
			return d, err
		},
		Accept:           guard,
		Digest:           func(d *Directory) string { return d.Digest() },
		Store:            store,
		OnError:          cfg.OnError,
		Now:              cfg.Now,
		Interval:         cfg.Interval,
		Jitter:           cfg.Jitter,
		OnDemandInterval: cfg.OnDemandInterval,
	}
	if cfg.OnChange != nil {
		ucfg.OnChange = func(old, new *Directory) {
			cfg.OnChange(DirectoryChange{Old: old, New: new, Diff: DiffDirectories(old, new)})
		}
	}
	return NewUpdater(ctx, ucfg)
}

// GuardError is a directory refused by DirectoryGuard. errors.Is(err,
// ErrDirectoryRejected) holds.
type GuardError struct {
	Reason string
}

// Error describes why the directory was refused.
func (e *GuardError) Error() string {
	return "kassenapi: directory refused by update guard: " + e.Reason
}

// Unwrap returns ErrDirectoryRejected.
func (e *GuardError) Unwrap() error { return ErrDirectoryRejected }

// DirectoryGuard is the default update guard (spec A3 "Updater guards"):
// it refuses a new directory with no usable entry, with fewer than 80 % of
// the previous entries, or in which more than 20 % of the previous
// prefixes disappeared. old may be nil (first download): then only the
// first rule applies. Operators override with Updater.ForceAccept.
//
// REQ: kassenapi-spec:A3
func DirectoryGuard(old, new *Directory) error {
	if new == nil || new.Usable() == 0 {
		return &GuardError{Reason: "no usable entry"}
	}
	if old == nil || old.Len() == 0 {
		return nil
	}
	if new.Len()*5 < old.Len()*4 {
		return &GuardError{Reason: fmt.Sprintf("%d entries, fewer than 80%% of the previous %d", new.Len(), old.Len())}
	}
	gone := 0
	oldP := old.Prefixes()
	for _, p := range oldP {
		if _, ok := new.byPrefix[p]; !ok {
			gone++
		}
	}
	if gone*5 > len(oldP) {
		return &GuardError{Reason: fmt.Sprintf("%d of %d prefixes disappeared (more than 20%%)", gone, len(oldP))}
	}
	return nil
}
