-- +goose Up
-- WebAuthn second factor (refserver spec §3.2.7): a random user handle
-- per account (never the account id) and one-time ceremony state.
CREATE TABLE auth_webauthn_users (
    account TEXT PRIMARY KEY REFERENCES auth_accounts (id) ON DELETE CASCADE,
    handle  TEXT NOT NULL UNIQUE
);

CREATE TABLE auth_webauthn_challenges (
    hash       TEXT PRIMARY KEY,
    account    TEXT NOT NULL REFERENCES auth_accounts (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE auth_webauthn_challenges;
DROP TABLE auth_webauthn_users;
