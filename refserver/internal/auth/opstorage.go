package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is a stored authorization request (op.AuthRequest).
type authRequest struct {
	ID, ClientID, RedirectURI, State, Nonce string
	Scopes                                  []string
	ResponseType, ResponseMode              string
	Challenge                               string
	Prompt                                  []string
	MaxAge                                  *int64
	Created                                 time.Time
	Account, Subject                        string
	AMR                                     []string
	ACR                                     string
	AuthTime                                time.Time
	Family                                  string
	IsDone                                  bool
}

func (a *authRequest) GetID() string          { return a.ID }
func (a *authRequest) GetACR() string         { return a.ACR }
func (a *authRequest) GetAMR() []string       { return a.AMR }
func (a *authRequest) GetAudience() []string  { return []string{Audience} }
func (a *authRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a *authRequest) GetClientID() string    { return a.ClientID }
func (a *authRequest) GetNonce() string       { return a.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.Scopes }
func (a *authRequest) GetState() string       { return a.State }
func (a *authRequest) GetSubject() string     { return a.Subject }
func (a *authRequest) Done() bool             { return a.IsDone }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.ResponseType)
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.ResponseMode)
}
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: oidc.CodeChallengeMethodS256}
}

// refreshRequest is the state behind a presented refresh token
// (op.RefreshTokenRequest).
type refreshRequest struct {
	hash, family, account, subject, clientID string
	scopes, amr                              []string
	acr                                      string
	authTime                                 time.Time
}

func (r *refreshRequest) GetAMR() []string            { return r.amr }
func (r *refreshRequest) GetAudience() []string       { return []string{Audience} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// opStorage implements op.Storage on the refserver schema.
type opStorage struct{ s *Service }

var (
	_ op.Storage                        = (*opStorage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*opStorage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*opStorage)(nil)
	_ op.CanTerminateSessionFromRequest = (*opStorage)(nil)
)

// errNotFound is a storage miss that the library maps to a client error.
type notFoundError struct{}

func (notFoundError) Error() string { return "auth: not found" }
func (notFoundError) IsNotFound()   {}

var errNotFound error = notFoundError{}

func serverError() *oidc.Error {
	return oidc.ErrServerError().WithDescription("internal error")
}

// CreateAuthRequest stores an authorization request after the policy
// checks the library leaves to storage: PKCE S256 required (plain and a
// missing method rejected), nonce required for clients that demand it.
func (o *opStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s := o.s
	c := s.clients[req.ClientID]
	if c == nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown client")
	}
	if req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge required")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.cfg.RequireNonce && req.Nonce == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("nonce required")
	}
	id, err := randText(s.cfg.Rand, 26)
	if err != nil {
		return nil, serverError()
	}
	a := &authRequest{ID: id, ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		Scopes: req.Scopes, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		Challenge: req.CodeChallenge, Prompt: req.Prompt, Created: s.now()}
	var maxAge any
	if req.MaxAge != nil {
		v := int64(*req.MaxAge)
		a.MaxAge = &v
		maxAge = v
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO auth_requests (id, client_id, redirect_uri, state, nonce, scopes,
		response_type, response_mode, code_challenge, prompt, max_age, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		a.ID, a.ClientID, a.RedirectURI, a.State, a.Nonce, strings.Join(a.Scopes, " "), a.ResponseType, a.ResponseMode,
		a.Challenge, strings.Join(a.Prompt, " "), maxAge, ms(a.Created))
	if err != nil {
		s.cfg.Logger.Error("store auth request", "err", err)
		return nil, serverError()
	}
	return a, nil
}

const authRequestCols = `id, client_id, redirect_uri, state, nonce, scopes, response_type, response_mode,
	code_challenge, prompt, max_age, created_at, account, subject, amr, acr, auth_time, family, done`

func scanAuthRequest(row interface{ Scan(...any) error }) (*authRequest, error) {
	var a authRequest
	var scopes, prompt, amr string
	var maxAge sql.NullInt64
	var created, authTime int64
	var done int
	if err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &a.State, &a.Nonce, &scopes, &a.ResponseType, &a.ResponseMode,
		&a.Challenge, &prompt, &maxAge, &created, &a.Account, &a.Subject, &amr, &a.ACR, &authTime, &a.Family, &done); err != nil {
		return nil, err
	}
	a.Scopes = strings.Fields(scopes)
	a.Prompt = strings.Fields(prompt)
	a.AMR = strings.Fields(amr)
	if maxAge.Valid {
		v := maxAge.Int64
		a.MaxAge = &v
	}
	a.Created = fromMS(created)
	if authTime > 0 {
		a.AuthTime = fromMS(authTime)
	}
	a.IsDone = done == 1
	return &a, nil
}

func (s *Service) authRequest(ctx context.Context, id string) (*authRequest, error) {
	a, err := scanAuthRequest(s.db.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM auth_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if s.now().Sub(a.Created) > s.cfg.AuthRequestTTL {
		return nil, errNotFound
	}
	return a, nil
}

// AuthRequestByID loads an unexpired authorization request.
func (o *opStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := o.s.authRequest(ctx, id)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
		}
		return nil, serverError()
	}
	return a, nil
}

// AuthRequestByCode consumes a code atomically; a second exchange
// revokes the family of the first and answers invalid_grant.
//
// REQ: TR03161-3:O.Auth_18
func (o *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s := o.s
	h := sha256Hex(code)
	now := s.now()
	var id string
	err := s.db.QueryRowContext(ctx, `UPDATE auth_requests SET consumed_at = $1
		WHERE code_hash = $2 AND consumed_at IS NULL AND done = 1 AND code_at >= $3 RETURNING id`,
		ms(now), h, ms(now.Add(-s.cfg.CodeTTL))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		var family string
		var consumed sql.NullInt64
		if e := s.db.QueryRowContext(ctx, `SELECT family, consumed_at FROM auth_requests WHERE code_hash = $1`, h).Scan(&family, &consumed); e == nil && consumed.Valid {
			s.metrics.reuse.WithLabelValues("code").Inc()
			s.emit(ctx, EventTokenReuse, "", "", map[string]string{"kind": "code"})
			_ = s.revokeFamily(ctx, family, "reuse_detected")
		}
		return nil, oidc.ErrInvalidGrant()
	}
	if err != nil {
		return nil, serverError()
	}
	a, err := scanAuthRequest(s.db.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM auth_requests WHERE id = $1`, id))
	if err != nil {
		return nil, serverError()
	}
	return a, nil
}

// SaveAuthCode stores the SHA-256 of the code for a finished request.
func (o *opStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	s := o.s
	res, err := s.db.ExecContext(ctx, `UPDATE auth_requests SET code_hash = $1, code_at = $2 WHERE id = $3 AND done = 1 AND code_hash IS NULL`,
		sha256Hex(code), ms(s.now()), id)
	if err != nil {
		return serverError()
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return oidc.ErrInvalidRequest().WithDescription("authorization request already answered")
	}
	return nil
}

// DeleteAuthRequest removes an unconsumed request; consumed ones stay
// until Cleanup so that a replayed code is recognised as reuse.
func (o *opStorage) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := o.s.db.ExecContext(ctx, `DELETE FROM auth_requests WHERE id = $1 AND consumed_at IS NULL`, id)
	if err != nil {
		return serverError()
	}
	return nil
}

// ensureSession creates the session (refresh-token family) of a finished
// login in tx.
func (s *Service) ensureSession(ctx context.Context, tx *sql.Tx, a *authRequest) error {
	now := s.now()
	d := deviceFrom(ctx)
	_, err := tx.ExecContext(ctx, `INSERT INTO auth_sessions (id, account, client_id, amr, acr, auth_time, platform, app_version, created_at, last_used_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9) ON CONFLICT (id) DO NOTHING`,
		a.Family, a.Account, a.ClientID, strings.Join(a.AMR, " "), a.ACR, ms(a.AuthTime), d.platform, d.version, ms(now))
	return err
}

func (s *Service) insertAccessToken(ctx context.Context, tx *sql.Tx, family, subject string) (string, time.Time, error) {
	id, err := randText(s.cfg.Rand, 26)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(s.cfg.AccessTokenTTL)
	_, err = tx.ExecContext(ctx, `INSERT INTO auth_access_tokens (id, family, subject, expires_at) VALUES ($1,$2,$3,$4)`,
		id, family, subject, ms(exp))
	return id, exp, err
}

// CreateAccessToken issues an access token without a refresh token (code
// flow without offline_access).
func (o *opStorage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	s := o.s
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, serverError()
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.ensureSession(ctx, tx, a); err != nil {
		return "", time.Time{}, serverError()
	}
	id, exp, err := s.insertAccessToken(ctx, tx, a.Family, a.Subject)
	if err != nil || tx.Commit() != nil {
		return "", time.Time{}, serverError()
	}
	s.emit(ctx, EventTokenCreated, "", s.pseudonymOf(ctx, a.Account), map[string]string{"kind": "access", "client_id": a.ClientID})
	return id, exp, nil
}

// CreateAccessAndRefreshTokens issues a pair. On a refresh it rotates the
// presented token in the same transaction (UPDATE … WHERE state='active');
// a lost race is reuse: the family is revoked and invalid_grant returned.
//
// REQ: TR03161-3:O.Auth_18
func (o *opStorage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s := o.s
	now := s.now()
	newRT, err := randToken(s.cfg.Rand)
	if err != nil {
		return "", "", time.Time{}, serverError()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", "", time.Time{}, serverError()
	}
	defer func() { _ = tx.Rollback() }()
	var family, subject, account, clientID string
	var scopes []string
	switch r := req.(type) {
	case *authRequest:
		if err := s.ensureSession(ctx, tx, r); err != nil {
			return "", "", time.Time{}, serverError()
		}
		family, subject, account, clientID, scopes = r.Family, r.Subject, r.Account, r.ClientID, r.Scopes
	case *refreshRequest:
		res, err := tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET state = 'rotated', rotated_at = $1 WHERE hash = $2 AND state = 'active'`,
			ms(now), sha256Hex(current))
		if err != nil {
			return "", "", time.Time{}, serverError()
		}
		if n, _ := res.RowsAffected(); n != 1 {
			_ = tx.Rollback()
			s.reuse(ctx, r.family, r.account)
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		d := deviceFrom(ctx)
		if _, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET last_used_at = $1,
			platform = CASE WHEN $2 = '' THEN platform ELSE $2 END, app_version = CASE WHEN $3 = '' THEN app_version ELSE $3 END
			WHERE id = $4`, ms(now), d.platform, d.version, r.family); err != nil {
			return "", "", time.Time{}, serverError()
		}
		family, subject, account, clientID, scopes = r.family, r.subject, r.account, r.clientID, r.scopes
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO auth_refresh_tokens (hash, family, scopes, state, created_at) VALUES ($1,$2,$3,'active',$4)`,
		sha256Hex(newRT), family, strings.Join(scopes, " "), ms(now)); err != nil {
		return "", "", time.Time{}, serverError()
	}
	id, exp, err := s.insertAccessToken(ctx, tx, family, subject)
	if err != nil || tx.Commit() != nil {
		return "", "", time.Time{}, serverError()
	}
	if _, ok := req.(*refreshRequest); ok {
		s.metrics.refresh.WithLabelValues("ok").Inc()
		s.emit(ctx, EventTokenRefreshed, "", s.pseudonymOf(ctx, account), map[string]string{"kind": "refresh", "client_id": clientID})
	} else {
		s.emit(ctx, EventTokenCreated, "", s.pseudonymOf(ctx, account), map[string]string{"kind": "refresh", "client_id": clientID})
	}
	return id, newRT, exp, nil
}

func (s *Service) reuse(ctx context.Context, family, account string) {
	s.metrics.reuse.WithLabelValues("refresh").Inc()
	s.metrics.refresh.WithLabelValues("reuse").Inc()
	s.emit(ctx, EventTokenReuse, "", s.pseudonymOf(ctx, account), map[string]string{"kind": "refresh"})
	_ = s.revokeFamily(ctx, family, "reuse_detected")
}

// TokenRequestByRefreshToken resolves a refresh token. A rotated token
// is reuse (family revoked); idle and absolute timeouts end the session.
//
// REQ: TR03161-3:O.Auth_10
// REQ: TR03161-3:O.Auth_11
func (o *opStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	s := o.s
	h := sha256Hex(token)
	var r refreshRequest
	var state, scopes, amr string
	var authTime, lastUsed int64
	err := s.db.QueryRowContext(ctx, `SELECT rt.state, rt.scopes, s.id, s.account, a.sub, s.client_id, s.amr, s.acr, s.auth_time, s.last_used_at
		FROM auth_refresh_tokens rt JOIN auth_sessions s ON s.id = rt.family JOIN auth_accounts a ON a.id = s.account
		WHERE rt.hash = $1`, h).Scan(&state, &scopes, &r.family, &r.account, &r.subject, &r.clientID, &amr, &r.acr, &authTime, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		s.metrics.refresh.WithLabelValues("invalid").Inc()
		return nil, oidc.ErrInvalidGrant()
	}
	if err != nil {
		return nil, serverError()
	}
	if state != "active" {
		s.reuse(ctx, r.family, r.account)
		return nil, oidc.ErrInvalidGrant()
	}
	now := s.now()
	r.hash, r.scopes, r.amr, r.authTime = h, strings.Fields(scopes), strings.Fields(amr), fromMS(authTime)
	reason := ""
	switch {
	case now.Sub(r.authTime) > s.cfg.RefreshAbsolute:
		reason = "absolute_timeout"
	case now.Sub(fromMS(lastUsed)) > s.cfg.RefreshIdle:
		reason = "idle_timeout"
	}
	if reason != "" {
		s.metrics.refresh.WithLabelValues("expired").Inc()
		s.emit(ctx, EventSessionExpired, reason, s.pseudonymOf(ctx, r.account), nil)
		_ = s.revokeFamily(ctx, r.family, reason)
		return nil, oidc.ErrInvalidGrant().WithDescription("session_expired")
	}
	return &r, nil
}

// revokeFamily ends a session: its refresh tokens are marked revoked
// (kept as hashes until Cleanup so that a later presentation is still
// recognised as reuse), its access-token rows are deleted and its sid is
// listed as revoked for the access-token lifetime. It is idempotent and
// emits authn_token_revoked once.
func (s *Service) revokeFamily(ctx context.Context, family, reason string) error {
	if family == "" {
		return nil
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var account string
	err = tx.QueryRowContext(ctx, `UPDATE auth_sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING account`,
		ms(now), reason, family).Scan(&account)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO auth_revoked_sessions (sid, revoked_at, expires_at) VALUES ($1,$2,$3) ON CONFLICT (sid) DO NOTHING`,
		family, ms(now), ms(now.Add(s.cfg.AccessTokenTTL+time.Minute))); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET state = 'revoked' WHERE family = $1`, family); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM auth_access_tokens WHERE family = $1`, family); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.emit(ctx, EventTokenRevoked, reason, s.pseudonymOf(ctx, account), nil)
	return nil
}

// sessionRevoked reports whether sid was revoked (the API check).
func (s *Service) sessionRevoked(ctx context.Context, sid string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_revoked_sessions WHERE sid = $1`, sid).Scan(&n)
	return n > 0, err
}

// TerminateSession ends every session of the user at the client.
func (o *opStorage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return o.s.terminate(ctx, userID, clientID, "")
}

// TerminateSessionFromRequest ends the session named by the ID token
// hint's sid, or all sessions of the user at the client.
func (o *opStorage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	sid := ""
	if r.IDTokenHintClaims != nil {
		if v, ok := r.IDTokenHintClaims.Claims["sid"].(string); ok {
			sid = v
		}
	}
	if r.UserID != "" {
		if err := o.s.terminate(ctx, r.UserID, r.ClientID, sid); err != nil {
			return "", serverError()
		}
	}
	return r.RedirectURI, nil
}

func (s *Service) terminate(ctx context.Context, subject, clientID, sid string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id FROM auth_sessions s JOIN auth_accounts a ON a.id = s.account
		WHERE a.sub = $1 AND s.client_id = $2 AND s.revoked_at IS NULL`, subject, clientID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil && (sid == "" || id == sid) {
			ids = append(ids, id)
		}
	}
	_ = rows.Close()
	for _, id := range ids {
		if err := s.revokeFamily(ctx, id, "logout"); err != nil {
			return err
		}
	}
	return nil
}

// RevokeToken implements RFC 7009: a refresh token (its hash as id)
// revokes its family; an access token id removes that token. Unknown
// tokens answer success.
func (o *opStorage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	s := o.s
	var family, cid string
	err := s.db.QueryRowContext(ctx, `SELECT rt.family, s.client_id FROM auth_refresh_tokens rt JOIN auth_sessions s ON s.id = rt.family
		WHERE rt.hash = $1 AND rt.state = 'active'`, tokenOrID).Scan(&family, &cid)
	if err == nil {
		if cid != clientID {
			return nil
		}
		if err := s.revokeFamily(ctx, family, "user_revoke"); err != nil {
			return serverError()
		}
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_access_tokens WHERE id = $1 AND subject = $2`, tokenOrID, userID); err != nil {
		return serverError()
	}
	return nil
}

// GetRefreshTokenInfo maps a refresh token to (subject, hash).
func (o *opStorage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	h := sha256Hex(token)
	var sub string
	err := o.s.db.QueryRowContext(ctx, `SELECT a.sub FROM auth_refresh_tokens rt JOIN auth_sessions s ON s.id = rt.family
		JOIN auth_accounts a ON a.id = s.account WHERE rt.hash = $1 AND s.client_id = $2 AND rt.state = 'active'`, h, clientID).Scan(&sub)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return sub, h, nil
}

type signingKey struct{ k *SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k signingKey) Key() any                                    { return k.k.Private }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k jose.JSONWebKey }

func (k publicKey) ID() string                         { return k.k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Key }

// SigningKey returns the current ES256 key.
//
// REQ: TR03161-3:O.Auth_21
func (o *opStorage) SigningKey(context.Context) (op.SigningKey, error) {
	k, err := o.s.cfg.SigningKeys.Current()
	if err != nil {
		return nil, serverError()
	}
	return signingKey{k}, nil
}

// SignatureAlgorithms lists ES256 only.
func (o *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet returns the current and retained public keys.
func (o *opStorage) KeySet(context.Context) ([]op.Key, error) {
	pub, err := o.s.cfg.SigningKeys.Public()
	if err != nil {
		return nil, serverError()
	}
	out := make([]op.Key, 0, len(pub))
	for _, k := range pub {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// GetClientByClientID returns a registered client. An unknown client is
// an invalid_client *oidc.Error: some library paths (end_session) turn
// any other error into a 500.
func (o *opStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c := o.s.clients[id]
	if c == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (o *opStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c := o.s.clients[id]
	if c == nil || c.cfg.SecretSHA256 == "" {
		return errors.New("auth: client authentication failed")
	}
	if subtle.ConstantTimeCompare([]byte(sha256Hex(secret)), []byte(c.cfg.SecretSHA256)) != 1 {
		return errors.New("auth: client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes sets only sub: no personal data is released
// (userinfo allow-list: sub).
//
// REQ: TR03161-3:O.Auth_19
func (o *opStorage) SetUserinfoFromScopes(_ context.Context, ui *oidc.UserInfo, userID, _ string, _ []string) error {
	ui.Subject = userID
	return nil
}

// SetUserinfoFromRequest adds sid to the ID token.
func (o *opStorage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	ui.Subject = req.GetSubject()
	switch r := req.(type) {
	case *authRequest:
		ui.AppendClaims("sid", r.Family)
	case *refreshRequest:
		ui.AppendClaims("sid", r.family)
	}
	return nil
}

// accessTokenActive reports whether the access token id is live: known,
// unexpired, of subject, and its session not revoked.
func (s *Service) accessTokenActive(ctx context.Context, id, subject string) (family string, exp time.Time, ok bool) {
	var e int64
	err := s.db.QueryRowContext(ctx, `SELECT t.family, t.expires_at FROM auth_access_tokens t
		WHERE t.id = $1 AND t.subject = $2 AND NOT EXISTS (SELECT 1 FROM auth_revoked_sessions r WHERE r.sid = t.family)`, id, subject).Scan(&family, &e)
	if err != nil || !s.now().Before(fromMS(e)) {
		return "", time.Time{}, false
	}
	return family, fromMS(e), true
}

// SetUserinfoFromToken answers userinfo with sub only, for live tokens.
func (o *opStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	if _, _, ok := o.s.accessTokenActive(ctx, tokenID, subject); !ok {
		return oidc.ErrAccessDenied().WithDescription("token inactive")
	}
	ui.Subject = subject
	return nil
}

// SetIntrospectionFromToken fills an introspection answer for a live
// token.
func (o *opStorage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s := o.s
	family, exp, ok := s.accessTokenActive(ctx, tokenID, subject)
	if !ok {
		return errors.New("auth: token inactive")
	}
	var cid, amr, acr string
	var authTime int64
	if err := s.db.QueryRowContext(ctx, `SELECT client_id, amr, acr, auth_time FROM auth_sessions WHERE id = $1 AND revoked_at IS NULL`, family).Scan(&cid, &amr, &acr, &authTime); err != nil {
		return errors.New("auth: token inactive")
	}
	r.Subject = subject
	r.ClientID = cid
	r.Audience = []string{Audience}
	r.Expiration = oidc.FromTime(exp)
	r.AuthTime = oidc.FromTime(fromMS(authTime))
	r.AuthenticationMethodsReferences = strings.Fields(amr)
	r.Issuer = s.cfg.Issuer()
	r.JWTID = tokenID
	r.TokenType = "Bearer"
	_ = clientID
	return nil
}

// GetPrivateClaimsFromScopes is unused (GetPrivateClaimsFromRequest).
func (o *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest adds sid, acr, amr, auth_time and scope to
// access tokens — nothing personal.
//
// REQ: TR03161-3:O.Auth_20
func (o *opStorage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, scopes []string) (map[string]any, error) {
	var sid, acr string
	var amr []string
	var at time.Time
	switch r := req.(type) {
	case *authRequest:
		sid, acr, amr, at = r.Family, r.ACR, r.AMR, r.AuthTime
	case *refreshRequest:
		sid, acr, amr, at = r.family, r.acr, r.amr, r.authTime
	default:
		return nil, oidc.ErrUnsupportedGrantType()
	}
	sc := slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "" })
	return map[string]any{"sid": sid, "acr": acr, "amr": amr, "auth_time": at.Unix(), "scope": strings.Join(sc, " ")}, nil
}

// GetKeyByIDAndClientID is unused (no JWT profile grant).
func (o *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

// ValidateJWTProfileScopes is unused (no JWT profile grant).
func (o *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotFound
}

// Health checks the database.
func (o *opStorage) Health(ctx context.Context) error {
	var one int
	return o.s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (s *Service) pseudonymOf(ctx context.Context, account string) string {
	if account == "" {
		return ""
	}
	var p string
	_ = s.db.QueryRowContext(ctx, `SELECT pseudonym FROM auth_accounts WHERE id = $1`, account).Scan(&p)
	return p
}
