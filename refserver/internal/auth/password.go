package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Argon2Params are argon2id parameters (refserver spec §2.4).
type Argon2Params struct {
	// MemoryKiB is m in KiB.
	MemoryKiB uint32
	// Iterations is t.
	Iterations uint32
	// Parallelism is p (lanes).
	Parallelism uint8
}

// OWASPParams is the default: the OWASP Password Storage Cheat Sheet
// minimum m=19456 KiB, t=2, p=1.
var OWASPParams = Argon2Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

const (
	saltLen = 16
	tagLen  = 32
)

// Errors of the password layer. None of them carries the password.
var (
	// ErrMalformedPHC: a stored hash is not an argon2id PHC string.
	ErrMalformedPHC = errors.New("auth: malformed argon2id PHC string")
	// ErrHasherBusy: the concurrency cap was reached and the wait
	// expired; answer 429 with Retry-After: 1.
	ErrHasherBusy = errors.New("auth: password hasher busy")
	// ErrPasswordPolicy: the new password violates the policy (§3.2.5).
	ErrPasswordPolicy = errors.New("auth: password does not meet the policy")
	// ErrPasswordInput: the password field is too long, not UTF-8 or
	// contains NUL (answered 400 before hashing).
	ErrPasswordInput = errors.New("auth: password input rejected")
)

// EncodePHC formats a hash as a PHC string.
func EncodePHC(p Argon2Params, salt, tag []byte) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		enc.EncodeToString(salt), enc.EncodeToString(tag))
}

// ParsePHC parses an argon2id PHC string. It rejects other algorithms,
// versions, absurd parameters and salts or tags of unexpected sizes.
func ParsePHC(s string) (p Argon2Params, salt, tag []byte, err error) {
	// encoding/base64 skips \r and \n even in strict mode: refuse them so
	// that one hash has exactly one spelling.
	if strings.ContainsAny(s, "\r\n") {
		return p, nil, nil, ErrMalformedPHC
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return p, nil, nil, ErrMalformedPHC
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, ErrMalformedPHC
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return p, nil, nil, ErrMalformedPHC
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrMalformedPHC
		}
		vals[i] = n
	}
	if vals[0] < 8 || vals[0] > 4<<20 || vals[1] < 1 || vals[1] > 64 || vals[2] < 1 || vals[2] > 16 || vals[0] < 8*vals[2] {
		return p, nil, nil, ErrMalformedPHC
	}
	p = Argon2Params{MemoryKiB: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2])}
	enc := base64.RawStdEncoding.Strict()
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, ErrMalformedPHC
	}
	if tag, err = enc.DecodeString(parts[5]); err != nil || len(tag) < 16 || len(tag) > 64 {
		return p, nil, nil, ErrMalformedPHC
	}
	return p, salt, tag, nil
}

// Hasher hashes and verifies passwords with argon2id under a concurrency
// cap (2 × GOMAXPROCS by default, §3.2.5).
type Hasher struct {
	params  Argon2Params
	sem     chan struct{}
	wait    time.Duration
	rand    io.Reader
	dummy   string
	calls   atomic.Int64
	inflite atomic.Int64
	// OnWait, when set, observes how long a caller waited for a slot.
	OnWait func(time.Duration)
	// OnInflight, when set, observes the number of running hashes.
	OnInflight func(int64)
}

// NewHasher returns a hasher with params, at most limit concurrent
// hashes (0 = 2 × GOMAXPROCS) and a wait of at most wait for a slot
// (0 = 2 s). rnd is the salt source (nil = crypto/rand).
func NewHasher(params Argon2Params, limit int, wait time.Duration, rnd io.Reader) *Hasher {
	if limit <= 0 {
		limit = 2 * runtime.GOMAXPROCS(0)
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	h := &Hasher{params: params, sem: make(chan struct{}, limit), wait: wait, rand: rnd}
	// The dummy hash of unknown accounts uses the current parameters so
	// that a verification against it costs exactly as much (§3.2.4).
	salt := make([]byte, saltLen)
	_, _ = io.ReadFull(rand.Reader, salt)
	h.dummy = EncodePHC(params, salt, argon2.IDKey([]byte("digakit-dummy-password"), salt, params.Iterations, params.MemoryKiB, params.Parallelism, tagLen))
	return h
}

// Params returns the configured parameters.
func (h *Hasher) Params() Argon2Params { return h.params }

// Calls reports how many argon2id computations ran (tests count the
// attempts that reached the hasher, T5).
func (h *Hasher) Calls() int64 { return h.calls.Load() }

func (h *Hasher) acquire(ctx context.Context) error {
	start := time.Now()
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
	case <-t.C:
		return ErrHasherBusy
	case <-ctx.Done():
		return ErrHasherBusy
	}
	if h.OnWait != nil {
		h.OnWait(time.Since(start))
	}
	n := h.inflite.Add(1)
	if h.OnInflight != nil {
		h.OnInflight(n)
	}
	return nil
}

func (h *Hasher) release() {
	n := h.inflite.Add(-1)
	if h.OnInflight != nil {
		h.OnInflight(n)
	}
	<-h.sem
}

// Hash returns the PHC string of password with a fresh salt.
//
// REQ: TR03161-3:O.Pass_5
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", errors.New("auth: salt source failed")
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.calls.Add(1)
	p := h.params
	tag := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, tagLen)
	return EncodePHC(p, salt, tag), nil
}

// Verify reports whether password matches phc. With phc == "" it
// verifies against the dummy hash (unknown account) and reports false,
// so that both paths cost the same. needsRehash is true when the stored
// parameters are weaker than the configured ones.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (ok, needsRehash bool, err error) {
	dummy := phc == ""
	if dummy {
		phc = h.dummy
	}
	p, salt, tag, perr := ParsePHC(phc)
	if perr != nil {
		// Still spend the time of one hash so that a broken record does
		// not stand out by timing.
		p, salt, tag, _ = ParsePHC(h.dummy)
		dummy = true
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.calls.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(tag)))
	match := subtle.ConstantTimeCompare(got, tag) == 1
	if dummy {
		if perr != nil {
			return false, false, perr
		}
		return false, false, nil
	}
	c := h.params
	weaker := p.MemoryKiB < c.MemoryKiB || p.Iterations < c.Iterations || p.Parallelism < c.Parallelism
	return match, match && weaker, nil
}

// Password policy constants (§3.2.5).
const (
	MinPasswordRunes = 12
	MaxPasswordRunes = 128
	MaxPasswordBytes = 1024
)

//go:embed blocklist.txt
var blocklistText string

var blocklist = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(blocklistText, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// CheckPasswordInput rejects a field that must not reach the hasher:
// more than 1 024 bytes, invalid UTF-8 or NUL (§3.2.5, §4).
func CheckPasswordInput(pw string) error {
	if len(pw) > MaxPasswordBytes || !utf8.ValidString(pw) || strings.ContainsRune(pw, 0) {
		return ErrPasswordInput
	}
	return nil
}

// CheckPasswordPolicy applies the registration/change policy: 12–128
// code points, no composition rules, not on the block list and not a
// context word (app name, "diga", the username), compared
// case-insensitively as whole values.
//
// REQ: TR03161-3:O.Pass_1
// REQ: TR03161-3:O.Pass_2
func CheckPasswordPolicy(pw, username string, context ...string) error {
	if err := CheckPasswordInput(pw); err != nil {
		return err
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordRunes || n > MaxPasswordRunes {
		return ErrPasswordPolicy
	}
	lower := strings.ToLower(pw)
	if blocklist[lower] {
		return ErrPasswordPolicy
	}
	for _, w := range append([]string{"digakit", "diga", username}, context...) {
		if w != "" && lower == strings.ToLower(w) {
			return ErrPasswordPolicy
		}
	}
	return nil
}

// NormalizeUsername applies NFKC and Unicode case folding (§3.2.2) and
// checks the length of 3–64 code points and that no control or space
// characters remain.
func NormalizeUsername(s string) (string, bool) {
	if len(s) > 512 || !utf8.ValidString(s) {
		return "", false
	}
	// Fold and NFKC do not commute for every script (Cherokee, for one):
	// apply both until the name is a fixed point, so that normalising a
	// normalised name changes nothing; refuse the rare name that does not
	// settle.
	n := strings.TrimSpace(s)
	stable := false
	for range 4 {
		next := norm.NFKC.String(cases.Fold().String(norm.NFKC.String(n)))
		if next == n {
			stable = true
			break
		}
		n = next
	}
	if !stable {
		return "", false
	}
	c := utf8.RuneCountInString(n)
	if c < 3 || c > 64 {
		return "", false
	}
	for _, r := range n {
		if r < 0x21 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xa0 || r == 0x2028 || r == 0x2029 {
			return "", false
		}
	}
	return n, true
}
