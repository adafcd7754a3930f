package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestT5PasswordLockout: 1 000 wrong passwords for one account from one
// network on a fake clock. Attempts 1–10 reach the hasher (6–10 only
// after their delays), then none while locked; every rejected attempt is
// 429 with Retry-After; one lock event; the correct password works after
// the lock expires.
//
// REQ: TR03161-3:O.Auth_9
func TestT5PasswordLockout(t *testing.T) {
	e := newEnv(t, true, nil)
	e.register(t, "victim")
	id := e.newAuthRequest(t)
	before := e.svc.Hasher().Calls()
	var hashed, throttled, other int
	for range 1000 {
		e.clock.Advance(100 * time.Millisecond)
		n0 := e.svc.Hasher().Calls()
		code, _, hdr := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"victim"}, "password": {"wrong password attempt"}})
		switch code {
		case http.StatusOK:
			hashed++
			require.Equal(t, n0+1, e.svc.Hasher().Calls())
		case http.StatusTooManyRequests:
			throttled++
			ra, err := strconv.Atoi(hdr.Get("Retry-After"))
			require.NoError(t, err)
			require.GreaterOrEqual(t, ra, 1)
			require.Equal(t, n0, e.svc.Hasher().Calls(), "a throttled attempt must not reach argon2")
		default:
			other++
		}
	}
	require.Equal(t, 10, hashed, "attempts that reached argon2")
	require.EqualValues(t, 10, e.svc.Hasher().Calls()-before)
	require.Equal(t, 990, throttled)
	require.Zero(t, other)
	require.Equal(t, 1, e.sink.Count(EventLoginLock, "maxretries"))

	// Still locked a minute before the lock ends; open afterwards.
	e.clock.Advance(13 * time.Minute)
	id = e.newAuthRequest(t)
	code, _, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"victim"}, "password": {testPassword}})
	require.Equal(t, http.StatusTooManyRequests, code)
	e.clock.Advance(3 * time.Minute)
	code, body, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"victim"}, "password": {testPassword}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `action="/login/2fa"`)
}

// TestT6NetworkThrottle: 500 accounts × 1 wrong password from one /24:
// the network limit engages after 100 attempts.
func TestT6NetworkThrottle(t *testing.T) {
	e := newEnv(t, true, nil)
	ctx := context.Background()
	for i := range 500 {
		_, err := e.svc.Register(ctx, fmt.Sprintf("user-%03d", i), testPassword)
		require.NoError(t, err)
	}
	id := e.newAuthRequest(t)
	first429 := -1
	for i := range 500 {
		code, _, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {fmt.Sprintf("user-%03d", i)}, "password": {"wrong password attempt"}})
		if code == http.StatusTooManyRequests && first429 < 0 {
			first429 = i
		}
		if first429 >= 0 {
			require.Equal(t, http.StatusTooManyRequests, code, "attempt %d", i)
		}
	}
	require.Equal(t, 100, first429, "network limit engaged after 100 attempts")
	require.Equal(t, 400, e.sink.Count(EventLoginFail, "throttled"))
	// Another network is not affected.
	d, ok := e.svc.limiter.AllowNetwork(NetworkID("192.0.2.7:1234"))
	require.True(t, ok, d)
	require.Equal(t, "127.0.0.0/24", NetworkID("127.0.0.9:5"))
	require.Equal(t, "2001:db8::/48", NetworkID("[2001:db8::1]:443"))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestT8NoEnumeration: existing and unknown usernames on login, reset
// and registration give byte-identical bodies and statuses, and login
// timing (with the dummy hash, OWASP parameters) differs by < 10 ms in
// the median. Without -race and -short it uses the OWASP parameters.
func TestT8NoEnumeration(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	params := OWASPParams
	if raceEnabled || testing.Short() {
		// Equal cost for both paths is what matters here; the OWASP
		// parameters run without -race and -short.
		params = Argon2Params{MemoryKiB: 2048, Iterations: 1, Parallelism: 1}
	}
	e := newEnv(t, false, func(c *Config) {
		c.Argon2 = params
		c.Limits.NetworkAttempts = 100_000
		c.Limits.Registrations = 100_000
		c.RegistrationGate = func(context.Context, string) error { return ErrRegistrationGate }
	})
	ctx := context.Background()
	// Existing accounts share one PHC computed with the live parameters.
	phc, err := e.svc.Hasher().Hash(ctx, testPassword)
	require.NoError(t, err)
	for i := range n {
		norm, _ := NormalizeUsername(fmt.Sprintf("known-%03d", i))
		_, err := e.db.ExecContext(ctx, `INSERT INTO auth_accounts (id, sub, pseudonym, username_idx, password_phc, state, created_at)
			VALUES ($1,$2,$3,$4,$5,'active',0)`, fmt.Sprintf("acct%03d", i), fmt.Sprintf("sub%03d", i), fmt.Sprintf("ps%03d", i), e.svc.usernameIndex(norm), phc)
		require.NoError(t, err)
	}
	id := e.newAuthRequest(t)
	type probe struct {
		path string
		form func(name string) url.Values
	}
	probes := []probe{
		{"/login", func(name string) url.Values {
			return url.Values{"authRequestID": {id}, "username": {name}, "password": {"not the password at all"}}
		}},
		{"/login/reset", func(name string) url.Values { return url.Values{"username": {name}} }},
		{"/register", func(name string) url.Values {
			return url.Values{"username": {name}, "password": {testPassword}, "code": {"XXXX"}}
		}},
	}
	for _, p := range probes {
		var known, unknown []time.Duration
		bodies := map[string]int{}
		for i := range n {
			for _, name := range []string{fmt.Sprintf("known-%03d", i), fmt.Sprintf("unknown-%03d", i)} {
				t0 := time.Now()
				code, body, _ := e.postForm(t, p.path, p.form(name))
				d := time.Since(t0)
				bodies[strconv.Itoa(code)+"\x00"+body]++
				require.NotContains(t, body, name, "no page before login echoes the identifier")
				if strings.HasPrefix(name, "known") {
					known = append(known, d)
				} else {
					unknown = append(unknown, d)
				}
			}
		}
		require.Len(t, bodies, 1, "%s: statuses and bodies must be identical for existing and unknown names", p.path)
		diff := median(known) - median(unknown)
		if diff < 0 {
			diff = -diff
		}
		t.Logf("T8 %s: median existing %v, unknown %v, |diff| %v", p.path, median(known), median(unknown), diff)
		require.Less(t, diff, 10*time.Millisecond, p.path)
	}
}
