package auth

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed templates/pages.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/pages.html"))

// opRoutes are the provider paths the refserver documents (§2.1);
// zitadel's /healthz, /ready and /device_authorization are not mounted.
var opRoutes = []string{
	"GET /.well-known/openid-configuration",
	"GET /authorize/callback",
	"POST /oauth/token",
	"POST /oauth/introspect",
	"GET /userinfo",
	"POST /userinfo",
	"POST /revoke",
	"GET /keys",
}

// Routes lists every route the service mounts (for the route inventory).
func Routes() []string {
	r := append([]string{}, opRoutes...)
	return append(r,
		"GET /authorize", "POST /authorize", "GET /end_session", "POST /end_session",
		"GET /login", "POST /login", "POST /login/2fa", "GET /login/reset", "POST /login/reset", "GET /login/logged-out",
		"GET /register", "POST /register", "POST /register/totp",
		"GET /v1/me/sessions", "DELETE /v1/me/sessions", "DELETE /v1/me/sessions/{id}", "POST /v1/me/password",
		"POST /login/2fa/webauthn/begin", "POST /login/2fa/webauthn/finish",
		"POST /v1/me/webauthn/registrations", "POST /v1/me/webauthn/registrations/{token}", "POST /v1/me/recovery-codes", "POST /login/lock")
}

// Mount registers the auth routes on mux.
func (s *Service) Mount(mux *http.ServeMux) {
	for _, p := range opRoutes {
		if p == "POST /oauth/token" {
			mux.Handle(p, formGuard(deviceInfo(s.provider)))
			continue
		}
		mux.Handle(p, formGuard(s.provider))
	}
	cop := http.NewCrossOriginProtection()
	page := func(h http.HandlerFunc) http.Handler { return pageHeaders(cop.Handler(h)) }
	mux.Handle("GET /authorize", s.precheck(s.provider))
	mux.Handle("POST /authorize", s.precheck(s.provider))
	mux.Handle("GET /end_session", formGuard(s.endSession(s.provider)))
	mux.Handle("POST /end_session", formGuard(s.endSession(s.provider)))
	mux.Handle("GET /login", page(s.loginPage))
	mux.Handle("POST /login", page(s.loginSubmit))
	mux.Handle("POST /login/2fa", page(s.secondSubmit))
	mux.Handle("GET /login/reset", page(s.resetPage))
	mux.Handle("POST /login/reset", page(s.resetSubmit))
	mux.Handle("GET /login/logged-out", page(func(w http.ResponseWriter, _ *http.Request) {
		render(w, http.StatusOK, "message", view{Title: "Signed out", Message: "You are signed out."})
	}))
	mux.Handle("POST /login/lock", page(s.lockSubmit))
	mux.Handle("GET /register", page(s.registerPage))
	mux.Handle("POST /register", page(s.registerSubmit))
	mux.Handle("POST /register/totp", page(s.enrollSubmit))
	mux.Handle("GET /v1/me/sessions", s.RequireUser(http.HandlerFunc(s.listSessions)))
	mux.Handle("DELETE /v1/me/sessions", s.RequireUser(http.HandlerFunc(s.deleteAllSessions)))
	mux.Handle("DELETE /v1/me/sessions/{id}", s.RequireUser(http.HandlerFunc(s.deleteSession)))
	mux.Handle("POST /v1/me/password", s.RequireUser(http.HandlerFunc(s.changePassword)))
	mux.Handle("POST /v1/me/recovery-codes", s.RequireUser(http.HandlerFunc(s.regenerateRecovery)))
	mux.Handle("POST /login/2fa/webauthn/begin", page(s.webauthnLoginBegin))
	mux.Handle("POST /login/2fa/webauthn/finish", page(s.webauthnLoginFinish))
	mux.Handle("POST /v1/me/webauthn/registrations", s.RequireUser(http.HandlerFunc(s.webauthnRegisterBegin)))
	mux.Handle("POST /v1/me/webauthn/registrations/{token}", s.RequireUser(http.HandlerFunc(s.webauthnRegisterFinish)))
}

func (s *Service) webauthnError(w http.ResponseWriter, err error) {
	switch {
	case throttled(w, err):
	case errors.Is(err, ErrWebAuthnOff):
		WriteProblem(w, http.StatusNotFound, "not-found", "Not Found")
	case errors.Is(err, ErrSequence):
		WriteProblem(w, http.StatusBadRequest, "sequence", "Please start again")
	case errors.Is(err, ErrFlagInconsistency):
		WriteProblem(w, http.StatusUnauthorized, "webauthn-flag-inconsistency", "Please register your passkey again")
	case errors.Is(err, ErrCloneWarning):
		WriteProblem(w, http.StatusUnauthorized, "clone-warning", "Please register your security key again")
	case errors.Is(err, ErrSecondFactor):
		WriteProblem(w, http.StatusUnauthorized, "second-factor-rejected", "Second factor rejected")
	default:
		s.cfg.Logger.Error("webauthn step failed", "err", err)
		WriteProblem(w, http.StatusInternalServerError, "internal", "Internal Server Error")
	}
}

// regenerateRecovery replaces the recovery codes after step-up and shows
// the new ones once (§3.2.8).
func (s *Service) regenerateRecovery(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	if err := s.RequireStepUp(c); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", max_age=300`)
		WriteProblem(w, http.StatusUnauthorized, "step-up-required", "Step-up required")
		return
	}
	acct, err := s.accountBySub(r.Context(), c.Subject)
	if err != nil {
		WriteProblem(w, http.StatusUnauthorized, "invalid-token", "Unauthorized")
		return
	}
	codes, err := s.RegenerateRecoveryCodes(r.Context(), acct)
	if err != nil {
		WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (s *Service) webauthnLoginBegin(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	ca, err := s.BeginWebAuthnLogin(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		s.webauthnError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ca)
}

func (s *Service) webauthnLoginFinish(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	id, account, err := s.FinishWebAuthnLogin(r.Context(), tok, r)
	if err != nil {
		s.webauthnError(w, err)
		return
	}
	if a, _ := s.authRequest(r.Context(), id); a != nil {
		if bt, err := s.newBrowserSession(r.Context(), account, a.AMR, a.AuthTime); err == nil {
			s.setBrowserCookie(w, r, bt, int(s.cfg.BrowserAbsolute/time.Second))
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": s.callbackURL(id)})
}

func (s *Service) webauthnRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	if err := s.RequireStepUp(c); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", max_age=300`)
		WriteProblem(w, http.StatusUnauthorized, "step-up-required", "Step-up required")
		return
	}
	acct, err := s.accountBySub(r.Context(), c.Subject)
	if err != nil {
		WriteProblem(w, http.StatusUnauthorized, "invalid-token", "Unauthorized")
		return
	}
	cc, tok, err := s.BeginWebAuthnRegistration(r.Context(), acct)
	if err != nil {
		s.webauthnError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "options": cc})
}

func (s *Service) webauthnRegisterFinish(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	acct, err := s.accountBySub(r.Context(), c.Subject)
	if err != nil {
		WriteProblem(w, http.StatusUnauthorized, "invalid-token", "Unauthorized")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := s.FinishWebAuthnRegistration(r.Context(), acct, r.PathValue("token"), r); err != nil {
		s.webauthnError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// formGuard answers a malformed query or form with 400 invalid_request
// before the provider sees it (the library would answer 500), and caps
// the body at 64 KiB.
func formGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed request"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pageHeaders sets the login-UI hardening headers (§3.2.13).
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		h.ServeHTTP(w, r)
	})
}

type view struct {
	Title, Message, AuthRequestID, Token string
	Username, Secret, URI                string
	Codes                                []string
	Gate                                 bool
}

func render(w http.ResponseWriter, status int, name string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, v)
}

func throttled(w http.ResponseWriter, err error) bool {
	var te *ThrottleError
	if !errors.As(err, &te) {
		return false
	}
	secs := int((te.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	render(w, http.StatusTooManyRequests, "message", view{Title: "Too many attempts", Message: "Too many attempts. Please wait and try again."})
	return true
}

func sequencePage(w http.ResponseWriter) {
	render(w, http.StatusBadRequest, "message", view{Title: "Please start again", Message: "This step has expired. Please start the sign-in again from the app."})
}

// cookieName is __Host-digakit_sid over TLS; plain-HTTP development
// listeners cannot set __Host- cookies.
func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return "__Host-digakit_sid"
	}
	return "digakit_sid"
}

func (s *Service) setBrowserCookie(w http.ResponseWriter, r *http.Request, tok string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func browserToken(r *http.Request) string {
	if c, err := r.Cookie(cookieName(r)); err == nil {
		return c.Value
	}
	return ""
}

// precheck rejects what the library would let through (§3.2.1 a):
// request_uri, response types other than code, scopes outside the
// allow-list. Errors go only to an exactly registered redirect URI.
func (s *Service) precheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			render(w, http.StatusBadRequest, "message", view{Title: "Invalid request", Message: "The request could not be read."})
			return
		}
		q := r.Form
		c := s.clients[q.Get("client_id")]
		redirect := q.Get("redirect_uri")
		if c == nil || redirect == "" || !c.redirectAllowed(redirect) {
			render(w, http.StatusBadRequest, "message", view{Title: "Invalid request", Message: "Unknown client or redirect URI."})
			return
		}
		fail := func(code, desc string) {
			u, _ := url.Parse(redirect)
			v := u.Query()
			v.Set("error", code)
			v.Set("error_description", desc)
			if st := q.Get("state"); st != "" {
				v.Set("state", st)
			}
			u.RawQuery = v.Encode()
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, u.String(), http.StatusFound)
		}
		if q.Has("request_uri") {
			fail("request_uri_not_supported", "request_uri is not supported")
			return
		}
		if q.Get("response_type") != "code" {
			fail("unsupported_response_type", "only code is supported")
			return
		}
		for _, sc := range strings.Fields(q.Get("scope")) {
			if sc != "openid" && sc != "offline_access" && sc != Audience {
				fail("invalid_scope", "scope not allowed")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// endSession clears the OP browser session, then lets the provider end
// the token session named by the ID token hint.
func (s *Service) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := browserToken(r); tok != "" {
			_, _ = s.db.ExecContext(r.Context(), `DELETE FROM auth_browser_sessions WHERE hash = $1`, sha256Hex(tok))
			s.setBrowserCookie(w, r, "", -1)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) callbackURL(id string) string {
	return "/authorize/callback?id=" + url.QueryEscape(id)
}

func (s *Service) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, err := s.authRequest(r.Context(), id)
	if err != nil || a.IsDone {
		s.emit(r.Context(), EventSequenceFail, "", "", map[string]string{"step": "login"})
		sequencePage(w)
		return
	}
	bs, _ := s.browserSession(r.Context(), browserToken(r))
	fresh := bs != nil && !slices.Contains(a.Prompt, oidc.PromptLogin) &&
		(a.MaxAge == nil || s.now().Sub(bs.authTime) <= time.Duration(*a.MaxAge)*time.Second)
	if fresh {
		if err := s.completeAuthRequest(r.Context(), a.ID, bs.account, bs.amr, bs.authTime); err != nil {
			sequencePage(w)
			return
		}
		http.Redirect(w, r, s.callbackURL(a.ID), http.StatusFound)
		return
	}
	if slices.Contains(a.Prompt, oidc.PromptNone) {
		op.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), s.provider)
		return
	}
	render(w, http.StatusOK, "login", view{Title: "Sign in", AuthRequestID: a.ID})
}

func (s *Service) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "message", view{Title: "Invalid request", Message: "The request could not be read."})
		return
	}
	id := r.PostForm.Get("authRequestID")
	tok, err := s.PasswordStep(r.Context(), id, r.PostForm.Get("username"), r.PostForm.Get("password"), r.RemoteAddr)
	switch {
	case err == nil:
		render(w, http.StatusOK, "second", view{Title: "Second factor", Token: tok})
	case throttled(w, err):
	case errors.Is(err, ErrSequence):
		sequencePage(w)
	case errors.Is(err, ErrPasswordInput):
		render(w, http.StatusBadRequest, "message", view{Title: "Invalid request", Message: "The request could not be read."})
	case errors.Is(err, ErrLoginFailed):
		render(w, http.StatusOK, "login", view{Title: "Sign in", Message: "Username or password is wrong.", AuthRequestID: id})
	default:
		s.cfg.Logger.Error("login step failed", "err", err)
		render(w, http.StatusInternalServerError, "message", view{Title: "Error", Message: "Something went wrong. Please try again."})
	}
}

func (s *Service) secondSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		sequencePage(w)
		return
	}
	tok := r.PostForm.Get("token")
	var reenroll *ReenrollError
	id, account, err := s.SecondFactorStep(r.Context(), tok, r.PostForm.Get("kind"), r.PostForm.Get("code"))
	switch {
	case err == nil:
		s.finishLogin(w, r, id, account)
	case throttled(w, err):
	case errors.As(err, &reenroll):
		en := reenroll.Enrollment
		render(w, http.StatusOK, "enroll", view{Title: "Set up your authenticator again", Secret: en.TOTPSecret, URI: en.TOTPURL, Token: en.Token,
			Message: "You signed in with a recovery code. Please set up your authenticator app again."})
	case errors.Is(err, ErrSecondFactor):
		render(w, http.StatusOK, "second", view{Title: "Second factor", Message: "The code was not accepted.", Token: tok})
	case errors.Is(err, ErrSequence):
		sequencePage(w)
	default:
		s.cfg.Logger.Error("second factor step failed", "err", err)
		render(w, http.StatusInternalServerError, "message", view{Title: "Error", Message: "Something went wrong. Please try again."})
	}
}

// finishLogin sets the OP browser session cookie and redirects to the
// provider's callback.
func (s *Service) finishLogin(w http.ResponseWriter, r *http.Request, id, account string) {
	if a, _ := s.authRequest(r.Context(), id); a != nil {
		if bt, err := s.newBrowserSession(r.Context(), account, a.AMR, a.AuthTime); err == nil {
			s.setBrowserCookie(w, r, bt, int(s.cfg.BrowserAbsolute/time.Second))
		}
	}
	http.Redirect(w, r, s.callbackURL(id), http.StatusFound)
}

// lockSubmit handles the "this wasn't me" link: the same answer for
// valid, used and unknown tokens.
func (s *Service) lockSubmit(w http.ResponseWriter, r *http.Request) {
	if _, err := s.UseLockLink(r.Context(), r.URL.Query().Get("t")); err != nil {
		s.cfg.Logger.Error("lock link failed", "err", err)
	}
	render(w, http.StatusAccepted, "message", view{Title: "Account locked", Message: "If the link was valid, the account is now locked and signed out everywhere."})
}

// resetBody is the one answer of a reset request (§3.2.4).
const resetMessage = "If an account with a verified contact exists, we sent a message."

func (s *Service) resetPage(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, "reset", view{Title: "Reset password"})
}

// resetSubmit always answers 202 with the same body. Without a verified
// contact channel (not part of this service yet) nothing is sent.
func (s *Service) resetSubmit(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	probe := s.probeID(r.PostForm.Get("username"))
	if s.limiter.AllowReset(probe) {
		s.emit(r.Context(), EventResetRequested, "", probe, nil)
	}
	render(w, http.StatusAccepted, "message", view{Title: "Reset password", Message: resetMessage})
}

func (s *Service) registerPage(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, "register", view{Title: "Register", Gate: s.cfg.RegistrationGate != nil})
}

func (s *Service) registerSubmit(w http.ResponseWriter, r *http.Request) {
	gate := s.cfg.RegistrationGate != nil
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "message", view{Title: "Invalid request", Message: "The request could not be read."})
		return
	}
	if d, ok := s.limiter.AllowRegistration(NetworkID(r.RemoteAddr)); !ok {
		s.metrics.rejections.WithLabelValues("registration").Inc()
		throttled(w, &ThrottleError{RetryAfter: d, Limiter: "registration"})
		return
	}
	if gate {
		if err := s.cfg.RegistrationGate(r.Context(), r.PostForm.Get("code")); err != nil {
			render(w, http.StatusOK, "register", view{Title: "Register", Gate: gate, Message: "The activation code was not accepted."})
			return
		}
	}
	e, err := s.Register(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"))
	switch {
	case err == nil:
		render(w, http.StatusOK, "enroll", view{Title: "Set up your second factor", Username: e.Username, Secret: e.TOTPSecret, URI: e.TOTPURL, Token: e.Token})
	case throttled(w, err):
	case errors.Is(err, ErrHasherBusy):
		throttled(w, &ThrottleError{RetryAfter: time.Second, Limiter: "argon2"})
	case errors.Is(err, ErrUsernameTaken), errors.Is(err, ErrUsernameInvalid):
		render(w, http.StatusOK, "register", view{Title: "Register", Gate: gate, Message: "Please choose another username."})
	case errors.Is(err, ErrPasswordPolicy), errors.Is(err, ErrPasswordInput):
		render(w, http.StatusOK, "register", view{Title: "Register", Gate: gate, Message: "Please choose a longer or less common password (at least 12 characters)."})
	default:
		s.cfg.Logger.Error("registration failed", "err", err)
		render(w, http.StatusInternalServerError, "message", view{Title: "Error", Message: "Something went wrong. Please try again."})
	}
}

func (s *Service) enrollSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		sequencePage(w)
		return
	}
	tok := r.PostForm.Get("token")
	if _, _, err := s.preauth(r.Context(), tok, "reenroll"); err == nil {
		id, account, err := s.ConfirmReenrollment(r.Context(), tok, r.PostForm.Get("code"))
		switch {
		case err == nil:
			s.finishLogin(w, r, id, account)
		case errors.Is(err, ErrSecondFactor):
			render(w, http.StatusOK, "enroll", view{Title: "Set up your authenticator again", Message: "The code was not accepted.", Token: tok})
		default:
			sequencePage(w)
		}
		return
	}
	codes, err := s.ConfirmTOTP(r.Context(), tok, r.PostForm.Get("code"))
	switch {
	case err == nil:
		render(w, http.StatusOK, "recovery", view{Title: "Recovery codes", Codes: codes})
	case errors.Is(err, ErrSecondFactor):
		render(w, http.StatusOK, "enroll", view{Title: "Set up your second factor", Message: "The code was not accepted.", Token: tok})
	default:
		sequencePage(w)
	}
}

type deviceKey struct{}

// device is the app platform and version of a token request, recorded
// for the device list (no IP address, no free text).
type device struct{ platform, version string }

var platforms = map[string]bool{"android": true, "ios": true, "web": true}

// deviceInfo takes X-App-Platform and X-App-Version (SemVer core only)
// from token requests; anything else is recorded as empty.
func deviceInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := device{}
		if p := r.Header.Get("X-App-Platform"); platforms[p] {
			d.platform = p
		}
		if v := r.Header.Get("X-App-Version"); len(v) <= 32 && semverCore(v) {
			d.version = v
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), deviceKey{}, d)))
	})
}

func semverCore(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func deviceFrom(ctx context.Context) device {
	d, _ := ctx.Value(deviceKey{}).(device)
	return d
}

// API (JSON, bearer tokens).

type ctxKey struct{}

// ClaimsFrom returns the verified access-token claims RequireUser put
// into the request context.
func ClaimsFrom(ctx context.Context) *AccessClaims {
	c, _ := ctx.Value(ctxKey{}).(*AccessClaims)
	return c
}

// WriteProblem writes an RFC 9457 problem with the extension member code.
func WriteProblem(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "/problems/" + code, "title": title, "status": status, "code": code})
}

// RequireUser verifies the bearer access token and rejects revoked
// sessions (401 session_use_after_expire).
func (s *Service) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			WriteProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
			return
		}
		c, err := s.verifier.Verify(r.Context(), strings.TrimSpace(raw))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			if errors.Is(err, ErrSessionRevoked) {
				s.emit(r.Context(), EventSessionUseAfter, "", "", nil)
				WriteProblem(w, http.StatusUnauthorized, "session_use_after_expire", "Session ended")
				return
			}
			WriteProblem(w, http.StatusUnauthorized, "invalid-token", "Unauthorized")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) listSessions(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	list, err := s.Sessions(r.Context(), c.Subject, c.SID)
	if err != nil {
		WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Service) deleteSession(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	ok, err := s.RevokeSession(r.Context(), c.Subject, r.PathValue("id"))
	switch {
	case err != nil:
		WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
	case !ok:
		WriteProblem(w, http.StatusNotFound, "not-found", "Not Found")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) deleteAllSessions(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	if _, err := s.RevokeAll(r.Context(), c.Subject, "", "logout_all"); err != nil {
		WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) changePassword(w http.ResponseWriter, r *http.Request) {
	c := ClaimsFrom(r.Context())
	var body struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		WriteProblem(w, http.StatusBadRequest, "invalid-request", "Bad Request")
		return
	}
	err := s.ChangePassword(r.Context(), c, body.Current, body.New)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrStepUp):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", max_age=300`)
		WriteProblem(w, http.StatusUnauthorized, "step-up-required", "Step-up required")
	case errors.Is(err, ErrPasswordPolicy), errors.Is(err, ErrPasswordInput):
		WriteProblem(w, http.StatusUnprocessableEntity, "password-policy", "Password rejected")
	case errors.Is(err, ErrLoginFailed):
		WriteProblem(w, http.StatusForbidden, "wrong-password", "Current password wrong")
	default:
		WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "Service Unavailable")
	}
}
