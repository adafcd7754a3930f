package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/appversion/sqlstore"
)

// mountAppVersions builds the update service (refserver spec §3.4,
// O.Arch_12) on the main database: the gate for the /v1/ API, the public
// GET /v1/app-versions and, on an admin listener with client
// certificates, the policy admin API. It returns the middleware that
// gates the public listener.
func (s *Server) mountAppVersions(ctx context.Context, public, admin *http.ServeMux) (func(http.Handler) http.Handler, error) {
	cfg := s.cfg.AppVersions
	st := sqlstore.New(s.main.DB, sqlstore.Config{Audit: s.appVersionAudit})
	gate, err := appversion.New(appversion.Config{
		Policies:   cfg.Policies,
		Source:     st,
		Exempt:     cfg.Exempt,
		Registerer: s.metrics.Registry,
		Audit:      s.appVersionAudit,
	})
	if err != nil {
		return nil, &StartupError{"app versions", err}
	}
	if err := gate.Refresh(ctx); err != nil {
		return nil, &StartupError{"app versions", err}
	}
	log := s.log.With("component", "appversion")
	s.background(func(ctx context.Context) {
		gate.Watch(ctx, time.Duration(cfg.RefreshSeconds)*time.Second, func(err error) {
			log.Warn("reloading app version policies failed", "err", err)
		})
	})
	public.Handle("GET /v1/app-versions", gate.Handler())

	// The admin API needs an authenticated operator: it is served only
	// on an admin listener that requires client certificates (mTLS); the
	// operator is the certificate's subject. Without one, policies are
	// changed with `digakit app-policy set`.
	if admin != nil && s.cfg.Admin.ClientCA != "" {
		h, err := gate.AdminHandler(appversion.AdminConfig{
			Store:      st,
			Actor:      operatorOf,
			IsConflict: func(err error) bool { return errors.Is(err, sqlstore.ErrConcurrentChange) },
		})
		if err != nil {
			return nil, &StartupError{"app versions", err}
		}
		admin.Handle("/admin/v1/app-policies", h)
		admin.Handle("/admin/v1/app-policies/", h)
	}

	// Every API request (/v1/…) carries the app version headers; pages,
	// OP endpoints and unknown paths are not gated (unknown paths stay
	// 404), and the gate's own exempt list covers the GDPR routes.
	return func(next http.Handler) http.Handler {
		gated := gate.Middleware(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v1/") {
				gated.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// operatorOf names the operator of an mTLS admin request for the policy
// history: "admin:" and the client certificate's common name, reduced to
// the characters the history accepts.
func operatorOf(r *http.Request) string {
	name := "unknown"
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		name = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	return "admin:" + safeActor(name)
}

func safeActor(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 58; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}
