package auth

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// WebAuthn errors (§3.2.7). The user is told to re-register the
// credential for both.
var (
	// ErrWebAuthnOff: WebAuthn is not configured.
	ErrWebAuthnOff = errors.New("auth: webauthn is not enabled")
	// ErrCloneWarning: the signature counter went backwards.
	ErrCloneWarning = errors.New("auth: authenticator clone warning; re-register the security key")
	// ErrFlagInconsistency: the backup-eligible flag changed.
	ErrFlagInconsistency = errors.New("auth: authenticator flags inconsistent; re-register the passkey")
)

// waUser adapts an account to webauthn.User; the handle is random bytes,
// never the account id, and the name is a constant (no personal data).
type waUser struct {
	handle []byte
	creds  []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return "digakit account" }
func (u *waUser) WebAuthnDisplayName() string                { return "digakit account" }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (s *Service) waUser(ctx context.Context, account string, create bool) (*waUser, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT handle FROM auth_webauthn_users WHERE account = $1`, account).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) && create {
		tok, err := randToken(s.cfg.Rand)
		if err != nil {
			return nil, err
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_webauthn_users (account, handle) VALUES ($1,$2) ON CONFLICT (account) DO NOTHING`, account, tok); err != nil {
			return nil, err
		}
		return s.waUser(ctx, account, false)
	}
	if err != nil {
		return nil, err
	}
	handle, _ := base64.RawURLEncoding.DecodeString(h)
	u := &waUser{handle: handle}
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM auth_webauthn_credentials WHERE account = $1 ORDER BY created_at, id`, account)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(rec), &c); err != nil {
			return nil, errors.New("auth: stored webauthn credential unreadable")
		}
		u.creds = append(u.creds, c)
	}
	return u, rows.Err()
}

func (s *Service) saveChallenge(ctx context.Context, account, purpose string, sd *webauthn.SessionData) (string, error) {
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(sd)
	_, err = s.db.ExecContext(ctx, `INSERT INTO auth_webauthn_challenges (hash, account, purpose, data, created_at) VALUES ($1,$2,$3,$4,$5)`,
		sha256Hex(tok), account, purpose, string(b), ms(s.now()))
	return tok, err
}

// takeChallenge consumes a ceremony state (single use).
func (s *Service) takeChallenge(ctx context.Context, tok, account, purpose string) (*webauthn.SessionData, error) {
	var data string
	var created int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM auth_webauthn_challenges WHERE hash = $1 AND account = $2 AND purpose = $3 RETURNING data, created_at`,
		sha256Hex(tok), account, purpose).Scan(&data, &created)
	if err != nil || s.now().Sub(fromMS(created)) > s.cfg.PreAuthTTL {
		return nil, ErrSequence
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &sd); err != nil {
		return nil, ErrSequence
	}
	return &sd, nil
}

// BeginWebAuthnRegistration starts registering a security key or passkey
// as second factor for account (the caller enforces step-up). It returns
// the creation options for the client and a ceremony token.
func (s *Service) BeginWebAuthnRegistration(ctx context.Context, account string) (*protocol.CredentialCreation, string, error) {
	if s.wa == nil {
		return nil, "", ErrWebAuthnOff
	}
	u, err := s.waUser(ctx, account, true)
	if err != nil {
		return nil, "", err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	cc, sd, err := s.wa.BeginRegistration(u, webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationPreferred}))
	if err != nil {
		return nil, "", errors.New("auth: webauthn registration could not start")
	}
	tok, err := s.saveChallenge(ctx, account, "register", sd)
	return cc, tok, err
}

// FinishWebAuthnRegistration verifies the attestation in r's body and
// stores the full credential record (flags, authenticator, attestation).
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, account, tok string, r *http.Request) error {
	if s.wa == nil {
		return ErrWebAuthnOff
	}
	sd, err := s.takeChallenge(ctx, tok, account, "register")
	if err != nil {
		return err
	}
	u, err := s.waUser(ctx, account, false)
	if err != nil {
		return err
	}
	cred, err := s.wa.FinishRegistration(u, *sd, r)
	if err != nil {
		return ErrSecondFactor
	}
	rec, _ := json.Marshal(cred)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_webauthn_credentials (id, account, record, created_at) VALUES ($1,$2,$3,$4)`,
		base64.RawURLEncoding.EncodeToString(cred.ID), account, string(rec), ms(s.now())); err != nil {
		return err
	}
	s.emit(ctx, EventMFAEnrolled, "", s.pseudonymOf(ctx, account), map[string]string{"factor": "webauthn"})
	return nil
}

// BeginWebAuthnLogin starts the WebAuthn second factor for the password
// step's token and returns the assertion options.
func (s *Service) BeginWebAuthnLogin(ctx context.Context, preauthToken string) (*protocol.CredentialAssertion, error) {
	if s.wa == nil {
		return nil, ErrWebAuthnOff
	}
	account, _, err := s.preauth(ctx, preauthToken, "2fa")
	if err != nil {
		return nil, ErrSequence
	}
	u, err := s.waUser(ctx, account, false)
	if err != nil || len(u.creds) == 0 {
		return nil, ErrSecondFactor
	}
	ca, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, ErrSecondFactor
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_webauthn_challenges WHERE hash = $1`, sha256Hex("login:"+preauthToken)); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(sd)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_webauthn_challenges (hash, account, purpose, data, created_at) VALUES ($1,$2,'login',$3,$4)`,
		sha256Hex("login:"+preauthToken), account, string(b), ms(s.now())); err != nil {
		return nil, err
	}
	return ca, nil
}

// verifyWebAuthn checks the assertion in r for account; it updates the
// stored sign count, backup state and last use, and rejects clone
// warnings and BE-flag inconsistencies with their own reasons.
func (s *Service) verifyWebAuthn(ctx context.Context, account, preauthToken string, r *http.Request) error {
	actor := s.pseudonymOf(ctx, account)
	sd, err := s.takeChallenge(ctx, "login:"+preauthToken, account, "login")
	if err != nil {
		return err
	}
	u, err := s.waUser(ctx, account, false)
	if err != nil {
		return err
	}
	cred, err := s.wa.FinishLogin(u, *sd, r)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && strings.Contains(pe.Details, "Backup Eligible flag inconsistency") {
			s.emit(ctx, EventLoginFail, "webauthn_flag_inconsistency", actor, nil)
			return ErrFlagInconsistency
		}
		s.emit(ctx, EventLoginFail, "webauthn_failed", actor, nil)
		return ErrSecondFactor
	}
	if cred.Authenticator.CloneWarning {
		s.emit(ctx, EventLoginFail, "clone_warning", actor, nil)
		return ErrCloneWarning
	}
	rec, _ := json.Marshal(cred)
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_webauthn_credentials SET record = $1, last_used_at = $2 WHERE id = $3 AND account = $4`,
		string(rec), ms(s.now()), base64.RawURLEncoding.EncodeToString(cred.ID), account); err != nil {
		return err
	}
	return nil
}

// FinishWebAuthnLogin completes the login with a WebAuthn assertion (amr
// pwd + hwk).
func (s *Service) FinishWebAuthnLogin(ctx context.Context, preauthToken string, r *http.Request) (authReqID, account string, err error) {
	if s.wa == nil {
		return "", "", ErrWebAuthnOff
	}
	return s.secondFactor(ctx, preauthToken, "webauthn", func(account string) error {
		return s.verifyWebAuthn(ctx, account, preauthToken, r)
	})
}
