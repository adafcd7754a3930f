package audit

import "errors"

// Sentinel errors of the audit package (spec §3.10). Errors returned by
// this package wrap one of them where it applies; test with [errors.Is].
// Their texts never contain event content.
var (
	// ErrAuditWriteFailed reports that an audit append or its commit failed;
	// the action it describes must fail too (HTTP 503 audit-unavailable).
	ErrAuditWriteFailed = errors.New("audit: audit write failed")
	// ErrForbiddenContent reports an event value that may not enter the log
	// (secret, personal data, control characters, unknown member).
	ErrForbiddenContent = errors.New("audit: forbidden content")
	// ErrEventTooLarge reports a canonical event larger than MaxEventSize.
	ErrEventTooLarge = errors.New("audit: event too large")
	// ErrUnknownType reports an event type outside the vocabulary.
	ErrUnknownType = errors.New("audit: unknown event type")
	// ErrCheckpointConflict reports two different checkpoints for one
	// (log, segment, size).
	ErrCheckpointConflict = errors.New("audit: checkpoint conflict")
	// ErrSegmentClosed reports an append into a closed segment.
	ErrSegmentClosed = errors.New("audit: segment closed")
	// ErrNotFound reports a missing record, segment, key or checkpoint.
	ErrNotFound = errors.New("audit: not found")
	// ErrNotDroppable reports a retention drop that is not allowed yet.
	ErrNotDroppable = errors.New("audit: segment not droppable")
	// ErrAccessDenied reports a read without the audit-reader role.
	ErrAccessDenied = errors.New("audit: access denied")
	// ErrKeyDestroyed reports a sealed value whose key was destroyed
	// (crypto-shredded).
	ErrKeyDestroyed = errors.New("audit: key destroyed")
	// ErrNonCanonical reports stored leaf bytes that are not canonical JSON.
	ErrNonCanonical = errors.New("audit: non-canonical encoding")
	// ErrBadCheckpoint reports a checkpoint note that does not parse or
	// verify.
	ErrBadCheckpoint = errors.New("audit: bad checkpoint")
)
