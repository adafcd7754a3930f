// Package tlsconf builds the TLS configurations of the reference server
// and its outbound clients (refserver spec §3.5) following BSI
// TR-02102-2 as far as Go's crypto/tls allows, and turns aborted
// handshakes into log lines and metrics (O.Ntwk_4/O.Ntwk_8 evidence).
//
// # Profiles
//
// [Strict] (the default) and [Compat] both allow TLS 1.2 and 1.3 only
// and, for TLS 1.2, only ECDHE with AES-GCM ([TLS12Suites]). Strict also
// restricts the key-exchange groups to P-256 and P-384 and refuses to
// build unless the process runs with GODEBUG=fips140=on
// ([ErrFIPSRequired]; "serve" exits 2 naming the setting): that is the
// only switch that removes ChaCha20-Poly1305 from Go's TLS 1.3 (spec
// §2.7, measured). Compat keeps Go's TLS 1.3 defaults (ChaCha20, X25519,
// hybrid ML-KEM) and must be chosen explicitly (development default with
// --tls-cert). Our own certificates must carry ECDSA keys on NIST curves
// or RSA keys of at least 3000 bits (Strict; TR-02102-1) or 2048 bits
// (Compat).
//
// [ServerConfig] (certificates in memory) and [Server] (PEM files,
// reloadable through [KeyPair.Reload] and [KeyPair.Watch]) return server
// configurations; a client CA pool turns on required client certificates
// (mTLS admin listener). [ClientConfig] returns the outbound
// configuration: full chain verification against configured roots
// (O.Ntwk_3), never InsecureSkipVerify. Both sides run [CheckState] in
// VerifyConnection, which aborts any handshake whose negotiated version,
// suite or group lies outside the profile (belt and braces: Go cannot
// stop a client from offering, or a server from picking, TLS 1.3
// ChaCha20 without fips140=on).
//
// [Transport] wraps ClientConfig in an http.Transport with bounded
// timeouts for outbound peers (O.TrdP_10). [ApplyServerDefaults] sets the
// http.Server limits of spec §3.5: ReadHeaderTimeout 10 s (also the
// handshake deadline), ReadTimeout 30 s, WriteTimeout 60 s, IdleTimeout
// 120 s, MaxHeaderBytes 32 KiB.
//
// # Handshake failures
//
// net/http reports each failed server handshake exactly once through
// Server.ErrorLog as "http: TLS handshake error from <addr>: <reason>"
// (Go 1.26; plain HTTP on the TLS port is reported as "client sent an
// HTTP request to an HTTPS server"). [HandshakeLog.ErrorLog] parses these
// lines: every aborted handshake yields exactly one slog WARN line with
// msg "handshake_fail" and members listener, reason, remote_ip,
// remote_port, alert (for remote_alert) and detail, one increment of
// digakit_tls_handshake_failures_total{listener,reason} and one call of
// [HandshakeConfig.OnFailure] (the audit hook for ntwk_handshake_fail).
// Reasons ([Classify], audit spec §3.8): client_closed, no_common_suite,
// no_common_group, unsupported_version, not_tls, remote_alert, timeout,
// profile, client_cert, other. Log lines are capped (default 1 000 per
// second; dropped lines counted in digakit_tls_log_dropped_total); the
// metric and the hook see every failure. Other ErrorLog lines become
// "http_server_error".
//
// # What Go cannot restrict
//
// Measured with Go 1.26.8 and OpenSSL 3.0.19 (spec §2.7, test
// TestTLSMatrixStrict_T24); these are the documented residual
// deviations from TR-02102-2:
//
//   - TLS 1.3 cipher suites are not configurable: Config.CipherSuites
//     applies to TLS 1.2 only. Without fips140=on Go accepts and offers
//     TLS_CHACHA20_POLY1305_SHA256, which TR-02102-2 does not list; hence
//     Strict requires fips140=on, and CheckState guards outbound links.
//   - TLS_AES_128_CCM_SHA256 (listed by TR-02102-2) is not implemented.
//   - Brainpool groups (brainpoolP256r1/P384r1/P512r1, and their TLS 1.3
//     code points) are not implemented; only NIST P-256/P-384/P-521, X25519
//     and the hybrid ML-KEM groups exist. Strict offers P-256 and P-384.
//   - Signature algorithms (signature_algorithms) cannot be configured:
//     Go chooses among RSA-PSS, RSA PKCS#1 v1.5 (TLS 1.2 and certificate
//     signatures), ECDSA and Ed25519. fips140=on removes the SHA-1-based
//     schemes (Ed25519 stays; TR-02102-2 does not list it for TLS).
//   - Finite-field DHE suites (TLS_DHE_*) and CCM suites are not
//     implemented, so TR-02102-2's DHE recommendations cannot be used;
//     ECDHE-only is stricter anyway.
//   - The client's offered suites and groups are logged only as hex in
//     Go's error text; there is no hook before the server's own
//     negotiation other than GetConfigForClient.
//   - Session resumption (tickets, TLS 1.3 PSK with (EC)DHE) stays on with
//     Go's automatic ticket-key rotation; keys are not persisted. Go has
//     no renegotiation on the server side, no heartbeat, no compression,
//     no truncated HMAC, and enforces extended master secret for TLS 1.2
//     under fips140=on.
//   - OCSP stapling is not automatic (Certificate.OCSPStaple must be
//     filled by the caller); certificate revocation of peers is not
//     checked by crypto/x509.
//   - The minimum RSA size of peer certificates is Go's: 2048 bits under
//     fips140=on, 1024 bits otherwise; this package checks only our own
//     certificates against the profile's 3000-bit floor.
//
// # Requirements
//
// TR-03161-3 O.Cryp_8 (only recommended suites), O.Ntwk_3 (full chain
// verification), O.Ntwk_4 (state-of-the-art TLS configuration), O.TrdP_10
// (outbound links to third parties), O.Auth_2 (authentication
// transport); evidence: T24 (TestTLSMatrixStrict_T24,
// TestTLSMatrixCompat_T24, TestClientConfigRefusesOutsideProfile_T24).
package tlsconf
