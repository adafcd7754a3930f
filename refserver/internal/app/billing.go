package app

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/kassenapi/xrechnung"
	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/billingjobs"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/redeemapi"
)

// kassePeers is what redemption and billing need of the insurers: the
// SECON client, the endpoint directory and the invoice data.
type kassePeers struct {
	client         *kassenapi.Client
	directory      kassenapi.DirectoryProvider
	manufacturerIK string
	seller         xrechnung.Party
	catalog        *xrechnung.Catalog
	overrides      map[string]xrechnung.Address
	allowTest      bool
	testPrefix     string
	numberPrefix   string
	tokenFile      string
}

// mountBilling builds the redemption and billing service (kassenapi spec
// B3) on the two databases and mounts POST /v1/redemptions, GET
// /v1/redemptions/me (behind the auth service's access-token check) and
// the operator endpoints (admin listener when there is one). Without a
// `kasse` configuration and without the sandbox it mounts nothing.
func (s *Server) mountBilling(ctx context.Context, public, admin *http.ServeMux) error {
	var (
		peers *kassePeers
		err   error
	)
	switch {
	case s.cfg.Kasse != nil:
		peers, err = s.configKasse(ctx, s.cfg.Kasse)
	case s.sandbox != nil:
		peers, err = sandboxKasse(s.sandbox)
	default:
		s.log.Warn("no kasse configuration: redemption and billing are off")
		return nil
	}
	if err != nil {
		return &StartupError{"kasse", err}
	}
	keys := filepath.Join(s.cfg.Data, "keys")
	fsc, err := loadOrCreateSecret(filepath.Join(keys, "hmac-fsc.key"))
	if err != nil {
		return &StartupError{"kasse keys", err}
	}
	seal, err := loadOrCreateSecret(filepath.Join(keys, "billing-seal.key"))
	if err != nil {
		return &StartupError{"kasse keys", err}
	}
	sealer, err := billing.NewAESSealer("seal-1", map[string][]byte{"seal-1": seal}, nil)
	if err != nil {
		return &StartupError{"kasse keys", err}
	}
	binds, err := sqlstore.NewBindings(s.main.DB, string(s.main.Dialect))
	if err != nil {
		return &StartupError{"kasse", err}
	}
	bill, err := sqlstore.NewBilling(s.billing.DB, string(s.billing.Dialect))
	if err != nil {
		return &StartupError{"kasse", err}
	}
	log := s.log.With("component", "billing")
	svc, err := billing.New(billing.Config{
		Checker: peers.client, Submitter: peers.client, Directory: peers.directory,
		Bindings: binds, Billing: bill,
		Keys: billing.StaticKeys{{ID: "fsc-1", Secret: fsc}}, Seal: sealer,
		Catalog: peers.catalog, Seller: peers.seller, ManufacturerIK: peers.manufacturerIK,
		AddressOverrides: peers.overrides,
		Numbering:        billing.Numbering{Prefix: peers.numberPrefix},
		AllowTestCodes:   peers.allowTest, TestPrefix: peers.testPrefix,
		Audit:  s.billingAudit(),
		Logger: log,
	})
	if err != nil {
		return &StartupError{"billing", err}
	}
	token, err := operatorToken(peers.tokenFile, filepath.Join(keys, "operator-token"))
	if err != nil {
		return &StartupError{"billing", err}
	}
	h, err := redeemapi.New(redeemapi.Config{
		Service: svc,
		Account: func(r *http.Request) (string, bool) {
			c := auth.ClaimsFrom(r.Context())
			if c == nil || c.Subject == "" {
				return "", false
			}
			return c.Subject, true
		},
		OperatorToken: token,
		Logger:        log,
	})
	if err != nil {
		return &StartupError{"billing", err}
	}
	ops := admin
	if ops == nil {
		ops = public
	}
	for _, rt := range h.Routes() {
		switch rt.Auth {
		case "user":
			if s.authSvc == nil {
				return &StartupError{"billing", errors.New("the redemption endpoints need the auth service")}
			}
			var hd http.Handler = rt.Handler
			if rt.Method == http.MethodPost && rt.Pattern == "/v1/redemptions" {
				hd = s.redemptionAudit(hd) // fsc_redeem_ok / fsc_redeem_fail
			}
			public.Handle(rt.Method+" "+rt.Pattern, s.authSvc.RequireUser(hd))
		default:
			ops.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
		}
	}
	s.workerHooks = append(s.workerHooks, func(w *river.Workers) { billingjobs.Register(w, svc, log) })
	s.periodic = append(s.periodic, billingjobs.PeriodicJobs(0, 0)...)
	s.billingSvc = svc
	return nil
}

// configKasse builds the insurer client from the configuration: the ITSG
// identity, the key list and the directory, both refreshed by daily River
// steps and kept as last-known-good copies in <data>/kasse.
func (s *Server) configKasse(ctx context.Context, k *config.Kasse) (*kassePeers, error) {
	keyPEM, err := os.ReadFile(k.IdentityKey)
	if err != nil {
		return nil, fmt.Errorf("cannot read kasse.identity_key")
	}
	certs, err := os.ReadFile(k.IdentityCert)
	if err != nil {
		return nil, fmt.Errorf("cannot read kasse.identity_cert")
	}
	id, err := kassenapi.LoadIdentity(keyPEM, certs)
	if err != nil {
		return nil, err
	}
	var roots []*x509.Certificate
	if k.RootCA != "" {
		pem, err := os.ReadFile(k.RootCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read kasse.root_ca")
		}
		roots, err = parsePEMCerts(pem)
		if err != nil {
			return nil, err
		}
	}
	state := filepath.Join(s.cfg.Data, "kasse")
	log := s.log.With("component", "kassenapi")
	keyList, err := kassenapi.NewKeyListUpdater(ctx, kassenapi.KeyListUpdaterConfig{
		URL: k.KeyListURL, SnapshotDir: filepath.Join(state, "keylist"),
		OnError: func(err error) { log.Warn("key list update failed", "err", err) },
	})
	if err != nil {
		return nil, err
	}
	dir, err := kassenapi.NewDirectoryUpdater(ctx, kassenapi.DirectoryUpdaterConfig{
		URL: k.DirectoryURL, SnapshotDir: filepath.Join(state, "directory"),
		OnChange: func(c kassenapi.DirectoryChange) { log.Info("insurer directory changed") },
		OnError:  func(err error) { log.Warn("directory update failed", "err", err) },
	})
	if err != nil {
		return nil, err
	}
	s.steps = append(s.steps,
		jobs.Step{Name: "kasse_directory_update", Interval: 24 * time.Hour, RunOnStart: true, Run: dir.Update},
		jobs.Step{Name: "kasse_keylist_update", Interval: 24 * time.Hour, RunOnStart: true, Run: keyList.Update},
	)
	client, err := kassenapi.New(kassenapi.Config{
		ManufacturerIK: k.ManufacturerIK, DiGAID: k.DiGAID, Identity: id,
		Directory: dir, Keys: keyList, ExtraRootCAs: roots,
		AllowTestCodes: k.AllowTestCodes, TestPrefix: k.TestPrefix, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	catalog, err := readCatalog(k.Catalog)
	if err != nil {
		return nil, err
	}
	seller := k.Seller
	if seller.IK == "" {
		seller.IK = k.ManufacturerIK
	}
	return &kassePeers{client: client, directory: dir, manufacturerIK: k.ManufacturerIK, seller: seller,
		catalog: catalog, allowTest: k.AllowTestCodes, testPrefix: k.TestPrefix,
		numberPrefix: defaultString(k.NumberPrefix, "DG"), tokenFile: k.OperatorTokenFile}, nil
}

func readCatalog(path string) (*xrechnung.Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read kasse.catalog")
	}
	var c xrechnung.Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("kasse.catalog: invalid JSON")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kasse.catalog: %w", err)
	}
	return &c, nil
}

func parsePEMCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block []byte
		block, b = nextPEMCert(b)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block)
		if err != nil {
			return nil, errors.New("kasse.root_ca: bad certificate")
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("kasse.root_ca: no certificate")
	}
	return out, nil
}

// loadOrCreateSecret reads a base64 secret of 32 bytes from path, or
// creates one (mode 0600, directory 0700) on first start.
func loadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("%s: not a base64 key of at least 32 bytes", filepath.Base(path))
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot read %s", filepath.Base(path))
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the key directory")
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write %s", filepath.Base(path))
	}
	return k, nil
}

// operatorToken reads the operator bearer token from file, or from (and
// on first start into) the generated default file.
func operatorToken(file, generated string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", errors.New("cannot read kasse.operator_token_file")
		}
		t := strings.TrimSpace(string(b))
		if len(t) < 32 {
			return "", errors.New("kasse.operator_token_file: token shorter than 32 characters")
		}
		return t, nil
	}
	k, err := loadOrCreateSecret(generated)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(k), nil
}

func defaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
