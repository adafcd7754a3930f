// Package app wires the reference server: configuration, logging, the two
// databases and their migrations, the River job runner, the in-process
// sandbox peers, the HTTP listeners and graceful shutdown. It is the one
// place where the parts meet (smallstep's "wiring in one place",
// STYLE.md).
//
// Start-up order (refserver spec §1): validate the configuration; refuse
// uid 0 in the production layout unless AllowRoot (O.Arch_10; the
// development default only warns); create the data directory (0700) and
// prove it writable; open and migrate the main database (goose, then
// River's tables) and the billing database (goose only), refusing one
// database for both roles; start the sandbox peers when enabled; start
// River; bind the listeners (a port in use fails here, before anything is
// served); log one "listening" line per listener.
//
// Every start-up failure is a *StartupError, which the CLI turns into one
// stderr line and exit 2. Shutdown on context cancellation (SIGINT or
// SIGTERM in the CLI): stop accepting, drain in-flight requests for up to
// 30 s, stop River (Stop, then StopAndCancel after 10 s), close the
// sandbox and both databases.
//
// # Audit log
//
// The tamper-evident audit log (package audit, audit spec §3.3, §3.4,
// §3.7; TR-03161-3 O.Arch_11) lives in the main database: its schema is
// goose Go migration 500 (audit/sqlstore statements, both dialects), also
// counted by the /readyz "migrations" check. Before the services mount,
// startAudit loads or generates the key material in <data>/keys (0600):
// one Ed25519 checkpoint signer per log (audit-security.skey,
// audit-privacy.skey, named <origin prefix>/<log>; the prefix is the host
// of auth.issuer at first start, else "audit.invalid"), their verifier
// keys (audit-<log>.vkey and both in audit.vkey for `digakit audit verify
// --vkey`), the seal-key KEK and the network-id key. Checkpoints are
// shipped to <data>/checkpoints (FileSink). Forbidden content is redacted
// (audit.Redact), never rejected. sys_startup is recorded before serving
// (a failure fails the start); Shutdown records sys_shutdown and signs a
// last checkpoint of every grown segment before the database closes.
//
// River steps: audit_checkpoint and audit_detect every 5 s (detection
// alerts go to slog and digakit_detect_alerts_total{rule,severity};
// digakit_audit_checkpoint_age_seconds{log} is updated by the checkpoint
// step), audit_drop_expired and audit_verify daily (a failed verification
// is logged and recorded as audit_integrity_fail, rule D9).
//
// Event sources: the auth service's events (pseudonyms as subject, probe
// ids as anonymous actors, authn_token_refreshed dropped as outside the
// vocabulary), the outcome of POST /v1/redemptions as fsc_redeem_ok or
// fsc_redeem_fail, the billing protocol log as billing_exchange (the billing
// service keeps a backlog, so an audit outage delays the copy but never
// loses it), the update service's app_version_blocked and
// app_policy_changed, and TLS handshake failures as ntwk_handshake_fail
// (per network and reason ten a minute individually, the rest as one
// aggregate). The auth and update-service hooks cannot fail their action
// themselves, so every response is held back until the handler returns
// and replaced by 503 audit-unavailable when one of its appends failed:
// the client never gets the cookie, code or token whose issuance is not
// in the log. /readyz adds the checks audit_head and checkpoint_signer.
package app
