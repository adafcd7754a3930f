package audit

import "strings"

// Type is an event type name from the OWASP Application Logging Vocabulary
// (without the ":data" suffix) or one of the DiGA additions (spec §2.5).
type Type string

// Level is the OWASP severity of an event type; it is derived from the
// type, never set by the caller.
type Level string

// Levels of the OWASP vocabulary.
const (
	LevelInfo     Level = "INFO"
	LevelWarn     Level = "WARN"
	LevelCritical Level = "CRITICAL"
)

// Log names (spec §3.2).
const (
	LogSecurity = "security"
	LogPrivacy  = "privacy"
)

// Event types of spec §2.5.
const (
	AuthnLoginSuccess          Type = "authn_login_success"
	AuthnLoginSuccessAfterFail Type = "authn_login_successafterfail"
	AuthnLoginFail             Type = "authn_login_fail"
	AuthnLoginFailMax          Type = "authn_login_fail_max"
	AuthnLoginLock             Type = "authn_login_lock"
	AuthnPasswordChange        Type = "authn_password_change"
	AuthnPasswordChangeFail    Type = "authn_password_change_fail"
	AuthnTokenCreated          Type = "authn_token_created"
	AuthnTokenRevoked          Type = "authn_token_revoked"
	AuthnTokenReuse            Type = "authn_token_reuse"
	AuthnMFAEnrolled           Type = "authn_mfa_enrolled"
	AuthnMFARemoved            Type = "authn_mfa_removed"
	AuthnRecoveryUsed          Type = "authn_recovery_used"
	AuthnRecoveryRegenerated   Type = "authn_recovery_regenerated"
	AuthnResetRequested        Type = "authn_reset_requested"
	AuthzFail                  Type = "authz_fail"
	AuthzChange                Type = "authz_change"
	AuthzAdmin                 Type = "authz_admin"
	CryptDecryptFail           Type = "crypt_decrypt_fail"
	CryptEncryptFail           Type = "crypt_encrypt_fail"
	ExcessRateLimitExceeded    Type = "excess_rate_limit_exceeded"
	InputValidationFail        Type = "input_validation_fail"
	MaliciousDirectReference   Type = "malicious_direct_reference"
	SensitiveRead              Type = "sensitive_read"
	SensitiveUpdate            Type = "sensitive_update"
	SensitiveDelete            Type = "sensitive_delete"
	SequenceFail               Type = "sequence_fail"
	SessionCreated             Type = "session_created"
	SessionExpired             Type = "session_expired"
	SessionUseAfterExpire      Type = "session_use_after_expire"
	SysStartup                 Type = "sys_startup"
	SysShutdown                Type = "sys_shutdown"
	SysRestart                 Type = "sys_restart"
	SysCrash                   Type = "sys_crash"
	SysMonitorDisabled         Type = "sys_monitor_disabled"
	SysMonitorEnabled          Type = "sys_monitor_enabled"
	UserCreated                Type = "user_created"
	UserUpdated                Type = "user_updated"
	UserDeleted                Type = "user_deleted"
	ConsentGranted             Type = "consent_granted"
	ConsentDeclined            Type = "consent_declined"
	ConsentWithdrawn           Type = "consent_withdrawn"
	ConsentDocPublished        Type = "consent_doc_published"
	ConsentDocRetracted        Type = "consent_doc_retracted"
	FSCRedeemOK                Type = "fsc_redeem_ok"
	FSCRedeemFail              Type = "fsc_redeem_fail"
	DataExportRequested        Type = "data_export_requested"
	DataExportCompleted        Type = "data_export_completed"
	DataDeletionScheduled      Type = "data_deletion_scheduled"
	DataDeletionCancelled      Type = "data_deletion_cancelled"
	DataDeleted                Type = "data_deleted"
	DataDeletionOverdue        Type = "data_deletion_overdue"
	PrescriptionExpiringNotice Type = "prescription_expiring_notice"
	PrescriptionExpired        Type = "prescription_expired"
	KVNRRead                   Type = "kvnr_read"
	EPAExportRequested         Type = "epa_export_requested"
	EPADocumentWritten         Type = "epa_document_written"
	EPAExportFailed            Type = "epa_export_failed"
	EPAExportCompleted         Type = "epa_export_completed"
	AppVersionBlocked          Type = "app_version_blocked"
	AppPolicyChanged           Type = "app_policy_changed"
	NtwkHandshakeFail          Type = "ntwk_handshake_fail"
	NtwkOutboundFail           Type = "ntwk_outbound_fail"
	GIDLinkCreated             Type = "gid_link_created"
	GIDLinkRemoved             Type = "gid_link_removed"
	KeyRotated                 Type = "key_rotated"
	KeyDestroyed               Type = "key_destroyed"
	AuditRead                  Type = "audit_read"
	AuditExport                Type = "audit_export"
	AuditSegmentOpened         Type = "audit_segment_opened"
	AuditSegmentDropped        Type = "audit_segment_dropped"
	AuditIntegrityFail         Type = "audit_integrity_fail"
	AuditCheckpointShipFail    Type = "audit_checkpoint_ship_fail"
	NotifyFailed               Type = "notify_failed"
	BillingExchange            Type = "billing_exchange"
	KillSwitchTriggered        Type = "kill_switch_triggered"
)

// typeLevels is the vocabulary with each type's level.
var typeLevels = map[Type]Level{
	AuthnLoginSuccess: LevelInfo, AuthnLoginSuccessAfterFail: LevelInfo, AuthnLoginFail: LevelWarn,
	AuthnLoginFailMax: LevelWarn, AuthnLoginLock: LevelWarn, AuthnPasswordChange: LevelInfo,
	AuthnPasswordChangeFail: LevelCritical, AuthnTokenCreated: LevelInfo, AuthnTokenRevoked: LevelInfo,
	AuthnTokenReuse: LevelCritical, AuthnMFAEnrolled: LevelWarn, AuthnMFARemoved: LevelWarn,
	AuthnRecoveryUsed: LevelWarn, AuthnRecoveryRegenerated: LevelWarn, AuthnResetRequested: LevelWarn,
	AuthzFail: LevelCritical, AuthzChange: LevelWarn, AuthzAdmin: LevelWarn,
	CryptDecryptFail: LevelWarn, CryptEncryptFail: LevelWarn, ExcessRateLimitExceeded: LevelWarn,
	InputValidationFail: LevelWarn, MaliciousDirectReference: LevelCritical,
	SensitiveRead: LevelWarn, SensitiveUpdate: LevelWarn, SensitiveDelete: LevelWarn,
	SequenceFail: LevelCritical, SessionCreated: LevelInfo, SessionExpired: LevelInfo,
	SessionUseAfterExpire: LevelCritical, SysStartup: LevelWarn, SysShutdown: LevelWarn,
	SysRestart: LevelWarn, SysCrash: LevelWarn, SysMonitorDisabled: LevelWarn, SysMonitorEnabled: LevelWarn,
	UserCreated: LevelWarn, UserUpdated: LevelWarn, UserDeleted: LevelWarn,
	ConsentGranted: LevelInfo, ConsentDeclined: LevelInfo, ConsentWithdrawn: LevelWarn,
	ConsentDocPublished: LevelWarn, ConsentDocRetracted: LevelWarn,
	FSCRedeemOK: LevelInfo, FSCRedeemFail: LevelWarn,
	DataExportRequested: LevelInfo, DataExportCompleted: LevelInfo,
	DataDeletionScheduled: LevelWarn, DataDeletionCancelled: LevelInfo, DataDeleted: LevelWarn,
	DataDeletionOverdue: LevelCritical, PrescriptionExpiringNotice: LevelInfo, PrescriptionExpired: LevelInfo,
	KVNRRead: LevelInfo, EPAExportRequested: LevelInfo, EPADocumentWritten: LevelInfo,
	EPAExportFailed: LevelWarn, EPAExportCompleted: LevelInfo,
	AppVersionBlocked: LevelInfo, AppPolicyChanged: LevelWarn,
	NtwkHandshakeFail: LevelWarn, NtwkOutboundFail: LevelWarn,
	GIDLinkCreated: LevelWarn, GIDLinkRemoved: LevelWarn, KeyRotated: LevelWarn, KeyDestroyed: LevelWarn,
	AuditRead: LevelWarn, AuditExport: LevelWarn, AuditSegmentOpened: LevelInfo, AuditSegmentDropped: LevelWarn,
	AuditIntegrityFail: LevelCritical, AuditCheckpointShipFail: LevelCritical,
	NotifyFailed: LevelWarn, BillingExchange: LevelInfo, KillSwitchTriggered: LevelWarn,
}

// privacyPrefixes routes types to the privacy log (spec §3.2); every other
// type goes to the security log, except the segment link events, which
// stay in the log they link.
var privacyPrefixes = []string{"consent_", "data_", "prescription_", "kvnr_", "epa_"}

// Known reports whether t is in the vocabulary.
func (t Type) Known() bool { _, ok := typeLevels[t]; return ok }

// Level returns the OWASP level of t ("" for an unknown type).
func (t Type) Level() Level { return typeLevels[t] }

// Log returns the log that carries t: "privacy" or "security".
func (t Type) Log() string {
	for _, p := range privacyPrefixes {
		if strings.HasPrefix(string(t), p) {
			return LogPrivacy
		}
	}
	return LogSecurity
}

// Types returns every type of the vocabulary.
func Types() []Type {
	out := make([]Type, 0, len(typeLevels))
	for t := range typeLevels {
		out = append(out, t)
	}
	return out
}
