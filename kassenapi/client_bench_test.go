package kassenapi_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

func loadKey(tb testing.TB, name string) *rsa.PrivateKey {
	tb.Helper()
	b, err := os.ReadFile("testdata/client/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

var (
	pki4096Once sync.Once
	pki4096     *kassenapitest.PKI
)

// rsa4096PKI uses RSA-4096 keys (from testdata) for the manufacturer and
// clearing office A, the keys that do the SECON private-key operations.
func rsa4096PKI(b *testing.B) *kassenapitest.PKI {
	pki4096Once.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				b.Fatal(err)
			}
			return k
		}
		// order: Root, CA, Manufacturer, Previous, ClearingA, ClearingB, Rogue
		keys := []*rsa.PrivateKey{gen(), gen(), loadKey(b, "rsa4096-manufacturer.pem"), gen(), loadKey(b, "rsa4096-clearing-a.pem"), gen(), gen()}
		p, err := kassenapitest.NewPKI(kassenapitest.PKIOptions{Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		pki4096 = p
	})
	return pki4096
}

// BenchmarkSECONRoundTrip: one ValidateCode against the fake with zero
// latency: build, sign, encrypt, HTTPS (kept alive), the fake's decrypt,
// verify, answer, sign, encrypt, then our decrypt, verify and parse, with
// RSA-4096 keys on both sides. Compare with BenchmarkSECONBareRSA4096.
func BenchmarkSECONRoundTrip(b *testing.B) {
	p := rsa4096PKI(b)
	srv := kassenapitest.NewServer(b, kassenapitest.Options{PKI: p})
	c := newClient(b, srv, nil)
	code := mustCode(b, kassenapitest.TestCodeValid)
	if _, err := c.ValidateCode(b.Context(), code); err != nil { // warm up the connection
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ValidateCode(b.Context(), code); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSECONBareRSA4096: the four RSA-4096 private-key operations of
// one round trip and nothing else: our PSS signature, the insurer's OAEP
// decryption and PSS signature, our OAEP decryption.
func BenchmarkSECONBareRSA4096(b *testing.B) {
	man, clr := loadKey(b, "rsa4096-manufacturer.pem"), loadKey(b, "rsa4096-clearing-a.pem")
	digest := sha256.Sum256([]byte("x"))
	pss := &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
	key := make([]byte, 32)
	ctToClr, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &clr.PublicKey, key, nil)
	ctToMan, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &man.PublicKey, key, nil)
	oaep := &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := man.Sign(rand.Reader, digest[:], pss); err != nil {
			b.Fatal(err)
		}
		if _, err := clr.Decrypt(rand.Reader, ctToClr, oaep); err != nil {
			b.Fatal(err)
		}
		if _, err := clr.Sign(rand.Reader, digest[:], pss); err != nil {
			b.Fatal(err)
		}
		if _, err := man.Decrypt(rand.Reader, ctToMan, oaep); err != nil {
			b.Fatal(err)
		}
	}
}

// rssKB reads the resident set size of this process.
func rssKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return -1
}

// TestThousandConcurrentValidations: 1,000 concurrent ValidateCode calls
// against a fake with 5 s latency all complete, RSS stays under 100 MB and
// no goroutine leaks (spec A6). It takes ~10–20 s, so it runs only with
// DIGAKIT_LONG=1.
func TestThousandConcurrentValidations(t *testing.T) {
	if os.Getenv("DIGAKIT_LONG") != "1" {
		t.Skip("set DIGAKIT_LONG=1 to run the 1,000-call load test")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const n, latency = 1000, 5 * time.Second
	srv, err := kassenapitest.Start(kassenapitest.Options{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.ClientConfig()
	cfg.CheckTimeout = 2 * time.Minute
	c, err := kassenapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]kassenapi.Code, n)
	for i := range codes {
		codes[i] = kassenapitest.NewCode("ZZ")
		srv.AddCode(codes[i], kassenapitest.State{})
	}
	runtime.GC()
	base := rssKB("VmRSS")
	var peak int
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				peak = max(peak, rssKB("VmRSS"))
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = c.ValidateCode(t.Context(), codes[i]) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if failed < 5 {
				t.Error(err)
			}
		}
	}
	t.Logf("%d calls, %d failed, wall %v, RSS before %d KB, peak %d KB, goroutines %d", n, failed, elapsed.Round(time.Millisecond), base, peak, runtime.NumGoroutine())
	if failed > 0 {
		t.Fatalf("%d of %d calls failed", failed, n)
	}
	if peak > 100*1024 {
		t.Errorf("peak RSS %d KB exceeds 100 MB", peak)
	}
	c.CloseIdleConnections()
	_ = srv.Close()
}
