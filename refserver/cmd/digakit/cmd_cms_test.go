package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

func cmsFixtures(t *testing.T) (dir string, p *kassenapitest.PKI) {
	t.Helper()
	p, err := kassenapitest.DefaultPKI()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	w := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, b := p.Manufacturer, p.Clearing[kassenapitest.ClearingIKA]
	w("a.key", keyPEMOf(t, a.Key))
	w("a.crt", certPEMOf(a.Cert))
	w("b.key", keyPEMOf(t, b.Key))
	w("b.crt", certPEMOf(b.Cert))
	w("ca.crt", p.CAPEM()+certPEMOf(p.CA.Cert))
	w("c.crt", certPEMOf(p.Clearing[kassenapitest.ClearingIKB].Cert))
	w("payload.xml", "<Pruefung_Freischaltcode/>")
	return dir, p
}

func TestCMSSealOpen(t *testing.T) {
	dir, _ := cmsFixtures(t)
	f := func(n string) string { return filepath.Join(dir, n) }
	sealed, errs, code := runCLI(t, "", "cms", "seal", "--key", f("a.key"), "--cert", f("a.crt"), "--to", f("b.crt"), f("payload.xml"))
	if code != exitOK || errs != "" || !strings.HasPrefix(sealed, "\x30") {
		t.Fatalf("seal: %d %q", code, errs)
	}
	if err := os.WriteFile(f("msg.der"), []byte(sealed), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "", "cms", "open", "--key", f("b.key"), "--cert", f("b.crt"), "--verify", f("a.crt"), f("msg.der"))
	if code != exitOK || out != "<Pruefung_Freischaltcode/>" {
		t.Fatalf("open: %d %q %q", code, out, errs)
	}
	// stdin, no verification
	if out, _, code := runCLI(t, sealed, "cms", "open", "--key", f("b.key"), "--cert", f("b.crt"), "-"); code != exitOK || out != "<Pruefung_Freischaltcode/>" {
		t.Fatalf("open stdin: %d", code)
	}
	// wrong signer expected → 1
	if _, errs, code := runCLI(t, "", "cms", "open", "--key", f("b.key"), "--cert", f("b.crt"), "--verify", f("c.crt"), f("msg.der")); code != exitInvalid || !strings.Contains(errs, "signer not found") {
		t.Fatalf("wrong verify cert: %d %q", code, errs)
	}
	// not for us → 1
	if _, _, code := runCLI(t, "", "cms", "open", "--key", f("a.key"), "--cert", f("a.crt"), f("msg.der")); code != exitInvalid {
		t.Fatalf("not for us: %d", code)
	}
	// garbage → 1
	if _, _, code := runCLI(t, "", "cms", "open", "--key", f("b.key"), "--cert", f("b.crt"), f("payload.xml")); code != exitInvalid {
		t.Fatalf("garbage: %d", code)
	}
	// openssl opens what the CLI sealed
	if bin, err := osexec.LookPath("openssl"); err == nil {
		inner, err := osexec.Command(bin, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", f("msg.der"), "-recip", f("b.crt"), "-inkey", f("b.key")).Output()
		if err != nil {
			t.Fatalf("openssl decrypt: %v", err)
		}
		cmd := osexec.Command(bin, "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", f("ca.crt"), "-purpose", "any")
		cmd.Stdin = bytes.NewReader(inner)
		if got, err := cmd.Output(); err != nil || string(got) != "<Pruefung_Freischaltcode/>" {
			t.Fatalf("openssl verify: %v %q", err, got)
		}
	}
}

func TestCMSUsage(t *testing.T) {
	dir, _ := cmsFixtures(t)
	f := func(n string) string { return filepath.Join(dir, n) }
	for name, args := range map[string][]string{
		"no sub":         {"cms"},
		"unknown sub":    {"cms", "frob"},
		"no file":        {"cms", "seal", "--key", f("a.key"), "--cert", f("a.crt"), "--to", f("b.crt")},
		"no to":          {"cms", "seal", "--key", f("a.key"), "--cert", f("a.crt"), f("payload.xml")},
		"missing file":   {"cms", "seal", "--key", f("a.key"), "--cert", f("a.crt"), "--to", f("b.crt"), f("nope")},
		"bad key":        {"cms", "seal", "--key", f("a.crt"), "--cert", f("a.crt"), "--to", f("b.crt"), f("payload.xml")},
		"bad cert":       {"cms", "open", "--key", f("a.key"), "--cert", f("a.key"), f("payload.xml")},
		"key mismatch":   {"cms", "seal", "--key", f("b.key"), "--cert", f("a.crt"), "--to", f("b.crt"), f("payload.xml")},
		"bad flag":       {"cms", "open", "--nope"},
		"two files":      {"cms", "open", "--key", f("a.key"), "--cert", f("a.crt"), f("payload.xml"), f("payload.xml")},
		"missing verify": {"cms", "open", "--key", f("a.key"), "--cert", f("a.crt"), "--verify", f("nope"), f("payload.xml")},
	} {
		_, errs, code := runCLI(t, "", args...)
		if code != exitUsage || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Errorf("%s: code %d stderr %q", name, code, errs)
		}
	}
}

func keyPEMOf(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func certPEMOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// TestCMSOpenOpenSSLIndef: digakit cms open reads what openssl seals with
// -indef -stream (BER, chunked) and verifies the PSS signature.
func TestCMSOpenOpenSSLIndef(t *testing.T) {
	bin, err := osexec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: interop test skipped")
	}
	dir, _ := cmsFixtures(t)
	f := func(n string) string { return filepath.Join(dir, n) }
	signed, err := osexec.Command(bin, "cms", "-sign", "-binary", "-nodetach", "-md", "sha256", "-in", f("payload.xml"),
		"-signer", f("a.crt"), "-inkey", f("a.key"), "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32", "-outform", "DER").Output()
	if err != nil {
		t.Fatal(err)
	}
	enc := osexec.Command(bin, "cms", "-encrypt", "-binary", "-aes256", "-recip", f("b.crt"),
		"-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256",
		"-outform", "DER", "-stream", "-indef")
	enc.Stdin = bytes.NewReader(signed)
	msg, err := enc.Output()
	if err != nil || !bytes.HasPrefix(msg, []byte{0x30, 0x80}) {
		t.Fatalf("openssl encrypt: %v", err)
	}
	out, errs, code := runCLI(t, string(msg), "cms", "open", "--key", f("b.key"), "--cert", f("b.crt"), "--verify", f("a.crt"), "-")
	if code != exitOK || out != "<Pruefung_Freischaltcode/>" {
		t.Fatalf("%d %q %q", code, out, errs)
	}
}
