// Package appversion is the reference server's update service (refserver
// spec §3.4, BSI TR-03161-3 O.Arch_12: security-critical updates must
// reach the apps).
//
// # Policy
//
// Each platform (ios, android, web) has at most one [Policy]: a minimum
// version, a recommended version, exact blocked versions, a grace period
// (grace_until), the store URL, an advisory id and a message key for the
// app's prompt. Versions are strict SemVer 2.0.0 ([semver.Parse]; no "v"
// prefix, at most 64 bytes; precedence per SemVer §11, build metadata
// ignored). Policies come from configuration ([Config.Policies]) and from
// the main database (package appversion/sqlstore, tables app_policy and
// app_policy_history of migration 00400): every change gets the next
// revision and a history row with time and actor, and is reported as
// app_policy_changed through an audit hook. Operators change
// policies with "digakit app-policy set" (or the admin API); a running
// server picks them up through [Gate.Refresh] / [Gate.Watch] or at once
// through [Gate.SetPolicies].
//
// # Gate
//
// [Gate.Middleware] sits in the API chain after request id, access log
// and panic recovery and before authentication (spec §3.1). Every gated
// request must carry
//
//	X-App-Platform: ios|android|web
//	X-App-Version:  MAJOR.MINOR.PATCH[-pre][+build]
//
// and is answered
//
//   - 426 with the RFC 9457 problem "app-update-required" (members reason,
//     platform, minimum_version, store_url, advisory_id, grace_until,
//     message_key) when the platform header is missing, the version is
//     missing, unparseable or blocked, or below the minimum after the grace
//     period — fail closed;
//   - 400 "invalid-platform" for a platform outside the list;
//   - served with "X-App-Update-Status: update_required;
//     grace-until=<RFC 3339>" below the minimum inside the grace period,
//     and with "X-App-Update-Status: update_recommended" below the
//     recommended version.
//
// No header value ever produces a 5xx or appears in an answer, a log line
// or an audit event (a field lesson: a version parser that throws takes
// the whole API down). The 426 carries no Upgrade header: RFC 9110 wants
// one, but HTTP/2 forbids it as a connection-specific field (RFC 9113
// §8.2.2) and Go's HTTP/2 server would send it (spec §2.8); clients key
// on the problem code.
//
// Routes matching [Config.Exempt] (default [DefaultExempt]) pass
// unchecked: the version check itself, health, /.well-known, the OpenID
// provider and login pages, legal documents, consents and withdrawal, the
// protocol, export, deletion and deletion receipts, problem pages — users
// must be able to exercise their GDPR rights with an old app.
//
// Every block increments digakit_app_version_blocked_total{platform}
// (platform "none" when the header was missing) and is reported as
// app_version_blocked through [Config.Audit] at most once per (network,
// platform, version or reason) per hour.
//
// # Version check
//
// [Gate.Handler] serves GET /v1/app-versions?platform=…&version=…, which
// the app calls at start and on return to the foreground: 200 with a
// [VersionInfo] (status ok, update_recommended or update_required, the
// policy members, null where unset), update_required with reason
// version_unparseable or missing_version for a bad version, 400
// invalid-platform for an unknown platform.
//
// # Admin API
//
// [Gate.AdminHandler] serves GET /admin/v1/app-policies and
// PUT /admin/v1/app-policies/{platform} for the admin listener (role
// operator; authentication is the caller's): strict JSON bodies (unknown
// or duplicate members rejected, 16 KiB cap), 400 invalid-policy naming
// the member, 409 on a concurrent change, and the stored policy is
// installed in the gate at once.
//
// # Wiring
//
//	gate, err := appversion.New(appversion.Config{
//		Policies:   cfgPolicies,                       // from the config file
//		Source:     sqlstore.New(mainDB.DB, sqlstore.Config{Audit: auditHook}),
//		Registerer: metrics.Registry,
//		Audit:      auditHook,
//	})
//	_ = gate.Refresh(ctx)                              // stored policies win
//	go gate.Watch(ctx, 30*time.Second, logErr)         // CLI changes reach the server
//	mux.Handle("GET /v1/app-versions", gate.Handler())
//	api := gate.Middleware(mux)
//	adm, _ := gate.AdminHandler(appversion.AdminConfig{Store: st, Actor: operatorID,
//		IsConflict: func(err error) bool { return errors.Is(err, sqlstore.ErrConcurrentChange) }})
//	adminMux.Handle("/admin/v1/app-policies", requireRole("operator", adm))
//	adminMux.Handle("/admin/v1/app-policies/", requireRole("operator", adm))
package appversion
