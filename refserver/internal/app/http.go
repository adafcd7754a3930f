package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/digakit/digakit/refserver/internal/store"
)

// healthz answers 200 while the process serves (refserver spec §3.6).
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz runs one query on each database handle and checks that no
// migration is pending. It names the checks only, never error texts.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	set := func(name string, err error) {
		if err != nil {
			checks[name] = "fail"
			ok = false
			s.log.Warn("readiness check failed", "check", name, "err", err)
			return
		}
		checks[name] = "ok"
	}
	set("db", s.main.Ping(ctx))
	set("billing_db", s.billing.Ping(ctx))
	mig := error(nil)
	for _, db := range []*store.DB{s.main, s.billing} {
		if p, err := db.Pending(ctx, migrationsFor(db)...); err != nil {
			mig = err
		} else if p {
			mig = errPending
		}
	}
	set("migrations", mig)
	head, signer := s.auditReady(ctx)
	set("audit_head", head)
	set("checkpoint_signer", signer)
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"checks": checks})
}

type pendingError struct{}

func (pendingError) Error() string { return "migrations pending" }

var errPending error = pendingError{}

// notFound answers every undocumented path with an RFC 9457 problem.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeProblem(w, http.StatusNotFound, "not-found", "Not Found")
}

func writeProblem(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "/problems/" + code,
		"title":  title,
		"status": status,
		"code":   code,
	})
}

// secureHeaders sets the response headers every answer carries.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}
