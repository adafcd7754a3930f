// Package audit is digakit's tamper-evident audit trail (audit spec
// /work/shared/specs/audit.md; BSI TR-03161-3 O.Arch_11, O.Org_3/4,
// O.Pass_4, O.Purp_5, O.Data_2/7; OWASP ASVS 5.0 V16; DiGAV Anlage 1
// logging of identification, authentication and authorisation events).
//
// # Flow
//
//  1. A caller describes an [Event] with pseudonyms only: type names from the
//     OWASP Application Logging Vocabulary plus DiGA additions (§2.5, [Type]),
//     an [Actor], an optional subject pseudonym, typed members and a few
//     attributes. Raw IP addresses, user agents and session ids are turned
//     into keyed ids or hashes; values that must be kept go into Sealed and
//     are encrypted per subject (§3.5).
//  2. The encoder validates every value (§3.1): control characters,
//     e-mail addresses, JWTs, Freischaltcodes (the 16-character activation
//     codes of DiGA prescriptions), KVNR (the statutory health insurance
//     number), base32/base64/hex secrets, password-like strings, raw IPs and
//     URLs with query strings are refused with [ErrForbiddenContent] under
//     [Reject] (tests, strict mode) or replaced by "[redacted:<rule>]" plus an
//     input_validation_fail event under [Redact] (production).
//  3. [Log.InTx] appends inside the caller's database transaction
//     ([Tx.SQL] is the *sql.Tx for business writes): the event and the
//     action commit together, and an audit failure fails the action
//     ([ErrAuditWriteFailed], HTTP 503 audit-unavailable), even if the
//     callback swallows the error (§3.3). [Log.Join] does the same for a
//     transaction the caller began itself. [Log.Record] appends events
//     without business writes with group commit.
//  4. Each event gets log, segment (a calendar month by default), seq, ts
//     and a ULID id under the head lock, is encoded canonically (§2.4, a
//     strict subset of RFC 8785 JCS), and becomes a leaf of an RFC 6962
//     Merkle tree per segment (x/mod/sumdb/tlog): the row stores the leaf
//     bytes, the leaf hash and the running root; the interior hashes allow
//     inclusion ([Log.Prove]) and consistency ([Log.ProveConsistency]) proofs.
//  5. [Log.Checkpoint] is a periodic step that signs C2SP tlog-checkpoint
//     notes with Ed25519 (x/mod/sumdb/note) and ships them through
//     [CheckpointSink]s ([FileSink], [HTTPSink]) to a separate system, so
//     that even a database administrator cannot rewrite or truncate the log
//     unnoticed (§3.4). [Log.Status] reports checkpoint age and shipping
//     backlog for the metric digakit_audit_checkpoint_age_seconds.
//  6. [Verify] recomputes everything read-only and reports the first bad
//     event (§3.9); `digakit audit verify` is its CLI.
//  7. Retention drops whole closed segments ([Log.DropExpired], §3.2); the
//     segment row with its final checkpoint stays and an
//     audit_segment_dropped event proves what was removed. [Log.Shred]
//     destroys a subject's seal key (crypto-shredding, GDPR Art. 17): the
//     hashes stay valid, the sealed values become unreadable.
//  8. Reads need the audit-reader role and are audited themselves
//     ([Log.Read], §3.6); users read their own protocol through
//     [Log.Protocol].
//
// Storage is behind the small [Store] interface: audit/sqlstore (SQLite
// and PostgreSQL on database/sql) and audit/memstore; audit/audittest is the
// conformance suite. Detection rules live in audit/detect. The package
// starts no goroutines; checkpointing, retention and detection are step
// functions that the refserver runs as River periodic jobs.
package audit
