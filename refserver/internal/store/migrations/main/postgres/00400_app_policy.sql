-- +goose Up
-- Update service (refserver spec §3.4, O.Arch_12): the minimum app version
-- per platform. app_policy holds the policy in force, one row per
-- platform, as the JSON document of appversion.Policy; every change is
-- kept in app_policy_history with its revision, time and actor, so the
-- policy is versioned and a lost concurrent update fails on the
-- history's primary key.
CREATE TABLE app_policy (
    platform   TEXT PRIMARY KEY CHECK (platform IN ('ios', 'android', 'web')),
    revision   BIGINT NOT NULL CHECK (revision > 0),
    policy     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE app_policy_history (
    platform   TEXT NOT NULL CHECK (platform IN ('ios', 'android', 'web')),
    revision   BIGINT NOT NULL CHECK (revision > 0),
    policy     TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (platform, revision)
);

-- +goose Down
DROP TABLE app_policy_history;
DROP TABLE app_policy;
