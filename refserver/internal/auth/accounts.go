package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Account states (§3.2.2).
const (
	StatePending = "pending_2fa"
	StateActive  = "active"
	StateLocked  = "locked"
)

// Errors of the account API. Their texts are generic and carry no
// identifier, password or code.
var (
	// ErrUsernameTaken: choose another username.
	ErrUsernameTaken = errors.New("auth: choose another username")
	// ErrUsernameInvalid: the username is not 3–64 printable characters.
	ErrUsernameInvalid = errors.New("auth: username not acceptable")
	// ErrLoginFailed: wrong username or password (never says which).
	ErrLoginFailed = errors.New("auth: login failed")
	// ErrSecondFactor: the second factor was wrong, malformed or replayed.
	ErrSecondFactor = errors.New("auth: second factor rejected")
	// ErrSequence: a step was requested without its predecessor, or its
	// state expired.
	ErrSequence = errors.New("auth: login step out of sequence")
	// ErrThrottled: a limiter rejected the attempt; see RetryAfter.
	ErrThrottled = errors.New("auth: too many attempts")
	// ErrStepUp: the action needs a fresh login (auth_time ≤ 5 min).
	ErrStepUp = errors.New("auth: step-up required")
	// ErrRegistrationGate: the registration code was not accepted.
	ErrRegistrationGate = errors.New("auth: registration code not accepted")
)

// ThrottleError is ErrThrottled with the Retry-After.
type ThrottleError struct {
	RetryAfter time.Duration
	Limiter    string
}

func (e *ThrottleError) Error() string { return ErrThrottled.Error() }

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(t error) bool { return t == ErrThrottled }

// Enrollment is the result of a registration: shown once to the user.
type Enrollment struct {
	// Username is the login name (generated when none was chosen).
	Username string
	// TOTPSecret is the base32 secret; TOTPURL the otpauth:// URI.
	TOTPSecret, TOTPURL string
	// Token continues the enrollment (TOTP confirmation), valid PreAuthTTL.
	Token string
}

func (s *Service) usernameIndex(norm string) string {
	return keyedHex(s.cfg.Keys.Username[:], "digakit/username/v1", norm)
}

// probeID is the rate-limit key of a typed identifier: the same function
// for existing and unknown accounts (§3.2.10).
func (s *Service) probeID(typed string) string {
	n, ok := NormalizeUsername(typed)
	if !ok {
		n = typed
	}
	return "probe:" + keyedHex(s.cfg.Keys.Probe[:], "digakit/probe/v1", n)[:20]
}

// Register creates a pseudonymous account in state pending_2fa with a
// TOTP secret to confirm. An empty username gets a generated one.
func (s *Service) Register(ctx context.Context, username, password string) (*Enrollment, error) {
	generated := strings.TrimSpace(username) == ""
	if generated {
		r, err := randText(s.cfg.Rand, 10)
		if err != nil {
			return nil, err
		}
		username = "u-" + strings.ToLower(r)
	}
	norm, ok := NormalizeUsername(username)
	if !ok {
		return nil, ErrUsernameInvalid
	}
	if err := CheckPasswordPolicy(password, norm, s.cfg.AppName); err != nil {
		return nil, err
	}
	phc, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	id, err1 := randText(s.cfg.Rand, 26)
	sub, err2 := randText(s.cfg.Rand, 26)
	pseudo, err3 := randText(s.cfg.Rand, 16)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.AppName, AccountName: "account", Period: TOTPPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: s.cfg.Rand})
	if err != nil {
		return nil, errors.New("auth: TOTP generation failed")
	}
	sealed, err := seal(s.cfg.Keys.Seal, s.cfg.Rand, []byte(key.Secret()))
	if err != nil {
		return nil, err
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `INSERT INTO auth_accounts (id, sub, pseudonym, username_idx, password_phc, state, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (username_idx) DO NOTHING`,
		id, strings.ToLower(sub), strings.ToLower(pseudo), s.usernameIndex(norm), phc, StatePending, ms(now))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, ErrUsernameTaken
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO auth_totp (account, secret, last_step, confirmed, created_at) VALUES ($1,$2,0,0,$3)`,
		id, sealed, ms(now)); err != nil {
		return nil, err
	}
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO auth_preauth (hash, auth_request, account, purpose, created_at) VALUES ($1,'',$2,'enroll',$3)`,
		sha256Hex(tok), id, ms(now)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.emit(ctx, EventUserCreated, "", strings.ToLower(pseudo), nil)
	e := &Enrollment{TOTPSecret: key.Secret(), TOTPURL: key.URL(), Token: tok}
	if generated {
		e.Username = username
	} else {
		e.Username = norm
	}
	return e, nil
}

// preauth resolves a one-time step token of purpose; it does not consume.
func (s *Service) preauth(ctx context.Context, token, purpose string) (account, authReq string, err error) {
	var created int64
	err = s.db.QueryRowContext(ctx, `SELECT account, auth_request, created_at FROM auth_preauth WHERE hash = $1 AND purpose = $2`,
		sha256Hex(token), purpose).Scan(&account, &authReq, &created)
	if err != nil || s.now().Sub(fromMS(created)) > s.cfg.PreAuthTTL {
		return "", "", ErrSequence
	}
	return account, authReq, nil
}

// ConfirmTOTP activates the account with one valid code (whose step is
// stored so that it cannot be replayed) and returns 10 recovery codes,
// shown once.
//
// REQ: TR03161-3:O.Auth_4
func (s *Service) ConfirmTOTP(ctx context.Context, token, code string) ([]string, error) {
	account, _, err := s.preauth(ctx, token, "enroll")
	if err != nil {
		return nil, err
	}
	c, ok := NormalizeTOTP(code)
	if !ok {
		return nil, ErrSecondFactor
	}
	var sealed string
	if err := s.db.QueryRowContext(ctx, `SELECT secret FROM auth_totp WHERE account = $1 AND confirmed = 0`, account).Scan(&sealed); err != nil {
		return nil, ErrSequence
	}
	secret, err := unseal(s.cfg.Keys.Seal, sealed)
	if err != nil {
		return nil, err
	}
	step, ok := MatchTOTP(string(secret), c, s.now())
	if !ok {
		return nil, ErrSecondFactor
	}
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE auth_totp SET confirmed = 1, last_step = $1 WHERE account = $2 AND confirmed = 0`, step, account)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, ErrSequence
	}
	if _, err := tx.ExecContext(ctx, `UPDATE auth_accounts SET state = $1 WHERE id = $2 AND state = $3`, StateActive, account, StatePending); err != nil {
		return nil, err
	}
	if err := insertRecovery(ctx, tx, account, hashes, now); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM auth_preauth WHERE hash = $1`, sha256Hex(token)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.emit(ctx, EventMFAEnrolled, "", s.pseudonymOf(ctx, account), map[string]string{"factor": "totp"})
	return codes, nil
}

func (s *Service) newRecoveryCodes() (codes, hashes []string, err error) {
	for range 10 {
		r, err := randText(s.cfg.Rand, 24)
		if err != nil {
			return nil, nil, err
		}
		codes = append(codes, formatRecoveryCode(r))
		hashes = append(hashes, RecoveryCodeHash(r))
	}
	return codes, hashes, nil
}

func insertRecovery(ctx context.Context, tx *sql.Tx, account string, hashes []string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM auth_recovery_codes WHERE account = $1`, account); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_recovery_codes (hash, account, created_at) VALUES ($1,$2,$3)`, h, account, ms(now)); err != nil {
			return err
		}
	}
	return nil
}

// RegenerateRecoveryCodes replaces all codes of the account (the caller
// enforces step-up).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, account string) ([]string, error) {
	codes, hashes, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := insertRecovery(ctx, tx, account, hashes, s.now()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.emit(ctx, EventRecoveryRegen, "", s.pseudonymOf(ctx, account), nil)
	return codes, nil
}

type accountRow struct {
	id, sub, pseudonym, phc, state string
}

func (s *Service) accountByUsername(ctx context.Context, typed string) (*accountRow, error) {
	norm, ok := NormalizeUsername(typed)
	if !ok {
		return nil, nil
	}
	var a accountRow
	err := s.db.QueryRowContext(ctx, `SELECT id, sub, pseudonym, password_phc, state FROM auth_accounts WHERE username_idx = $1`,
		s.usernameIndex(norm)).Scan(&a.id, &a.sub, &a.pseudonym, &a.phc, &a.state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// checkPassword runs the rate limits and the password verification for
// a typed identifier. Unknown identifiers and wrong passwords take the
// same path (dummy hash) and return ErrLoginFailed; limits return a
// *ThrottleError before any hashing.
//
// REQ: TR03161-3:O.Auth_9
func (s *Service) checkPassword(ctx context.Context, typed, password, remote string) (*accountRow, error) {
	probe := s.probeID(typed)
	if d, ok := s.limiter.AllowNetwork(NetworkID(remote)); !ok {
		s.metrics.rejections.WithLabelValues("login_network").Inc()
		s.emit(ctx, EventLoginFail, "throttled", probe, map[string]string{"limiter": "login_network"})
		return nil, &ThrottleError{RetryAfter: d, Limiter: "login_network"}
	}
	if d, ok := s.limiter.AllowIdentifier(probe); !ok {
		s.metrics.rejections.WithLabelValues("login_identifier").Inc()
		s.emit(ctx, EventLoginFail, "throttled", probe, map[string]string{"limiter": "login_identifier"})
		return nil, &ThrottleError{RetryAfter: d, Limiter: "login_identifier"}
	}
	fail := func(acct *accountRow, reason string) error {
		actor := probe
		if acct != nil {
			actor = acct.pseudonym
		}
		s.metrics.logins.WithLabelValues("password", "fail").Inc()
		s.emit(ctx, EventLoginFail, reason, actor, nil)
		if s.limiter.FailIdentifier(probe) {
			s.metrics.lockouts.WithLabelValues("identifier").Inc()
			s.emit(ctx, EventLoginFailMax, "", actor, map[string]string{"max_limit": "10"})
			s.emit(ctx, EventLoginLock, "maxretries", actor, nil)
		}
		return ErrLoginFailed
	}
	if err := CheckPasswordInput(password); err != nil {
		_ = fail(nil, "bad_password")
		return nil, err
	}
	acct, err := s.accountByUsername(ctx, typed)
	if err != nil {
		return nil, err
	}
	phc := ""
	if acct != nil {
		phc = acct.phc
	}
	ok, rehash, err := s.hasher.Verify(ctx, phc, password)
	if errors.Is(err, ErrHasherBusy) {
		s.metrics.rejections.WithLabelValues("argon2").Inc()
		return nil, &ThrottleError{RetryAfter: time.Second, Limiter: "argon2"}
	}
	if acct == nil {
		return nil, fail(nil, "unknown_identifier")
	}
	if err != nil || !ok {
		return nil, fail(acct, "bad_password")
	}
	if acct.state != StateActive {
		return nil, fail(acct, "account_state")
	}
	s.limiter.SucceedIdentifier(probe)
	s.metrics.logins.WithLabelValues("password", "ok").Inc()
	if rehash {
		if phc, err := s.hasher.Hash(ctx, password); err == nil {
			_, _ = s.db.ExecContext(ctx, `UPDATE auth_accounts SET password_phc = $1 WHERE id = $2`, phc, acct.id)
		}
	}
	return acct, nil
}

// PasswordStep checks username and password for an authorization
// request and returns a one-time token for the second-factor step.
func (s *Service) PasswordStep(ctx context.Context, authRequestID, username, password, remote string) (string, error) {
	if _, err := s.authRequest(ctx, authRequestID); err != nil {
		s.emit(ctx, EventSequenceFail, "", "", map[string]string{"step": "password"})
		return "", ErrSequence
	}
	acct, err := s.checkPassword(ctx, username, password, remote)
	if err != nil {
		return "", err
	}
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_preauth (hash, auth_request, account, purpose, created_at) VALUES ($1,$2,$3,'2fa',$4)`,
		sha256Hex(tok), authRequestID, acct.id, ms(s.now())); err != nil {
		return "", err
	}
	return tok, nil
}

// VerifyTOTP checks a code for an active TOTP factor and records its
// step atomically (UPDATE … WHERE last_step < step): the same code — or
// an older one — never passes twice, even when submitted concurrently.
//
// REQ: TR03161-3:O.Auth_4
func (s *Service) VerifyTOTP(ctx context.Context, account, code string) error {
	actor := s.pseudonymOf(ctx, account)
	c, ok := NormalizeTOTP(code)
	if !ok {
		s.emit(ctx, EventLoginFail, "otp_format", actor, nil)
		return ErrSecondFactor
	}
	var sealed string
	if err := s.db.QueryRowContext(ctx, `SELECT secret FROM auth_totp WHERE account = $1 AND confirmed = 1`, account).Scan(&sealed); err != nil {
		s.emit(ctx, EventLoginFail, "otp_invalid", actor, nil)
		return ErrSecondFactor
	}
	secret, err := unseal(s.cfg.Keys.Seal, sealed)
	if err != nil {
		return err
	}
	step, ok := MatchTOTP(string(secret), c, s.now())
	if !ok {
		s.emit(ctx, EventLoginFail, "otp_invalid", actor, nil)
		return ErrSecondFactor
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_totp SET last_step = $1 WHERE account = $2 AND last_step < $1`, step, account)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		s.emit(ctx, EventLoginFail, "otp_replay", actor, nil)
		return ErrSecondFactor
	}
	return nil
}

// useRecoveryCode consumes one recovery code atomically.
func (s *Service) useRecoveryCode(ctx context.Context, account, code string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE auth_recovery_codes SET used_at = $1 WHERE hash = $2 AND account = $3 AND used_at IS NULL`,
		ms(s.now()), RecoveryCodeHash(code), account)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		s.emit(ctx, EventLoginFail, "recovery_invalid", s.pseudonymOf(ctx, account), nil)
		return ErrSecondFactor
	}
	s.emit(ctx, EventRecoveryUsed, "", s.pseudonymOf(ctx, account), nil)
	return nil
}

// Second-factor kinds of SecondFactorStep.
const (
	FactorTOTP     = "totp"
	FactorRecovery = "recovery"
)

// SecondFactorStep completes a login: it consumes the password step's
// token, checks the second factor and marks the authorization request
// done with two factors in amr. It returns the request id and the
// account for the browser session.
//
// REQ: TR03161-3:O.Auth_4
func (s *Service) SecondFactorStep(ctx context.Context, token, kind, code string) (authReqID, account string, err error) {
	method := "totp"
	if kind == FactorRecovery {
		method = "recovery"
	}
	return s.secondFactor(ctx, token, method, func(account string) error {
		if method == "recovery" {
			return s.useRecoveryCode(ctx, account, code)
		}
		return s.VerifyTOTP(ctx, account, code)
	})
}

var amrOf = map[string][]string{
	"totp":     {"pwd", "otp", "mfa"},
	"recovery": {"pwd", "rcode"},
	"webauthn": {"pwd", "hwk", "mfa"},
}

// secondFactor runs one second-factor check for the password step's
// token: limiter, check, single-use consumption of the token, then the
// auth request is marked done.
func (s *Service) secondFactor(ctx context.Context, token, method string, check func(account string) error) (authReqID, account string, err error) {
	account, authReqID, err = s.preauth(ctx, token, "2fa")
	if err != nil {
		s.emit(ctx, EventSequenceFail, "", "", map[string]string{"step": "second_factor"})
		return "", "", ErrSequence
	}
	if d, ok := s.limiter.AllowSecondFactor(account); !ok {
		s.metrics.rejections.WithLabelValues("second_factor").Inc()
		s.emit(ctx, EventLoginFail, "throttled", s.pseudonymOf(ctx, account), map[string]string{"limiter": "second_factor"})
		return "", "", &ThrottleError{RetryAfter: d, Limiter: "second_factor"}
	}
	if err := check(account); err != nil {
		s.metrics.logins.WithLabelValues(method, "fail").Inc()
		if s.limiter.FailSecondFactor(account) {
			s.metrics.lockouts.WithLabelValues("second_factor").Inc()
			s.emit(ctx, EventLoginLock, "maxretries", s.pseudonymOf(ctx, account), map[string]string{"step": "second_factor"})
		}
		return "", "", err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_preauth WHERE hash = $1`, sha256Hex(token))
	if err != nil {
		return "", "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", "", ErrSequence
	}
	s.metrics.logins.WithLabelValues(method, "ok").Inc()
	if method == "recovery" {
		// A recovery code means the authenticator is lost: TOTP must be
		// enrolled again before the login completes (§3.2.8).
		e, err := s.startReenroll(ctx, account, authReqID)
		if err != nil {
			return "", "", err
		}
		return "", "", &ReenrollError{Enrollment: e}
	}
	if err := s.completeAuthRequest(ctx, authReqID, account, amrOf[method], s.now()); err != nil {
		return "", "", err
	}
	return authReqID, account, nil
}

// ReenrollError is returned by SecondFactorStep after a valid recovery
// code: the login continues with a new TOTP enrollment (show the secret,
// confirm with ConfirmReenrollment).
type ReenrollError struct {
	Enrollment *Enrollment
}

func (e *ReenrollError) Error() string { return "auth: TOTP re-enrollment required" }

// startReenroll replaces the TOTP secret with a new unconfirmed one and
// returns a step token bound to the authorization request.
func (s *Service) startReenroll(ctx context.Context, account, authReqID string) (*Enrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.AppName, AccountName: "account", Period: TOTPPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: s.cfg.Rand})
	if err != nil {
		return nil, errors.New("auth: TOTP generation failed")
	}
	sealed, err := seal(s.cfg.Keys.Seal, s.cfg.Rand, []byte(key.Secret()))
	if err != nil {
		return nil, err
	}
	tok, err := randToken(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE auth_totp SET secret = $1, confirmed = 0 WHERE account = $2`, sealed, account); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO auth_preauth (hash, auth_request, account, purpose, created_at) VALUES ($1,$2,$3,'reenroll',$4)`,
		sha256Hex(tok), authReqID, account, ms(s.now())); err != nil {
		return nil, err
	}
	return &Enrollment{TOTPSecret: key.Secret(), TOTPURL: key.URL(), Token: tok}, nil
}

// ConfirmReenrollment confirms the new TOTP secret after a recovery-code
// login and completes the authorization request (amr pwd rcode).
func (s *Service) ConfirmReenrollment(ctx context.Context, token, code string) (authReqID, account string, err error) {
	account, authReqID, err = s.preauth(ctx, token, "reenroll")
	if err != nil {
		return "", "", err
	}
	c, ok := NormalizeTOTP(code)
	if !ok {
		return "", "", ErrSecondFactor
	}
	var sealed string
	if err := s.db.QueryRowContext(ctx, `SELECT secret FROM auth_totp WHERE account = $1 AND confirmed = 0`, account).Scan(&sealed); err != nil {
		return "", "", ErrSequence
	}
	secret, err := unseal(s.cfg.Keys.Seal, sealed)
	if err != nil {
		return "", "", err
	}
	step, ok := MatchTOTP(string(secret), c, s.now())
	if !ok {
		return "", "", ErrSecondFactor
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_totp SET confirmed = 1, last_step = $1 WHERE account = $2 AND confirmed = 0 AND last_step < $1`, step, account)
	if err != nil {
		return "", "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", "", ErrSecondFactor
	}
	if res, err := s.db.ExecContext(ctx, `DELETE FROM auth_preauth WHERE hash = $1`, sha256Hex(token)); err != nil {
		return "", "", err
	} else if n, _ := res.RowsAffected(); n != 1 {
		return "", "", ErrSequence
	}
	s.emit(ctx, EventMFAEnrolled, "", s.pseudonymOf(ctx, account), map[string]string{"factor": "totp", "after": "recovery"})
	if err := s.completeAuthRequest(ctx, authReqID, account, amrOf["recovery"], s.now()); err != nil {
		return "", "", err
	}
	return authReqID, account, nil
}

// completeAuthRequest marks the request done for account with a new
// session id (sid, the refresh-token family).
func (s *Service) completeAuthRequest(ctx context.Context, id, account string, amr []string, authTime time.Time) error {
	var sub, pseudo string
	if err := s.db.QueryRowContext(ctx, `SELECT sub, pseudonym FROM auth_accounts WHERE id = $1`, account).Scan(&sub, &pseudo); err != nil {
		return ErrSequence
	}
	fam, err := randText(s.cfg.Rand, 26)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE auth_requests SET done = 1, account = $1, subject = $2, amr = $3, acr = $4, auth_time = $5, family = $6
		WHERE id = $7 AND done = 0`, account, sub, strings.Join(amr, " "), ACRSubstantial, ms(authTime), strings.ToLower(fam), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrSequence
	}
	s.emit(ctx, EventLoginSuccess, "", pseudo, map[string]string{"amr": strings.Join(amr, " ")})
	s.emit(ctx, EventSessionCreated, "", pseudo, nil)
	return nil
}
