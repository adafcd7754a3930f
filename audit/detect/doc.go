// Package detect evaluates committed audit events against detection rules
// (audit spec §3.7; BSI TR-03161-3 O.Org_3 monitoring with alarms, O.Org_4
// a defined process per alarm type; DiGAV Anlage 1 automated evaluation).
//
// Flow: [Engine.Evaluate] is an idempotent step (the refserver runs it as a
// River periodic job every 5 s). It reads each log from a persisted cursor
// ([State]: audit_cursors) up to the head, slides per-rule windows keyed by
// subject, actor, network id or globally, and raises an [Alert] when a
// threshold is reached. Alerts are claimed in audit_alerts by (rule, key,
// window start) before the cursor moves, so a restart or an overlapping run
// never alerts twice, and alerts a sink did not accept are re-sent by the
// next step. Each alert carries a runbook id documented in docs/runbooks.md
// and goes to every [AlertSink] ([WebhookSink] in the Alertmanager v2
// format, [SlogSink]) and to the Config.Counter metric hook.
//
// [DefaultRules] cover brute force on one account (D1), credential
// stuffing from one network (D2), Freischaltcode guessing (D4/D4N),
// code reuse (D5), second-factor guessing (D6), token reuse (D7), unusual
// audit log access (D8/D8H/D8V), integrity problems (D9), bursts of TLS
// handshake failures (D10), authorization probing (D12), dead sessions
// (D13), monitor down (D14), admin activity (D15), notification failures
// (D16), overdue deletions (D17) and TOTP replay (D18). Thresholds are
// configurable proposals. CRITICAL events no rule covers go to manual
// triage (RB-TRIAGE). Detection only alerts; enforcement is synchronous in
// the request path.
package detect
