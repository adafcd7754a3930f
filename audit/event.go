package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Outcome is the result of the action an event describes.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
)

// ActorKind says who acted.
type ActorKind string

// Actor kinds (spec §3.1).
const (
	ActorUser      ActorKind = "user"
	ActorAdmin     ActorKind = "admin"
	ActorService   ActorKind = "service"
	ActorSystem    ActorKind = "system"
	ActorAnonymous ActorKind = "anonymous"
)

// Actor is who performed the action: a pseudonym, a probe id of an unknown
// login identifier, "system" or "svc:<name>". Never a name or e-mail.
type Actor struct {
	Kind ActorKind
	ID   string
}

// Target is the object acted upon by type and opaque id (never content).
type Target struct {
	Type string
	ID   string
}

// AuthInfo describes the authentication context of a session. SessionID is
// the raw session id; only "sha256:" and the first 8 hex digits of its
// SHA-256 enter the log.
type AuthInfo struct {
	ACR       string
	AMR       []string
	SessionID string
}

// ClientInfo describes the client. IP and UserAgent never enter the log in
// clear: they become keyed 16-character ids (Config.NetKey); Net and UA may
// be given precomputed instead.
type ClientInfo struct {
	Platform   string // ios, android, web, other
	AppVersion string
	IP         netip.Addr
	UserAgent  string
	Net        string // precomputed network id; overrides IP
	UA         string // precomputed user-agent id; overrides UserAgent
}

// Event is one audit event as the caller describes it. Log assigns the
// members v, id, log, seg, seq, ts, level, svc and host; values the caller
// puts there are never trusted.
type Event struct {
	Type      Type
	Outcome   Outcome
	Reason    string
	Actor     Actor
	Subject   string // pseudonym of the affected user, ^[a-z2-7]{16}$
	Target    *Target
	Auth      *AuthInfo
	Client    *ClientInfo
	RequestID string
	TraceID   string
	// Attrs holds per-type details: string (≤128 chars), integers, bools,
	// arrays (≤32) of those or of flat objects.
	Attrs map[string]any
	// Sealed values are encrypted (AES-256-GCM) under the subject's key, or
	// the day's key without a subject, before hashing (spec §3.5).
	Sealed map[string]string
}

var (
	reReason    = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	reActorID   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	rePseudonym = regexp.MustCompile(`^[a-z2-7]{16}$`)
	reTargetTyp = regexp.MustCompile(`^[a-z_]{1,32}$`)
	reTargetID  = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	reReqID     = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)
	reTraceID   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reAttrKey   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	reAMR       = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,40}$`)
	reACR       = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)
	reAppVer    = regexp.MustCompile(`^[A-Za-z0-9._+-]{1,64}$`)
	reShortID   = regexp.MustCompile(`^[a-z2-7]{16}$`)

	// Forbidden-content patterns (spec §3.1), applied to every string value.
	reEmail  = regexp.MustCompile(`[^@\s]+@[^@\s]+\.[A-Za-z]{2,}`)
	reJWT    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.`)
	reFSC    = regexp.MustCompile(`^[A-Z2-7]{16}$`)
	reKVNR   = regexp.MustCompile(`\b[A-Z][0-9]{9}\b`)
	reBase64 = regexp.MustCompile(`[A-Za-z0-9+/_=-]{41,}`)
	reB32Sec = regexp.MustCompile(`[A-Z2-7]{16,}`)
	reICD    = regexp.MustCompile(`\b[A-Z][0-9]{2}\.[0-9]{1,2}\b`)
	reIPv4   = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)
	reIPv6   = regexp.MustCompile(`(?i)\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){3,7}\b`)
	reHexTok = regexp.MustCompile(`[0-9a-fA-F]{32,}`)
	reBadKey = regexp.MustCompile(`(?i)(passw|secret|token|kvnr|mail|phone|name|birth|address|iban|otp_code|totp|diagnos|icd)`)
	reURLQry = regexp.MustCompile(`(?i)https?://[^ ]*\?`)
)

// hashAttrKeys may carry long base64/hex values (hashes, roots).
func isHashAttr(k string) bool {
	for _, s := range []string{"sha256", "hash", "root", "digest"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// ForbiddenPolicy says what happens with forbidden content.
type ForbiddenPolicy int

const (
	// Reject fails the append with ErrForbiddenContent (tests, strict mode).
	Reject ForbiddenPolicy = iota
	// Redact replaces the value with "[redacted:<rule>]", appends, and
	// appends an input_validation_fail event naming the fields.
	Redact
)

// checker validates event values and collects redactions.
type checker struct {
	policy   ForbiddenPolicy
	redacted []string
	ipOK     bool // skip the IP patterns (app versions like 1.4.2.100)
}

func (c *checker) bad(field, rule string) (string, error) {
	if c.policy == Reject {
		return "", fmt.Errorf("%w: field %s (%s)", ErrForbiddenContent, field, rule)
	}
	c.redacted = append(c.redacted, field)
	return "[redacted:" + rule + "]", nil
}

// str checks a free string against printable ASCII, a maximum length and
// the forbidden patterns.
func (c *checker) str(field, v string, max int, hashOK bool) (string, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return c.bad(field, "control")
		}
	}
	// Cheap guards keep the common short values off the regexps.
	n := len(v)
	switch {
	case n > max:
		return c.bad(field, "length")
	case strings.IndexByte(v, '@') >= 0 && reEmail.MatchString(v):
		return c.bad(field, "email")
	case strings.Contains(v, "eyJ") && reJWT.MatchString(v):
		return c.bad(field, "token")
	case n == 16 && reFSC.MatchString(v):
		return c.bad(field, "code")
	case n >= 10 && reKVNR.MatchString(v):
		return c.bad(field, "kvnr")
	case strings.Contains(v, "://") && reURLQry.MatchString(v):
		return c.bad(field, "url")
	case n >= 16 && reB32Sec.MatchString(v):
		return c.bad(field, "secret")
	case n >= 5 && strings.IndexByte(v, '.') >= 0 && reICD.MatchString(v):
		return c.bad(field, "health")
	case !c.ipOK && ((strings.Count(v, ".") >= 3 && reIPv4.MatchString(v)) || (strings.Count(v, ":") >= 3 && reIPv6.MatchString(v))):
		return c.bad(field, "ip")
	case !hashOK && ((n > 40 && reBase64.MatchString(v)) || (n >= 32 && reHexTok.MatchString(v)) || passwordLike(v)):
		return c.bad(field, "secret")
	}
	return v, nil
}

// passwordLike reports a string of 8+ characters without spaces that mixes
// upper case, lower case, digits and symbols, like a password or key.
func passwordLike(v string) bool {
	if len(v) < 8 || strings.Contains(v, " ") {
		return false
	}
	var up, lo, di, sy bool
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			lo = true
		case c >= '0' && c <= '9':
			di = true
		default:
			sy = true
		}
	}
	return up && lo && di && sy
}

// pattern checks a structured member against its pattern. Pattern
// violations of structural members are caller bugs and always rejected.
func (c *checker) pattern(field, v string, re *regexp.Regexp) (string, error) {
	if !re.MatchString(v) {
		return "", fmt.Errorf("%w: field %s does not match its pattern", ErrForbiddenContent, field)
	}
	return c.str(field, v, 64, false)
}

// keyed returns the 16-character keyed id (lower base32 of an HMAC) of v.
func keyed(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return strings.ToLower(base32.StdEncoding.EncodeToString(m.Sum(nil)))[:16]
}

// netPrefix returns the /24 (IPv4) or /48 (IPv6) prefix of ip.
func netPrefix(ip netip.Addr) string {
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// SessionHash returns the loggable form of a session id: "sha256:" and the
// first 8 hex digits of its SHA-256.
func SessionHash(sessionID string) string {
	s := sha256.Sum256([]byte(sessionID))
	return "sha256:" + hex.EncodeToString(s[:4])
}

// ProbeID returns the actor id of an unknown login identifier: "probe:" and
// a 16-character keyed id of the normalized identifier (spec §3.1). The
// identifier itself is never logged.
func ProbeID(key []byte, identifier string) string {
	return "probe:" + keyed(key, strings.ToLower(strings.TrimSpace(identifier)))
}

// value validates ev and returns its canonical members without the members
// Log assigns, plus the names of redacted fields.
//
// REQ: ASVS5:16.2.1, ASVS5:16.2.5, audit-spec:3.1
func (ev *Event) value(policy ForbiddenPolicy, netKey []byte, allowed map[Type][]string) (map[string]any, []string, error) {
	c := &checker{policy: policy}
	if !ev.Type.Known() {
		return nil, nil, ErrUnknownType
	}
	m := map[string]any{"type": string(ev.Type)}
	switch ev.Outcome {
	case Success, Failure:
		m["outcome"] = string(ev.Outcome)
	default:
		return nil, nil, fmt.Errorf("%w: field outcome does not match its pattern", ErrForbiddenContent)
	}
	if ev.Reason != "" {
		r, err := c.pattern("reason", ev.Reason, reReason)
		if err != nil {
			return nil, nil, err
		}
		m["reason"] = r
	}
	switch ev.Actor.Kind {
	case ActorUser, ActorAdmin, ActorService, ActorSystem, ActorAnonymous:
	default:
		return nil, nil, fmt.Errorf("%w: field actor.kind does not match its pattern", ErrForbiddenContent)
	}
	aid, err := c.pattern("actor.id", ev.Actor.ID, reActorID)
	if err != nil {
		return nil, nil, err
	}
	m["actor"] = map[string]any{"kind": string(ev.Actor.Kind), "id": aid}
	if ev.Subject != "" {
		if !rePseudonym.MatchString(ev.Subject) {
			return nil, nil, fmt.Errorf("%w: field subject is not a pseudonym", ErrForbiddenContent)
		}
		m["subject"] = ev.Subject
	}
	if t := ev.Target; t != nil {
		tt, err := c.pattern("target.type", t.Type, reTargetTyp)
		if err != nil {
			return nil, nil, err
		}
		ti, err := c.pattern("target.id", t.ID, reTargetID)
		if err != nil {
			return nil, nil, err
		}
		m["target"] = map[string]any{"type": tt, "id": ti}
	}
	if a := ev.Auth; a != nil {
		am := map[string]any{}
		if a.ACR != "" {
			v, err := c.pattern("auth.acr", a.ACR, reACR)
			if err != nil {
				return nil, nil, err
			}
			am["acr"] = v
		}
		if len(a.AMR) > 0 {
			if len(a.AMR) > 8 {
				return nil, nil, fmt.Errorf("%w: field auth.amr too long", ErrForbiddenContent)
			}
			amr := make([]any, 0, len(a.AMR))
			for _, x := range a.AMR {
				v, err := c.pattern("auth.amr", x, reAMR)
				if err != nil {
					return nil, nil, err
				}
				amr = append(amr, v)
			}
			am["amr"] = amr
		}
		if a.SessionID != "" {
			am["sid"] = SessionHash(a.SessionID)
		}
		m["auth"] = am
	}
	if cl := ev.Client; cl != nil {
		cm := map[string]any{}
		switch cl.Platform {
		case "":
		case "ios", "android", "web", "other":
			cm["platform"] = cl.Platform
		default:
			return nil, nil, fmt.Errorf("%w: field client.platform does not match its pattern", ErrForbiddenContent)
		}
		if cl.AppVersion != "" {
			c.ipOK = true
			v, err := c.pattern("client.app_version", cl.AppVersion, reAppVer)
			c.ipOK = false
			if err != nil {
				return nil, nil, err
			}
			cm["app_version"] = v
		}
		switch {
		case cl.Net != "":
			if !reShortID.MatchString(cl.Net) {
				return nil, nil, fmt.Errorf("%w: field client.net is not a keyed id", ErrForbiddenContent)
			}
			cm["net"] = cl.Net
		case cl.IP.IsValid() && len(netKey) > 0:
			cm["net"] = keyed(netKey, netPrefix(cl.IP))
		}
		switch {
		case cl.UA != "":
			if !reShortID.MatchString(cl.UA) {
				return nil, nil, fmt.Errorf("%w: field client.ua is not a keyed id", ErrForbiddenContent)
			}
			cm["ua"] = cl.UA
		case cl.UserAgent != "" && len(netKey) > 0:
			cm["ua"] = keyed(netKey, "ua:"+cl.UserAgent)
		}
		if len(cm) > 0 {
			m["client"] = cm
		}
	}
	if ev.RequestID != "" {
		v, err := c.pattern("req", ev.RequestID, reReqID)
		if err != nil {
			return nil, nil, err
		}
		m["req"] = v
	}
	if ev.TraceID != "" {
		if !reTraceID.MatchString(ev.TraceID) {
			return nil, nil, fmt.Errorf("%w: field trace does not match its pattern", ErrForbiddenContent)
		}
		m["trace"] = ev.TraceID
	}
	if len(ev.Attrs) > 0 {
		if len(ev.Attrs) > 32 {
			return nil, nil, fmt.Errorf("%w: too many attrs", ErrForbiddenContent)
		}
		keys := make([]string, 0, len(ev.Attrs))
		for k := range ev.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		am := make(map[string]any, len(ev.Attrs))
		for _, k := range keys {
			if !reAttrKey.MatchString(k) || (reBadKey.MatchString(k) && k != "code_id") {
				return nil, nil, fmt.Errorf("%w: attr name not allowed", ErrForbiddenContent)
			}
			if list, ok := allowed[ev.Type]; ok && !slices.Contains(list, k) {
				return nil, nil, fmt.Errorf("%w: attr %s not allowed for type %s", ErrForbiddenContent, k, ev.Type)
			}
			v, err := c.attr("attrs."+k, isHashAttr(k), ev.Attrs[k], 0)
			if err != nil {
				return nil, nil, err
			}
			am[k] = v
		}
		m["attrs"] = am
	}
	return m, c.redacted, nil
}

func (c *checker) attr(field string, hashOK bool, v any, depth int) (any, error) {
	switch x := v.(type) {
	case string:
		return c.str(field, x, 128, hashOK)
	case bool:
		return x, nil
	case int:
		return int64(x), nil
	case int64, int32, uint32:
		return x, nil
	case uint64:
		if x > maxSafeInt {
			return nil, fmt.Errorf("%w: field %s out of range", ErrForbiddenContent, field)
		}
		return int64(x), nil
	case []string:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = e
		}
		return c.attr(field, hashOK, a, depth)
	case []any:
		if depth > 0 || len(x) > 32 {
			return nil, fmt.Errorf("%w: field %s: array too long or nested", ErrForbiddenContent, field)
		}
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = c.attr(field, hashOK, e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if depth != 1 || len(x) > 16 {
			return nil, fmt.Errorf("%w: field %s: object not allowed here", ErrForbiddenContent, field)
		}
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !reAttrKey.MatchString(k) {
				return nil, fmt.Errorf("%w: attr name does not match its pattern", ErrForbiddenContent)
			}
			switch e := x[k].(type) {
			case map[string]any, []any, []string:
				return nil, fmt.Errorf("%w: field %s: nested object", ErrForbiddenContent, field)
			default:
				var err error
				if out[k], err = c.attr(field+"."+k, isHashAttr(k), e, 2); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: field %s has an unsupported value type", ErrForbiddenContent, field)
	}
}
