// Package auth is the reference server's auth service (refserver spec
// §3.2): an embedded OpenID provider (zitadel/oidc v3 op) over the
// server's SQL schema, pseudonymous accounts with argon2id passwords and
// a mandatory second factor (TOTP with a replay guard, recovery codes),
// sessions with idle and absolute timeouts, rate limits and the login
// and registration pages.
//
// # Flow
//
// Registration (POST /register): username (or a generated "u-…" name),
// password under the policy of §3.2.5 → account in state pending_2fa
// with a sealed TOTP secret; POST /register/totp confirms one code (its
// time step is stored, so it can never be replayed) and shows 10
// recovery codes once.
//
// Login: the app opens /authorize (code + PKCE S256 + state + nonce).
// An authorize pre-check rejects request_uri, response types other than
// code and scopes outside "openid offline_access diga.api";
// CreateAuthRequest rejects a missing code_challenge and every method
// but S256 (the library would accept plain). The provider redirects to
// /login; the password step runs the network and per-identifier limits
// before argon2id (unknown usernames verify against a dummy hash with
// the same parameters, so answers and timing match), then the
// second-factor step checks TOTP (UPDATE … WHERE last_step < step) or a
// recovery code (UPDATE … WHERE used_at IS NULL), marks the auth
// request done with amr ["pwd","otp","mfa"] or ["pwd","rcode"] and acr
// loa-substantial and redirects to /authorize/callback. A recovery-code
// login first enrols a new TOTP secret (the authenticator is presumed
// lost) and completes with amr ["pwd","rcode"].
//
// Tokens: access tokens are ES256 JWTs (5 min) with only iss sub aud
// exp iat nbf jti client_id scope sid acr amr auth_time; ID tokens add
// nonce, at_hash, c_hash, sid; userinfo returns sub only. Refresh tokens
// are 256-bit opaque values stored as SHA-256 and rotated on every use
// in one transaction; presenting a rotated token (or losing a
// concurrent rotation race) revokes the whole family (RFC 9700). Codes
// are consumed atomically; a second exchange revokes the family issued
// from the first. Signing keys come from a KeyProvider (KeyRing: newest
// key signs, retired keys stay in the JWKS for 30 days; development
// keys are generated into <data>/keys with mode 0600).
//
// Sessions: a session is a refresh-token family (sid). Idle (30 min)
// and absolute (12 h since auth_time) timeouts end it on refresh;
// GET/DELETE /v1/me/sessions list and revoke sessions (device list,
// logout everywhere); revoked sids are rejected by the API verifier.
// Sensitive actions (password change) require auth_time ≤ 5 min.
//
// Events go to an EventSink (audit vocabulary, audit spec §2.5) with
// pseudonyms only; SlogSink logs them with log_kind=audit.
//
// WebAuthn (optional, Config.WebAuthn): security keys and passkeys as
// second factor after the password (amr pwd hwk); the full credential
// record (flags, authenticator, attestation) is stored and updated after
// every login; clone warnings and backup-eligible flag changes are
// rejected with their own reasons.
//
// Rate limits (§3.2.10) run before any hashing: per network prefix (/24,
// /48), per typed identifier (probe id, the same key function for
// existing and unknown names: delay from the 5th failure, 15-min lock
// after 10 in an hour), per account for the second factor, and a global
// argon2id concurrency cap.
//
// TR-03161-3 requirements: O.Auth_4, O.Auth_5, O.Auth_9, O.Auth_10,
// O.Auth_13 (lock link),
// O.Auth_11, O.Auth_12, O.Auth_16–21, O.Pass_1–5 (see the REQ markers).
package auth
