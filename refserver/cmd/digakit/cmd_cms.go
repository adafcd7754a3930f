package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/digakit/digakit/internal/cms"
)

func init() {
	register(command{name: "cms", summary: "seal or open SECON CMS messages (sign+encrypt, decrypt+verify)", run: runCMS})
}

func runCMS(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "cms", args, map[string]func(context.Context, *env, []string) int{
		"seal": runCMSSeal,
		"open": runCMSOpen,
	})
}

// maxCMSInput caps the file read by cms seal/open.
const maxCMSInput = cms.MaxInput

func readInput(e *env, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxCMSInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCMSInput {
		return nil, fmt.Errorf("larger than %d bytes", maxCMSInput)
	}
	return b, nil
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("neither a PKCS#1 nor a PKCS#8 private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, errors.New("not a certificate (PEM or DER)")
	}
	return c, nil
}

// cmsArgs parses the common flags and the single FILE argument.
func cmsArgs(e *env, name string, args []string, withTo, withVerify bool) (key *rsa.PrivateKey, cert, other *x509.Certificate, in []byte, code int) {
	fs := newFlags("cms " + name)
	keyPath := fs.String("key", "", "own private key (PEM)")
	certPath := fs.String("cert", "", "own certificate (PEM or DER)")
	var otherPath *string
	if withTo {
		otherPath = fs.String("to", "", "recipient certificate (PEM or DER)")
	}
	if withVerify {
		otherPath = fs.String("verify", "", "signer certificate to verify against (PEM or DER)")
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, nil, nil, e.fail(exitUsage, "cms %s: %v", name, err)
	}
	if len(pos) != 1 || *keyPath == "" || *certPath == "" || (withTo && *otherPath == "") {
		usage := "cms open --key KEY.pem --cert CERT.pem [--verify CERT.pem] FILE"
		if withTo {
			usage = "cms seal --key KEY.pem --cert CERT.pem --to RECIPIENT.pem FILE"
		}
		return nil, nil, nil, nil, e.fail(exitUsage, "usage: digakit %s", usage)
	}
	if key, err = loadRSAKey(*keyPath); err != nil {
		return nil, nil, nil, nil, e.fail(exitUsage, "cms %s: --key: %v", name, err)
	}
	if cert, err = loadCert(*certPath); err != nil {
		return nil, nil, nil, nil, e.fail(exitUsage, "cms %s: --cert: %v", name, err)
	}
	if *otherPath != "" {
		if other, err = loadCert(*otherPath); err != nil {
			return nil, nil, nil, nil, e.fail(exitUsage, "cms %s: %s: %v", name, map[bool]string{true: "--to", false: "--verify"}[withTo], err)
		}
	}
	if in, err = readInput(e, pos[0]); err != nil {
		return nil, nil, nil, nil, e.fail(exitUsage, "cms %s: read %s: %v", name, pos[0], err)
	}
	return key, cert, other, in, -1
}

func runCMSSeal(_ context.Context, e *env, args []string) int {
	key, cert, to, in, code := cmsArgs(e, "seal", args, true, false)
	if code >= 0 {
		return code
	}
	msg, err := cms.Seal(in, key, cert, to, nil, nil)
	if err != nil {
		// key mismatch, key too small, non-RSA: the inputs are unusable
		return e.fail(exitUsage, "cms seal: %v", err)
	}
	if _, err := e.stdout.Write(msg); err != nil {
		return e.fail(exitUsage, "cms seal: write: %v", err)
	}
	return exitOK
}

func runCMSOpen(_ context.Context, e *env, args []string) int {
	key, cert, verify, in, code := cmsArgs(e, "open", args, false, true)
	if code >= 0 {
		return code
	}
	mode, trusted := cms.VerifyOff, []*x509.Certificate(nil)
	if verify != nil {
		mode, trusted = cms.VerifyStrict, []*x509.Certificate{verify}
	}
	o, err := cms.Open(in, []cms.Recipient{{Cert: cert, Key: key}}, trusted, mode)
	if err != nil {
		return e.fail(exitInvalid, "cms open: %v", err)
	}
	for _, w := range o.Warnings {
		fmt.Fprintln(e.stderr, "digakit: cms open: warning: "+w)
	}
	if _, err := e.stdout.Write(o.Content); err != nil {
		return e.fail(exitUsage, "cms open: write: %v", err)
	}
	return exitOK
}
