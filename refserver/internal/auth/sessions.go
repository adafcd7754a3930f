package auth

import (
	"context"
	"errors"
	"strings"
	"time"
)

// SessionInfo is one entry of the device list (GET /v1/me/sessions); it
// carries no IP address.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Platform   string    `json:"platform"`
	AppVersion string    `json:"app_version"`
	Current    bool      `json:"current"`
}

func (s *Service) accountBySub(ctx context.Context, sub string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM auth_accounts WHERE sub = $1`, sub).Scan(&id)
	return id, err
}

// Sessions lists the live sessions of the subject; current marks sid.
//
// REQ: TR03161-3:O.Auth_16
func (s *Service) Sessions(ctx context.Context, sub, currentSID string) ([]SessionInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.created_at, s.last_used_at, s.platform, s.app_version
		FROM auth_sessions s JOIN auth_accounts a ON a.id = s.account WHERE a.sub = $1 AND s.revoked_at IS NULL ORDER BY s.created_at, s.id`, sub)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []SessionInfo{}
	for rows.Next() {
		var si SessionInfo
		var c, l int64
		if err := rows.Scan(&si.ID, &c, &l, &si.Platform, &si.AppVersion); err != nil {
			return nil, err
		}
		si.CreatedAt, si.LastUsedAt, si.Current = fromMS(c), fromMS(l), si.ID == currentSID
		out = append(out, si)
	}
	return out, rows.Err()
}

// RevokeSession ends one session of the subject. It reports false when
// the session does not belong to the subject.
//
// REQ: TR03161-3:O.Auth_17
func (s *Service) RevokeSession(ctx context.Context, sub, sid string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_sessions s JOIN auth_accounts a ON a.id = s.account
		WHERE a.sub = $1 AND s.id = $2 AND s.revoked_at IS NULL`, sub, sid).Scan(&n); err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil
	}
	return true, s.revokeFamily(ctx, sid, "user_revoke")
}

// RevokeAll ends every session of the subject (logout everywhere),
// except keep when it is not empty. It returns how many were revoked.
func (s *Service) RevokeAll(ctx context.Context, sub, keep, reason string) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id FROM auth_sessions s JOIN auth_accounts a ON a.id = s.account
		WHERE a.sub = $1 AND s.revoked_at IS NULL`, sub)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil && id != keep {
			ids = append(ids, id)
		}
	}
	_ = rows.Close()
	for _, id := range ids {
		if err := s.revokeFamily(ctx, id, reason); err != nil {
			return 0, err
		}
	}
	if acct, err := s.accountBySub(ctx, sub); err == nil {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM auth_browser_sessions WHERE account = $1`, acct)
	}
	return len(ids), nil
}

// RequireStepUp returns ErrStepUp unless the token's auth_time is at most
// StepUpMaxAge old (credential changes, deletion; §3.2.9).
//
// REQ: TR03161-3:O.Auth_12
func (s *Service) RequireStepUp(c *AccessClaims) error {
	if c == nil || s.now().Sub(c.AuthTime) > s.cfg.StepUpMaxAge {
		return ErrStepUp
	}
	return nil
}

// ChangePassword sets a new password after step-up and the current
// password, and revokes every other session.
//
// REQ: TR03161-3:O.Pass_3
// REQ: TR03161-3:O.Pass_4
func (s *Service) ChangePassword(ctx context.Context, c *AccessClaims, current, next string) error {
	if err := s.RequireStepUp(c); err != nil {
		s.emit(ctx, "authn_password_change_fail", "stale_auth", "", nil)
		return err
	}
	var id, phc, pseudo string
	if err := s.db.QueryRowContext(ctx, `SELECT id, password_phc, pseudonym FROM auth_accounts WHERE sub = $1`, c.Subject).Scan(&id, &phc, &pseudo); err != nil {
		return ErrLoginFailed
	}
	if err := CheckPasswordInput(current); err != nil {
		return ErrLoginFailed
	}
	ok, _, err := s.hasher.Verify(ctx, phc, current)
	if err != nil || !ok {
		s.emit(ctx, "authn_password_change_fail", "bad_current_password", pseudo, nil)
		return ErrLoginFailed
	}
	if err := CheckPasswordPolicy(next, "", s.cfg.AppName); err != nil {
		s.emit(ctx, "authn_password_change_fail", "policy_rejected", pseudo, nil)
		return err
	}
	nphc, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_accounts SET password_phc = $1 WHERE id = $2`, nphc, id); err != nil {
		return err
	}
	s.emit(ctx, EventPasswordChange, "change", pseudo, nil)
	_, err = s.RevokeAll(ctx, c.Subject, c.SID, "password_change")
	return err
}

// browser sessions (the OP session cookie, §3.2.9).

func (s *Service) newBrowserSession(ctx context.Context, account string, amr []string, authTime time.Time) (string, error) {
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO auth_browser_sessions (hash, account, amr, acr, auth_time, created_at, last_seen_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6)`, sha256Hex(tok), account, strings.Join(amr, " "), ACRSubstantial, ms(authTime), ms(now))
	return tok, err
}

type browserSession struct {
	account  string
	amr      []string
	authTime time.Time
}

var errNoSession = errors.New("auth: no browser session")

func (s *Service) browserSession(ctx context.Context, tok string) (*browserSession, error) {
	if tok == "" {
		return nil, errNoSession
	}
	var b browserSession
	var amr string
	var at, created, seen int64
	h := sha256Hex(tok)
	err := s.db.QueryRowContext(ctx, `SELECT account, amr, auth_time, created_at, last_seen_at FROM auth_browser_sessions WHERE hash = $1`, h).
		Scan(&b.account, &amr, &at, &created, &seen)
	if err != nil {
		return nil, errNoSession
	}
	now := s.now()
	if now.Sub(fromMS(seen)) > s.cfg.BrowserIdle || now.Sub(fromMS(created)) > s.cfg.BrowserAbsolute {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM auth_browser_sessions WHERE hash = $1`, h)
		return nil, errNoSession
	}
	_, _ = s.db.ExecContext(ctx, `UPDATE auth_browser_sessions SET last_seen_at = $1 WHERE hash = $2`, ms(now), h)
	b.amr, b.authTime = strings.Fields(amr), fromMS(at)
	return &b, nil
}

// Cleanup deletes expired rows (auth requests, step tokens, revoked-sid
// entries, expired access-token rows, idle browser sessions). The server
// calls it periodically.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM auth_requests WHERE created_at < $1`, ms(now.Add(-s.cfg.AuthRequestTTL - s.cfg.CodeTTL))},
		{`DELETE FROM auth_preauth WHERE created_at < $1`, ms(now.Add(-s.cfg.PreAuthTTL))},
		{`DELETE FROM auth_revoked_sessions WHERE expires_at < $1`, ms(now)},
		{`DELETE FROM auth_access_tokens WHERE expires_at < $1`, ms(now)},
		{`DELETE FROM auth_browser_sessions WHERE last_seen_at < $1`, ms(now.Add(-s.cfg.BrowserIdle))},
		// Revoked families stay (hashes only) for reuse detection until
		// their absolute timeout has passed.
		{`DELETE FROM auth_sessions WHERE revoked_at IS NOT NULL AND revoked_at < $1`, ms(now.Add(-s.cfg.RefreshAbsolute))},
		{`DELETE FROM auth_sessions WHERE auth_time < $1`, ms(now.Add(-s.cfg.RefreshAbsolute - time.Hour))},
	} {
		if _, err := s.db.ExecContext(ctx, q.sql, q.arg); err != nil {
			return err
		}
	}
	return nil
}

// LowerTrustPurpose is the consent purpose for logins below
// loa-substantial (§ 139e Abs. 10 SGB V, O.Auth_5; refserver spec
// §3.2.11).
const LowerTrustPurpose = "auth.lower_trust"

// RecordLowerTrustConsent records the user's consent to (granted) or
// withdrawal from the lower trust level as an auth event. A withdrawal
// revokes every lower-trust (acr loa-normal) session at once. It returns
// the number of revoked sessions.
//
// REQ: TR03161-3:O.Auth_5
func (s *Service) RecordLowerTrustConsent(ctx context.Context, sub string, granted bool) (int, error) {
	var account, pseudo string
	if err := s.db.QueryRowContext(ctx, `SELECT id, pseudonym FROM auth_accounts WHERE sub = $1`, sub).Scan(&account, &pseudo); err != nil {
		return 0, ErrSequence
	}
	attrs := map[string]string{"purpose": LowerTrustPurpose}
	if granted {
		s.emit(ctx, EventConsentGranted, "", pseudo, attrs)
		return 0, nil
	}
	s.emit(ctx, EventConsentWithdrawn, "", pseudo, attrs)
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM auth_sessions WHERE account = $1 AND acr = $2 AND revoked_at IS NULL`, account, ACRNormal)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	_ = rows.Close()
	for _, id := range ids {
		if err := s.revokeFamily(ctx, id, "consent_withdrawn"); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// LockLinkTTL is the lifetime of a "this wasn't me" link (§3.2.12).
const LockLinkTTL = 7 * 24 * time.Hour

// NewLockLinkToken returns a 256-bit one-time token for the "this wasn't
// me" link that notifications carry (POST /login/lock?t=…). Only its
// SHA-256 is stored.
//
// REQ: TR03161-3:O.Auth_13
func (s *Service) NewLockLinkToken(ctx context.Context, account string) (string, error) {
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO auth_preauth (hash, auth_request, account, purpose, created_at) VALUES ($1,'',$2,'lock',$3)`,
		sha256Hex(tok), account, ms(s.now()))
	return tok, err
}

// UseLockLink locks the account of a valid lock token and revokes all
// its sessions. It reports whether the token was valid; callers answer
// the same either way.
func (s *Service) UseLockLink(ctx context.Context, tok string) (bool, error) {
	var account string
	var created int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM auth_preauth WHERE hash = $1 AND purpose = 'lock' RETURNING account, created_at`, sha256Hex(tok)).
		Scan(&account, &created)
	if err != nil || s.now().Sub(fromMS(created)) > LockLinkTTL {
		return false, nil
	}
	var sub, pseudo string
	if err := s.db.QueryRowContext(ctx, `UPDATE auth_accounts SET state = $1 WHERE id = $2 RETURNING sub, pseudonym`, StateLocked, account).Scan(&sub, &pseudo); err != nil {
		return false, err
	}
	s.emit(ctx, EventLoginLock, "customer", pseudo, nil)
	if _, err := s.RevokeAll(ctx, sub, "", "user_revoke"); err != nil {
		return true, err
	}
	return true, nil
}
