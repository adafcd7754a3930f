package app

import (
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/jobs"
)

// mountAuth builds the auth service (refserver spec §3.2) on the main
// database and mounts its routes on the public mux. Keys live in
// <data>/keys (created 0700, files 0600) and are generated on first
// start. The issuer is auth.issuer or, by default, the public listener's
// URL once it is bound.
func (s *Server) mountAuth(public *http.ServeMux) error {
	cfg := s.cfg
	dir := filepath.Join(cfg.Data, "keys")
	keys, err := auth.LoadOrCreateKeys(dir)
	if err != nil {
		return &StartupError{"auth keys", err}
	}
	ring, err := auth.OpenKeyRing(filepath.Join(dir, "oidc"), nil)
	if err != nil {
		return &StartupError{"auth keys", err}
	}
	var clients []auth.ClientConfig
	if !cfg.Production() {
		clients = append(clients, auth.DevClient())
	}
	for _, c := range cfg.Auth.Clients {
		clients = append(clients, auth.ClientConfig{ID: c.ID, RedirectURIs: c.RedirectURIs,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, RequireNonce: c.RequireNonce})
	}
	issuer := func() string {
		if cfg.Auth.Issuer != "" {
			return cfg.Auth.Issuer
		}
		return s.Addrs["public"]
	}
	svc, err := auth.New(auth.Config{
		DB:             s.main.DB,
		Keys:           keys,
		SigningKeys:    ring,
		Issuer:         issuer,
		Clients:        clients,
		Events:         s.authEvents(),
		Logger:         s.log.With("component", "auth"),
		Argon2:         auth.Argon2Params(cfg.Auth.Argon2),
		AccessTokenTTL: time.Duration(cfg.Auth.AccessTokenTTLSeconds) * time.Second,
		AllowInsecure:  strings.HasPrefix(cfg.Auth.Issuer, "http://") || (cfg.Auth.Issuer == "" && cfg.TLS.Cert == ""),
		Metrics:        s.metrics.Registry,
	})
	if err != nil {
		return &StartupError{"auth", err}
	}
	svc.Mount(public)
	s.authSvc = svc
	// Expired auth requests, codes, tokens and sessions are deleted by a
	// River step, once across replicas.
	s.steps = append(s.steps, jobs.Step{Name: "auth_cleanup", Interval: time.Hour, RunOnStart: true, Run: svc.Cleanup})
	return nil
}
