package appversion

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion/semver"
)

// Platform is an app platform. Only the values below exist; a header
// naming any other platform is answered with 400 invalid-platform.
type Platform string

// The platforms of refserver spec §3.4.
const (
	IOS     Platform = "ios"
	Android Platform = "android"
	Web     Platform = "web"
)

// Platforms lists every known platform in a fixed order.
var Platforms = []Platform{IOS, Android, Web}

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool { return slices.Contains(Platforms, p) }

// Status is what an app should do, as reported by GET /v1/app-versions
// and the X-App-Update-Status header.
type Status string

// The statuses of refserver spec §3.4.
const (
	StatusOK                Status = "ok"
	StatusUpdateRecommended Status = "update_recommended"
	StatusUpdateRequired    Status = "update_required"
)

// Reason says why a version is not simply ok. The values are the
// problem body's and the audit event's reason.
type Reason string

// The reasons.
const (
	ReasonNone               Reason = ""
	ReasonMissingPlatform    Reason = "missing_platform"
	ReasonMissingVersion     Reason = "missing_version"
	ReasonVersionUnparseable Reason = "version_unparseable"
	ReasonVersionBlocked     Reason = "version_blocked"
	ReasonBelowMinimum       Reason = "below_minimum"
	ReasonBelowRecommended   Reason = "below_recommended"
)

// DefaultGrace is the grace period a new minimum version gets when the
// operator names none (refserver spec §3.4, proposal); critical
// advisories use zero.
const DefaultGrace = 7 * 24 * time.Hour

// Policy is the update policy of one platform (refserver spec §3.4). The
// JSON member names are the spec's and the CLI's.
type Policy struct {
	Platform Platform `json:"platform"`
	// MinimumVersion: versions below it are blocked once GraceUntil has
	// passed. Empty means no minimum.
	MinimumVersion string `json:"minimum_version,omitempty"`
	// RecommendedVersion: versions below it get update_recommended.
	// Empty means none; when set it must not be below MinimumVersion.
	RecommendedVersion string `json:"recommended_version,omitempty"`
	// BlockedVersions are blocked immediately, whatever the grace period.
	// Matching is by SemVer precedence: build metadata is ignored.
	BlockedVersions []string `json:"blocked_versions,omitempty"`
	// GraceUntil: below-minimum versions are served, with an
	// update_required hint, until this instant. Nil or zero means no grace.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	// StoreURL is where the app is updated (https, optional).
	StoreURL string `json:"store_url,omitempty"`
	// AdvisoryID names the security advisory behind a change (optional).
	AdvisoryID string `json:"advisory_id,omitempty"`
	// MessageKey selects the app's localized prompt text (optional).
	MessageKey string `json:"message_key,omitempty"`
	// Revision counts the changes of this platform's policy (set by the
	// store; 0 for a policy from configuration).
	Revision int64 `json:"revision,omitempty"`
}

// PolicyError is a policy that cannot be used; Field is the JSON member.
type PolicyError struct {
	Field   string
	Message string
}

func (e *PolicyError) Error() string {
	return "appversion: policy " + e.Field + ": " + e.Message
}

var (
	reAdvisory   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	reMessageKey = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// maxBlocked bounds BlockedVersions.
const maxBlocked = 256

// Validate checks the policy; it returns a *PolicyError naming the first
// bad member.
func (p *Policy) Validate() error {
	bad := func(field, msg string) error { return &PolicyError{Field: field, Message: msg} }
	if !p.Platform.Valid() {
		return bad("platform", "want ios, android or web")
	}
	var minV, recV semver.Version
	var err error
	if p.MinimumVersion != "" {
		if minV, err = semver.Parse(p.MinimumVersion); err != nil {
			return bad("minimum_version", "not strict SemVer 2.0.0")
		}
	}
	if p.RecommendedVersion != "" {
		if recV, err = semver.Parse(p.RecommendedVersion); err != nil {
			return bad("recommended_version", "not strict SemVer 2.0.0")
		}
		if p.MinimumVersion != "" && recV.Less(minV) {
			return bad("recommended_version", "below minimum_version")
		}
	}
	if len(p.BlockedVersions) > maxBlocked {
		return bad("blocked_versions", fmt.Sprintf("more than %d entries", maxBlocked))
	}
	for i, b := range p.BlockedVersions {
		if _, err := semver.Parse(b); err != nil {
			return bad(fmt.Sprintf("blocked_versions[%d]", i), "not strict SemVer 2.0.0")
		}
	}
	if p.StoreURL != "" {
		u, err := url.Parse(p.StoreURL)
		if err != nil || len(p.StoreURL) > 512 || u.Host == "" ||
			(u.Scheme != "https" && u.Scheme != "itms-apps" && u.Scheme != "market") || u.User != nil {
			return bad("store_url", "want an https (or itms-apps/market) URL without user info, at most 512 bytes")
		}
	}
	if p.AdvisoryID != "" && !reAdvisory.MatchString(p.AdvisoryID) {
		return bad("advisory_id", "want 1-64 of [A-Za-z0-9._:-]")
	}
	if p.MessageKey != "" && !reMessageKey.MatchString(p.MessageKey) {
		return bad("message_key", "want 1-64 of [A-Za-z0-9._-]")
	}
	return nil
}

// compiled is a validated policy with parsed versions.
type compiled struct {
	Policy
	min, rec *semver.Version
	blocked  []semver.Version
	grace    time.Time
}

func compile(p Policy) (*compiled, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &compiled{Policy: p}
	if p.MinimumVersion != "" {
		v, _ := semver.Parse(p.MinimumVersion)
		c.min = &v
	}
	if p.RecommendedVersion != "" {
		v, _ := semver.Parse(p.RecommendedVersion)
		c.rec = &v
	}
	for _, b := range p.BlockedVersions {
		v, _ := semver.Parse(b)
		c.blocked = append(c.blocked, v)
	}
	if p.GraceUntil != nil {
		c.grace = *p.GraceUntil
	}
	return c, nil
}

// Decision is the outcome of checking one app version against a policy.
type Decision struct {
	// Status is what the app should do.
	Status Status
	// Reason explains a status other than ok.
	Reason Reason
	// Block is true when a gated request must be answered with 426.
	Block bool
	// GraceUntil is set for a below-minimum version inside its grace
	// period.
	GraceUntil time.Time
}

// evaluate checks the raw header value against c at now. c may be nil
// (no policy: every well-formed version is ok).
func (c *compiled) evaluate(raw string, now time.Time) Decision {
	if raw == "" {
		return Decision{Status: StatusUpdateRequired, Reason: ReasonMissingVersion, Block: true}
	}
	v, err := semver.Parse(raw)
	if err != nil {
		return Decision{Status: StatusUpdateRequired, Reason: ReasonVersionUnparseable, Block: true}
	}
	if c == nil {
		return Decision{Status: StatusOK}
	}
	for _, b := range c.blocked {
		if v.Equal(b) {
			return Decision{Status: StatusUpdateRequired, Reason: ReasonVersionBlocked, Block: true}
		}
	}
	if c.min != nil && v.Less(*c.min) {
		if !c.grace.IsZero() && now.Before(c.grace) {
			return Decision{Status: StatusUpdateRequired, Reason: ReasonBelowMinimum, GraceUntil: c.grace}
		}
		return Decision{Status: StatusUpdateRequired, Reason: ReasonBelowMinimum, Block: true}
	}
	if c.rec != nil && v.Less(*c.rec) {
		return Decision{Status: StatusUpdateRecommended, Reason: ReasonBelowRecommended}
	}
	return Decision{Status: StatusOK}
}

// ErrUnknownPlatform is returned for a platform outside [Platforms].
var ErrUnknownPlatform = errors.New("appversion: unknown platform")

// Evaluate checks the app version raw (a header value) of platform
// against the policy p at now, exactly as the gate does. p may be nil (no
// policy for the platform). It returns ErrUnknownPlatform for an unknown
// platform and a *PolicyError for an invalid policy.
func Evaluate(p *Policy, platform Platform, raw string, now time.Time) (Decision, error) {
	if !platform.Valid() {
		return Decision{}, ErrUnknownPlatform
	}
	if p == nil {
		var c *compiled
		return c.evaluate(raw, now), nil
	}
	c, err := compile(*p)
	if err != nil {
		return Decision{}, err
	}
	return c.evaluate(raw, now), nil
}
