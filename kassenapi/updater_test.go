package kassenapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

type updRecorder struct {
	mu      sync.Mutex
	changes []kassenapi.DirectoryChange
	errs    []error
}

func (r *updRecorder) change(c kassenapi.DirectoryChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *updRecorder) err(e error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, e)
}

func (r *updRecorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.changes), len(r.errs)
}

func newTestUpdater(t *testing.T, url string, client *kassenapitest.DirectoryServer, dir string, rec *updRecorder) *kassenapi.Updater[*kassenapi.Directory] {
	t.Helper()
	cfg := kassenapi.DirectoryUpdaterConfig{
		URL: url, SnapshotDir: dir, Options: kassenapi.DirectoryOptions{AllowTestEndpoints: true},
		OnChange: rec.change, OnError: rec.err,
	}
	if client != nil {
		cfg.HTTPClient = client.Client()
	}
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

// TestUpdaterFetchDiffSwap: conditional GET, change callback with diff,
// endpoint change reported, last-known-good persisted (spec A3).
func TestUpdaterFetchDiffSwap(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs after the server and updater are closed
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{TLS: true})
	dir := t.TempDir()
	rec := &updRecorder{}
	u := newTestUpdater(t, srv.ZIPURL(), srv, dir, rec)
	if u.Current() != nil || u.Status().Healthy {
		t.Fatal("snapshot before first fetch")
	}
	if _, err := u.Get(); !errors.Is(err, kassenapi.ErrDirectoryUnavailable) {
		t.Fatalf("Get before fetch: %v", err)
	}
	changed, err := u.Refresh(t.Context())
	if err != nil || !changed {
		t.Fatalf("first refresh: %v %v", changed, err)
	}
	first := u.Current()
	if first.Len() != 6 || len(rec.changes) != 1 || rec.changes[0].Old != nil || len(rec.changes[0].Diff.Added) != 6 {
		t.Fatalf("first change: %+v", rec.changes)
	}
	// Unchanged: a 304, no callback.
	changed, err = u.Refresh(t.Context())
	if err != nil || changed || srv.NotModified() != 1 || u.Current() != first {
		t.Fatalf("second refresh: changed=%v err=%v 304s=%d", changed, err, srv.NotModified())
	}
	// The last-known-good copy is on disk and is the unpacked XML.
	if b, err := os.ReadFile(filepath.Join(dir, "Krankenkassenverzeichnis_DiGA.xml")); err != nil || string(b) != string(srv.Current()) {
		t.Fatalf("snapshot file: %v", err)
	}
	// Remove ZW and move ZZ: reported with a diff.
	entries := kassenapitest.DefaultDirectoryEntries("diga-a.kasse.example", "diga-b.kasse.example")
	entries[0].Endpoint = "diga-neu.kasse.example"
	srv.SetEntries(append(entries[:4:4], entries[5]))
	changed, err = u.Refresh(t.Context())
	if err != nil || !changed {
		t.Fatalf("third refresh: %v %v", changed, err)
	}
	c := rec.changes[1]
	if c.Old != first || c.New != u.Current() || len(c.Diff.Removed) != 1 || c.Diff.Removed[0] != "ZW" ||
		len(c.Diff.EndpointChanged()) != 1 || c.Diff.EndpointChanged()[0] != "ZZ" {
		t.Fatalf("diff = %+v", c.Diff)
	}
	if e, err := u.Current().Lookup("ZZ", kassenapi.DateOf(time.Now())); err != nil || e.URL != "https://diga-neu.kasse.example/diga" {
		t.Fatalf("ZZ after swap: %q %v", e.URL, err)
	}
	st := u.Status()
	if !st.Healthy || st.ETag == "" || st.LastError != nil || st.SHA256 == "" {
		t.Errorf("status %+v", st)
	}
}

// TestUpdaterSurvivesBadDownloads: every broken file or failed fetch keeps
// the last good snapshot and reports the error (spec A4).
func TestUpdaterSurvivesBadDownloads(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	rec := &updRecorder{}
	u := newTestUpdater(t, srv.XMLURL(), nil, t.TempDir(), rec)
	if _, err := u.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	good := u.Current()
	tests := []struct {
		fault    kassenapitest.DirectoryFault
		stage    string
		rejected bool
	}{
		{kassenapitest.DirectoryTruncated, "parse", true},
		{kassenapitest.DirectoryNotXML, "parse", true},
		{kassenapitest.DirectoryWrongNamespace, "parse", true},
		{kassenapitest.DirectoryAllBadEntries, "parse", true},
		{kassenapitest.DirectoryEmptyList, "parse", true},
		{kassenapitest.DirectoryZIPTwoXML, "unpack", true},
		{kassenapitest.DirectoryNotFound, "fetch", false},
		{kassenapitest.DirectoryServerError, "fetch", false},
	}
	for i, tt := range tests {
		srv.SetFault(tt.fault)
		changed, err := u.Refresh(t.Context())
		var ue *kassenapi.UpdateError
		if changed || !errors.As(err, &ue) || ue.Stage != tt.stage {
			t.Errorf("fault %d: changed=%v err=%v", tt.fault, changed, err)
			continue
		}
		if errors.Is(err, kassenapi.ErrDirectoryRejected) != tt.rejected {
			t.Errorf("fault %d: rejected=%v, want %v", tt.fault, !tt.rejected, tt.rejected)
		}
		var fe *kassenapi.FetchError
		if !tt.rejected && (!errors.As(err, &fe) || fe.Status == 0) {
			t.Errorf("fault %d: want *FetchError with status, got %v", tt.fault, err)
		}
		if u.Current() != good {
			t.Errorf("fault %d: snapshot replaced", tt.fault)
		}
		if _, nerr := rec.counts(); nerr != i+1 {
			t.Errorf("fault %d: OnError called %d times, want %d", tt.fault, nerr, i+1)
		}
		if u.Status().LastError == nil {
			t.Errorf("fault %d: status without error", tt.fault)
		}
	}
	// The network is down.
	srv.Close()
	if _, err := u.Refresh(t.Context()); err == nil || u.Current() != good {
		t.Fatalf("server down: %v", err)
	}
}

// TestUpdaterGuardAndForceAccept: a directory that lost most entries is
// refused until an operator forces its SHA-256.
func TestUpdaterGuardAndForceAccept(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	rec := &updRecorder{}
	u := newTestUpdater(t, srv.XMLURL(), nil, "", rec)
	if _, err := u.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	good := u.Current()
	small := kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")[:3])
	srv.Set(small)
	_, err := u.Refresh(t.Context())
	var ge *kassenapi.GuardError
	if !errors.As(err, &ge) || !errors.Is(err, kassenapi.ErrDirectoryRejected) || u.Current() != good {
		t.Fatalf("guard: %v", err)
	}
	sum := sha256.Sum256(small)
	u.ForceAccept(hex.EncodeToString(sum[:]))
	changed, err := u.Refresh(t.Context())
	if err != nil || !changed || u.Current().Len() != 3 {
		t.Fatalf("forced: %v %v", changed, err)
	}
	// Guard rules directly.
	six := good
	five, _, _ := kassenapi.DirectoryOptions{}.Parse(kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")[:5]))
	if err := kassenapi.DirectoryGuard(six, five); err != nil {
		t.Errorf("5 of 6 refused: %v", err)
	}
	renamed := kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")
	renamed[0].Prefix, renamed[1].Prefix = "QA", "QB"
	moved, _, _ := kassenapi.DirectoryOptions{}.Parse(kassenapitest.DirectoryXML(renamed))
	if err := kassenapi.DirectoryGuard(six, moved); err == nil {
		t.Error("2 of 6 prefixes gone accepted")
	}
	if err := kassenapi.DirectoryGuard(nil, five); err != nil {
		t.Errorf("first directory refused: %v", err)
	}
	if err := kassenapi.DirectoryGuard(six, nil); err == nil {
		t.Error("nil directory accepted")
	}
}

// TestUpdaterRestartFromSnapshot: a restart works without network.
func TestUpdaterRestartFromSnapshot(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	dir := t.TempDir()
	u1 := newTestUpdater(t, srv.ZIPURL(), nil, dir, &updRecorder{})
	if _, err := u1.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	digest := u1.Current().Digest()
	etag := u1.Status().ETag
	u1.Close()
	srv.Close()

	rec := &updRecorder{}
	u2 := newTestUpdater(t, srv.ZIPURL(), nil, dir, rec)
	if u2.Current() == nil || u2.Current().Digest() != digest || u2.Status().ETag != etag {
		t.Fatal("snapshot not loaded")
	}
	if _, err := u2.Refresh(t.Context()); err == nil {
		t.Fatal("refresh with the source down succeeded")
	}
	if u2.Current() == nil || u2.Current().Digest() != digest {
		t.Fatal("snapshot lost after a failed refresh")
	}
	if nchg, _ := rec.counts(); nchg != 0 {
		t.Error("OnChange called for the loaded snapshot")
	}
	// A corrupted copy is not trusted.
	if err := os.WriteFile(filepath.Join(dir, "Krankenkassenverzeichnis_DiGA.xml"), []byte("<x/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec3 := &updRecorder{}
	u3 := newTestUpdater(t, srv.ZIPURL(), nil, dir, rec3)
	if _, err := u3.Get(); !errors.Is(err, kassenapi.ErrDirectoryUnavailable) {
		t.Fatalf("corrupt snapshot loaded: %v", err)
	}
	if _, nerr := rec3.counts(); nerr != 1 {
		t.Errorf("corrupt snapshot not reported: %d", nerr)
	}
}

type countingSource struct {
	calls   atomic.Int32
	release chan struct{}
	body    []byte
}

func (s *countingSource) Fetch(ctx context.Context, _ kassenapi.FetchState) (kassenapi.FetchResult, error) {
	s.calls.Add(1)
	if s.release != nil {
		select {
		case <-s.release:
		case <-ctx.Done():
			return kassenapi.FetchResult{}, ctx.Err()
		}
	}
	return kassenapi.FetchResult{Body: s.body}, nil
}

// TestUpdaterOnDemandSingleFlight: 100 concurrent unknown prefixes cause
// exactly one fetch, and a second burst within 10 min none (spec A6).
func TestUpdaterOnDemandSingleFlight(t *testing.T) {
	src := &countingSource{release: make(chan struct{}), body: kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))}
	now := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{Source: src, Now: func() time.Time { return *clock.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var wg sync.WaitGroup
	var changedN atomic.Int32
	for range 100 {
		wg.Go(func() {
			changed, err := u.RefreshIfStale(t.Context())
			if err != nil {
				t.Error(err)
			}
			if changed {
				changedN.Add(1)
			}
		})
	}
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others queue on the flight
	close(src.release)
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	if u.Current() == nil || changedN.Load() == 0 {
		t.Fatal("no snapshot after the burst")
	}
	if _, err := u.RefreshIfStale(t.Context()); err != nil || src.calls.Load() != 1 {
		t.Fatalf("second burst fetched: %d", src.calls.Load())
	}
	later := now.Add(11 * time.Minute)
	clock.Store(&later)
	if _, err := u.RefreshIfStale(t.Context()); err != nil || src.calls.Load() != 2 {
		t.Fatalf("after 11 min: calls %d err %v", src.calls.Load(), err)
	}
}

// TestUpdaterWhitespaceOnlyChange: a new file with the same canonical
// digest is swapped silently.
func TestUpdaterWhitespaceOnlyChange(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	rec := &updRecorder{}
	u := newTestUpdater(t, srv.XMLURL(), nil, "", rec)
	if _, err := u.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Set(append(srv.Current(), "\n\n<!-- re-exported -->\n"...))
	changed, err := u.Refresh(t.Context())
	if err != nil || changed {
		t.Fatalf("whitespace change: %v %v", changed, err)
	}
	if nchg, _ := rec.counts(); nchg != 1 {
		t.Errorf("OnChange calls = %d, want 1", nchg)
	}
}

// TestUpdaterRunSchedule runs the scheduler under testing/synctest: the
// first refresh comes after Interval minus the jitter, Close stops Run.
func TestUpdaterRunSchedule(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, func(t *testing.T) {
		src := &countingSource{body: kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))}
		u, err := kassenapi.NewUpdater(t.Context(), kassenapi.UpdaterConfig[*kassenapi.Directory]{
			Source: src, Parse: func(b []byte) (*kassenapi.Directory, error) { d, _, err := kassenapi.ParseDirectory(b); return d, err },
			Interval: 24 * time.Hour, Jitter: 0.1, Rand: func() float64 { return 0 }, // -10 %
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- u.Run(context.Background()) }()
		time.Sleep(21*time.Hour + 35*time.Minute) // 21.6 h minus 1 min
		synctest.Wait()
		if n := src.calls.Load(); n != 0 {
			t.Fatalf("fetched %d times before 21.6 h", n)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("fetches after 21.6 h = %d, want 1", n)
		}
		time.Sleep(21*time.Hour + 36*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("fetches after 43.2 h = %d, want 2", n)
		}
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, kassenapi.ErrUpdaterClosed) {
			t.Fatalf("Run returned %v", err)
		}
		if err := u.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
		if _, err := u.Refresh(t.Context()); !errors.Is(err, kassenapi.ErrUpdaterClosed) {
			t.Fatalf("Refresh after Close: %v", err)
		}
		if err := u.Run(t.Context()); !errors.Is(err, kassenapi.ErrUpdaterClosed) {
			t.Fatalf("Run after Close: %v", err)
		}
	})
}

// TestUpdaterConcurrentReaders reads snapshots while refreshes swap them
// (run with -race): readers always see a complete directory.
func TestUpdaterConcurrentReaders(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	u := newTestUpdater(t, srv.XMLURL(), srv, "", &updRecorder{})
	if _, err := u.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	day := kassenapi.MustDate("2024-06-01")
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					time.Sleep(50 * time.Microsecond)
				}
				d := u.Current()
				if d == nil || d.Usable() == 0 {
					t.Error("incomplete snapshot")
					return
				}
				if _, err := d.Lookup("ZU", day); err != nil && !errors.Is(err, kassenapi.ErrInsurerInsolvent) {
					t.Error(err)
					return
				}
			}
		})
	}
	versions := []string{kassenapitest.VersionInsolvency, kassenapitest.VersionBase, kassenapitest.VersionPrefixAdded, kassenapitest.VersionV2}
	for i := range 20 {
		if err := srv.UseVersion(versions[i%len(versions)]); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Refresh(t.Context()); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestFileSource: an operator-supplied copy, with NotModified by mtime.
func TestFileSource(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dir.zip")
	if err := os.WriteFile(p, kassenapitest.ZipDirectory(kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{Source: kassenapi.FileSource{Path: p}})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if changed, err := u.Refresh(t.Context()); err != nil || !changed || u.Current().Len() != 6 {
		t.Fatalf("first: %v %v", changed, err)
	}
	if changed, err := u.Refresh(t.Context()); err != nil || changed {
		t.Fatalf("unchanged file: %v %v", changed, err)
	}
	var fe *kassenapi.FetchError
	if _, err := (kassenapi.FileSource{Path: p + ".missing"}).Fetch(t.Context(), kassenapi.FetchState{}); !errors.As(err, &fe) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := (kassenapi.FileSource{Path: p, MaxSize: 10}).Fetch(t.Context(), kassenapi.FetchState{}); !errors.As(err, &fe) {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestUpdaterUpdateStep(t *testing.T) {
	src := &countingSource{body: kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))}
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Update(t.Context()); err != nil || u.Current() == nil || src.calls.Load() != 1 {
		t.Fatalf("Update: %v", err)
	}
	if _, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{}); err == nil {
		t.Error("config without URL or Source accepted")
	}
	if _, err := kassenapi.NewUpdater(t.Context(), kassenapi.UpdaterConfig[int]{Source: src}); err == nil {
		t.Error("config without Parse accepted")
	}
}

// TestUpdaterSlowBodyTimeout: a server that stalls mid-body hits the
// client timeout; the old snapshot stays.
func TestUpdaterSlowBodyTimeout(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{SlowDelay: time.Minute})
	client := srv.Client()
	client.Timeout = time.Second // generous for loaded CI machines; the stall is a minute
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{URL: srv.ZIPURL(), HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.Update(t.Context()); err != nil {
		t.Fatal(err)
	}
	good := u.Current()
	srv.SetEntries(kassenapitest.DefaultDirectoryEntries("neu.kasse.example", "b.kasse.example"))
	srv.SetFault(kassenapitest.DirectorySlowBody)
	err = u.Update(t.Context())
	var fe *kassenapi.FetchError
	if !errors.As(err, &fe) || fe.Status != 0 || u.Current() != good {
		t.Fatalf("slow body: %v", err)
	}
	srv.SetFault(kassenapitest.DirectoryOK)
	if err := u.Update(t.Context()); err != nil || u.Current() == good {
		t.Fatalf("after recovery: %v", err)
	}
}

type failingStore struct{ saves atomic.Int32 }

func (s *failingStore) Load(context.Context) (*kassenapi.Snapshot, error) { return nil, nil }
func (s *failingStore) Save(context.Context, *kassenapi.Snapshot) error {
	s.saves.Add(1)
	return errors.New("disk full")
}

// TestUpdaterStoreFailure: a failed save keeps the new snapshot in use and
// reports a "store" error.
func TestUpdaterStoreFailure(t *testing.T) {
	src := &countingSource{body: kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))}
	st := &failingStore{}
	rec := &updRecorder{}
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{Source: src, Store: st, OnError: rec.err, OnChange: rec.change})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := u.Refresh(t.Context())
	var ue *kassenapi.UpdateError
	if !changed || !errors.As(err, &ue) || ue.Stage != "store" || u.Current() == nil || st.saves.Load() != 1 {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if nchg, nerr := rec.counts(); nchg != 1 || nerr != 1 {
		t.Errorf("callbacks: %d changes, %d errors", nchg, nerr)
	}
	// The next refresh of the same content retries the save.
	if changed, err := u.Refresh(t.Context()); changed || !errors.As(err, &ue) || ue.Stage != "store" || st.saves.Load() != 2 {
		t.Fatalf("retry: changed=%v err=%v saves=%d", changed, err, st.saves.Load())
	}
}

func TestHTTPSourceErrors(t *testing.T) {
	var fe *kassenapi.FetchError
	for _, u := range []string{"ftp://example.org/x", "::", "https://user:secret@127.0.0.1:1/x?token=abc"} {
		_, err := (&kassenapi.HTTPSource{URL: u}).Fetch(t.Context(), kassenapi.FetchState{})
		if !errors.As(err, &fe) {
			t.Fatalf("%s: %v", u, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "token") {
			t.Errorf("error leaks URL secrets: %v", err)
		}
	}
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	_, err := (&kassenapi.HTTPSource{URL: srv.XMLURL(), Client: srv.Client(), MaxSize: 100}).Fetch(t.Context(), kassenapi.FetchState{})
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("size cap: %v", err)
	}
}
