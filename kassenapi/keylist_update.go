package kassenapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// DefaultKeyListURL is the ITSG key list of the data-acceptance offices
// named in spec A2.7 (published 2022, unverified today; configure it).
const DefaultKeyListURL = "https://trustcenter-data.itsg.de/dale/annahme-rsa4096.key"

// ErrKeyListUnavailable: no key list snapshot is available yet.
var ErrKeyListUnavailable = errors.New("kassenapi: no key list available")

// ErrKeyListRejected: a downloaded key list failed the guard.
var ErrKeyListRejected = errors.New("kassenapi: key list rejected")

// Digest is the hex SHA-256 over the sorted certificate hashes: equal for
// equal certificate sets, whatever the layout of the file.
func (k *KeyList) Digest() string {
	hs := make([]string, 0, len(k.certs))
	for _, c := range k.certs {
		h := sha256.Sum256(c.Cert.Raw)
		hs = append(hs, hex.EncodeToString(h[:]))
	}
	slices.Sort(hs)
	h := sha256.New()
	for _, s := range hs {
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IKs returns the distinct IKs of the list, sorted.
func (k *KeyList) IKs() []string {
	out := make([]string, 0, len(k.byIK))
	for ik := range k.byIK {
		out = append(out, ik)
	}
	slices.Sort(out)
	return out
}

// KeyListGuard keeps the old key list when the new one lost more than 20 %
// of the IKs (a truncated or foreign download), like DirectoryGuard.
func KeyListGuard(old, new *KeyList) error {
	if new == nil || new.Len() == 0 {
		return fmt.Errorf("%w: no certificates", ErrKeyListRejected)
	}
	if old == nil || old.Len() == 0 {
		return nil
	}
	gone := 0
	for _, ik := range old.IKs() {
		if len(new.byIK[ik]) == 0 {
			gone++
		}
	}
	if gone*5 > len(old.byIK) {
		return fmt.Errorf("%w: %d of %d IKs disappeared", ErrKeyListRejected, gone, len(old.byIK))
	}
	return nil
}

// KeyListUpdaterConfig configures NewKeyListUpdater. Only one of URL and
// Source is needed.
type KeyListUpdaterConfig struct {
	// URL of the key list; used when Source is nil.
	URL string
	// HTTPClient for URL. Nil: a private client with a 60 s timeout.
	HTTPClient *http.Client
	// Source overrides URL.
	Source Source
	// SnapshotDir keeps the last-known-good copy ("annahme-rsa4096.key").
	SnapshotDir string
	// Store overrides SnapshotDir.
	Store SnapshotStore
	// Guard decides whether a new list replaces the current one. Nil:
	// KeyListGuard.
	Guard func(old, new *KeyList) error
	// OnChange receives accepted changes; OnError rejected downloads.
	OnChange func(old, new *KeyList)
	OnError  func(error)
	// Now, Interval (default 24 h), Jitter and OnDemandInterval as in
	// UpdaterConfig.
	Now              func() time.Time
	Interval         time.Duration
	Jitter           float64
	OnDemandInterval time.Duration
}

// NewKeyListUpdater returns an Updater for the ITSG key list (spec A3 item
// 3: refresh daily with the same updater as the directory). The result
// satisfies Config.Keys, including the on-demand Refresh.
//
// REQ: kassenapi-spec:A3
func NewKeyListUpdater(ctx context.Context, cfg KeyListUpdaterConfig) (*Updater[*KeyList], error) {
	src := cfg.Source
	if src == nil {
		if cfg.URL == "" {
			return nil, errors.New("kassenapi: KeyListUpdaterConfig needs URL or Source")
		}
		src = &HTTPSource{URL: cfg.URL, Client: cfg.HTTPClient}
	}
	store := cfg.Store
	if store == nil && cfg.SnapshotDir != "" {
		store = FileSnapshotStore{Dir: cfg.SnapshotDir, Name: "annahme-rsa4096.key"}
	}
	guard := cfg.Guard
	if guard == nil {
		guard = KeyListGuard
	}
	return NewUpdater(ctx, UpdaterConfig[*KeyList]{
		Source: src,
		Parse: func(b []byte) (*KeyList, error) {
			k, _, err := ParseKeyList(b)
			return k, err
		},
		Accept:           guard,
		Digest:           func(k *KeyList) string { return k.Digest() },
		Store:            store,
		OnChange:         cfg.OnChange,
		OnError:          cfg.OnError,
		Now:              cfg.Now,
		Interval:         cfg.Interval,
		Jitter:           cfg.Jitter,
		OnDemandInterval: cfg.OnDemandInterval,
		Unavailable:      ErrKeyListUnavailable,
	})
}
