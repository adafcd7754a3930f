package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// KeyPair is a server certificate chain and key loaded from PEM files
// that can be reloaded while the server runs (certificate renewal without
// restart). Handshakes read it through GetCertificate; a failed reload
// keeps the previous pair.
type KeyPair struct {
	profile           Profile
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
	mu                sync.Mutex // serialises reloads
	stamp             [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// LoadKeyPair loads certFile (PEM chain, leaf first) and keyFile (PEM
// key) and checks the leaf key against profile p. Errors name the files,
// never their content.
func LoadKeyPair(p Profile, certFile, keyFile string) (*KeyPair, error) {
	k := &KeyPair{profile: p, certFile: certFile, keyFile: keyFile}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the files again; on any error the current pair stays in
// use and the error is returned.
func (k *KeyPair) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := [2]fileStamp{stamp(k.certFile), stamp(k.keyFile)}
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("tlsconf: cannot read %s: %v", pe.Path, pe.Err)
		}
		return fmt.Errorf("tlsconf: cannot load certificate %s and its key (check the PEM files and that they match)", k.certFile)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return errors.New("tlsconf: certificate does not parse")
		}
	}
	if err := checkCertificate(k.profile, &c); err != nil {
		return err
	}
	k.cur.Store(&c)
	k.stamp = st
	return nil
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}
}

// Changed reports whether either file's modification time or size
// differs from the last successful load.
func (k *KeyPair) Changed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return stamp(k.certFile) != k.stamp[0] || stamp(k.keyFile) != k.stamp[1]
}

// Watch reloads the pair whenever Changed reports a change, checking
// every interval (zero means one minute), until ctx ends. Reload errors
// go to onErr (may be nil) and the old pair stays in use. It blocks; run
// it in a goroutine owned by the caller.
func (k *KeyPair) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if k.Changed() {
				if err := k.Reload(); err != nil && onErr != nil {
					onErr(err)
				}
			}
		}
	}
}

// Certificate returns the pair in use.
func (k *KeyPair) Certificate() *tls.Certificate { return k.cur.Load() }

// GetCertificate is the tls.Config hook serving the pair in use.
func (k *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cur.Load(), nil
}

// Server returns the server configuration of profile p with the
// certificate from certFile/keyFile, reloadable through the returned
// KeyPair (Reload, Watch). clientCAs, when set, requires client
// certificates (mTLS). Strict fails with ErrFIPSRequired unless
// crypto/fips140 is enabled.
//
// REQ: TR03161-3:O.Cryp_8, TR03161-3:O.Ntwk_4
func Server(p Profile, certFile, keyFile string, clientCAs *x509.CertPool) (*tls.Config, *KeyPair, error) {
	tc, err := serverBase(p, clientCAs)
	if err != nil {
		return nil, nil, err
	}
	kp, err := LoadKeyPair(p, certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	tc.GetCertificate = kp.GetCertificate
	return tc, kp, nil
}

// LoadCertPool reads PEM certificates (a client CA or outbound roots).
func LoadCertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("tlsconf: cannot read %s: %v", pe.Path, pe.Err)
		}
		return nil, errors.New("tlsconf: cannot read the CA file")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tlsconf: %s holds no PEM certificate", file)
	}
	return pool, nil
}
