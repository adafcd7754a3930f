-- +goose Up
-- Auth service (refserver spec §3.2). Times are Unix milliseconds (UTC).
-- Secrets are never stored in the clear: usernames as a keyed blind
-- index, passwords as argon2id PHC strings, TOTP secrets sealed with
-- AES-256-GCM, recovery codes, refresh tokens, auth codes and session
-- cookies as SHA-256 hex.
CREATE TABLE auth_accounts (
    id           TEXT PRIMARY KEY,
    sub          TEXT NOT NULL UNIQUE,
    pseudonym    TEXT NOT NULL UNIQUE,
    username_idx TEXT NOT NULL UNIQUE,
    password_phc TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE auth_totp (
    account    TEXT PRIMARY KEY REFERENCES auth_accounts (id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    last_step  BIGINT NOT NULL,
    confirmed  INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE auth_recovery_codes (
    hash       TEXT PRIMARY KEY,
    account    TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX auth_recovery_codes_account ON auth_recovery_codes (account);

CREATE TABLE auth_webauthn_credentials (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    record       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX auth_webauthn_credentials_account ON auth_webauthn_credentials (account);

CREATE TABLE auth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    response_type  TEXT NOT NULL,
    response_mode  TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    max_age        BIGINT,
    created_at     BIGINT NOT NULL,
    account        TEXT NOT NULL DEFAULT '',
    subject        TEXT NOT NULL DEFAULT '',
    amr            TEXT NOT NULL DEFAULT '',
    acr            TEXT NOT NULL DEFAULT '',
    auth_time      BIGINT NOT NULL DEFAULT 0,
    family         TEXT NOT NULL DEFAULT '',
    done           INTEGER NOT NULL DEFAULT 0,
    code_hash      TEXT UNIQUE,
    code_at        BIGINT,
    consumed_at    BIGINT
);

CREATE TABLE auth_preauth (
    hash         TEXT PRIMARY KEY,
    auth_request TEXT NOT NULL,
    account      TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE auth_sessions (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    amr          TEXT NOT NULL,
    acr          TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    platform     TEXT NOT NULL,
    app_version  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT,
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_account ON auth_sessions (account);

CREATE TABLE auth_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);

CREATE TABLE auth_access_tokens (
    id         TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_access_tokens_family ON auth_access_tokens (family);

CREATE TABLE auth_revoked_sessions (
    sid        TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE auth_browser_sessions (
    hash         TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    amr          TEXT NOT NULL,
    acr          TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE auth_browser_sessions;
DROP TABLE auth_revoked_sessions;
DROP TABLE auth_access_tokens;
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE auth_preauth;
DROP TABLE auth_requests;
DROP TABLE auth_webauthn_credentials;
DROP TABLE auth_recovery_codes;
DROP TABLE auth_totp;
DROP TABLE auth_accounts;
