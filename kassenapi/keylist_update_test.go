package kassenapi_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

func TestKeyListUpdaterWithClient(t *testing.T) {
	srv := kassenapitest.NewServer(t, kassenapitest.Options{})
	pool := x509.NewCertPool()
	pool.AddCert(srv.PKI().Root.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(hc.CloseIdleConnections)
	dir := t.TempDir()
	u, err := kassenapi.NewKeyListUpdater(t.Context(), kassenapi.KeyListUpdaterConfig{URL: srv.KeyListURL(), HTTPClient: hc, SnapshotDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Get(); !errors.Is(err, kassenapi.ErrKeyListUnavailable) {
		t.Fatalf("before refresh: %v", err)
	}
	c := newClient(t, srv, func(c *kassenapi.Config) { c.Keys = u })
	// The missing key list triggers one refresh, then the check works.
	if _, err := c.ValidateCode(t.Context(), mustCode(t, kassenapitest.TestCodeValid)); err != nil {
		t.Fatal(err)
	}
	if u.Current().Len() != 5 {
		t.Fatalf("%d certificates", u.Current().Len())
	}
	// A restart without network loads the snapshot.
	u2, err := kassenapi.NewKeyListUpdater(t.Context(), kassenapi.KeyListUpdaterConfig{URL: "https://127.0.0.1:1/none", SnapshotDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer u2.Close()
	if k, err := u2.Get(); err != nil || k.Digest() != u.Current().Digest() {
		t.Fatalf("snapshot: %v", err)
	}
}

func TestKeyListGuard(t *testing.T) {
	p := testPKI(t)
	full := p.KeyList()
	one := kassenapi.NewKeyList(p.Manufacturer.Cert)
	if err := kassenapi.KeyListGuard(full, one); !errors.Is(err, kassenapi.ErrKeyListRejected) {
		t.Fatalf("shrunk list accepted: %v", err)
	}
	if err := kassenapi.KeyListGuard(nil, one); err != nil {
		t.Fatal(err)
	}
	if err := kassenapi.KeyListGuard(one, full); err != nil {
		t.Fatal(err)
	}
	// A broken download keeps the last good list.
	var bad atomic.Bool
	good := p.KeyListFile()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bad.Load() {
			_, _ = w.Write([]byte("<html>maintenance</html>"))
			return
		}
		_, _ = w.Write(good)
	}))
	defer hs.Close()
	u, err := kassenapi.NewKeyListUpdater(t.Context(), kassenapi.KeyListUpdaterConfig{URL: hs.URL, HTTPClient: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad.Store(true)
	if _, err := u.Refresh(t.Context()); err == nil {
		t.Fatal("broken list accepted")
	}
	if u.Current().Len() != 5 {
		t.Fatal("last good list lost")
	}
}
