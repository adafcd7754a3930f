package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
	"golang.org/x/oauth2"
)

// TestT33Vectors checks the spec's vectors byte for byte: PKCE, TOTP,
// argon2id PHC and the recovery-code hash.
//
// REQ: TR03161-3:O.Pass_5
func TestT33Vectors(t *testing.T) {
	require.Equal(t, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", oauth2.S256ChallengeFromVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))

	const seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		got, err := TOTPCode(seed, TOTPStep(time.Unix(v.unix, 0)))
		require.NoError(t, err)
		require.Equal(t, v.code, got, v.unix)
		step, ok := MatchTOTP(seed, v.code, time.Unix(v.unix, 0))
		require.True(t, ok)
		require.Equal(t, v.unix/30, step)
	}

	const phc = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0"
	salt := []byte("0123456789abcdef")
	tag := argon2.IDKey([]byte("correct horse battery staple"), salt, 2, 19456, 1, 32)
	require.Equal(t, phc, EncodePHC(OWASPParams, salt, tag))
	p, s, tg, err := ParsePHC(phc)
	require.NoError(t, err)
	require.Equal(t, OWASPParams, p)
	require.Equal(t, salt, s)
	require.Equal(t, tag, tg)
	h := NewHasher(OWASPParams, 0, 0, nil)
	ok, rehash, err := h.Verify(context.Background(), phc, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, _ = h.Verify(context.Background(), phc, "correct horse battery stapl")
	require.False(t, ok)

	require.Equal(t, "JBSWY3DPEHPK3PXPABCDEFGH", NormalizeRecoveryCode("JBSW-Y3DP-EHPK-3PXP-ABCD-EFGH"))
	require.Equal(t, "ffb9afbe875cd228ef205fac7ab712513bad693e96df7ac1e0db800b3345c4f1", RecoveryCodeHash("jbsw y3dp-EHPK-3PXP-ABCD-EFGH"))
}

func TestRehashOnWeakerParameters(t *testing.T) {
	weak := NewHasher(Argon2Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1}, 0, 0, nil)
	phc, err := weak.Hash(context.Background(), "pw")
	require.NoError(t, err)
	strong := NewHasher(testParams, 0, 0, nil)
	ok, rehash, err := strong.Verify(context.Background(), phc, "pw")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash)
}

func TestPHCParserRejects(t *testing.T) {
	for _, s := range []string{
		"", "$argon2i$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=16$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=019456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=99999999,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$t=2,m=19456,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=19456,t=2,p=1$$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5S",
		"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0$",
	} {
		_, _, _, err := ParsePHC(s)
		require.ErrorIs(t, err, ErrMalformedPHC, s)
	}
}

func TestPasswordPolicy(t *testing.T) {
	require.NoError(t, CheckPasswordPolicy("correct horse battery", "alice"))
	require.NoError(t, CheckPasswordPolicy("ÄÖÜäöüßÄÖÜäö", "alice"), "12 code points")
	require.ErrorIs(t, CheckPasswordPolicy("short pw", "alice"), ErrPasswordPolicy)
	require.ErrorIs(t, CheckPasswordPolicy("Password1234", "alice"), ErrPasswordPolicy, "block list, case-insensitive")
	require.ErrorIs(t, CheckPasswordPolicy("alice-in-wonderland", "alice-in-wonderland"), ErrPasswordPolicy, "username")
	require.ErrorIs(t, CheckPasswordPolicy(strings.Repeat("x", 129), ""), ErrPasswordPolicy)
	require.ErrorIs(t, CheckPasswordPolicy("twelve chars\x00!", ""), ErrPasswordInput)
	require.ErrorIs(t, CheckPasswordPolicy("\xff\xfe twelve chars", ""), ErrPasswordInput)
	require.ErrorIs(t, CheckPasswordInput(strings.Repeat("a", 1025)), ErrPasswordInput)
	require.NoError(t, CheckPasswordInput(strings.Repeat("a", 1024)))
}

func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "ＡＬＩＣＥ": "alice", "Straße": "strasse", " bob ": "bob"} {
		got, ok := NormalizeUsername(in)
		require.True(t, ok, in)
		require.Equal(t, want, got)
	}
	for _, in := range []string{"ab", "", "a b c", strings.Repeat("x", 65), "tab\there", "\xff\xfe\xfd"} {
		_, ok := NormalizeUsername(in)
		require.False(t, ok, in)
	}
}

func TestHasherConcurrencyCap(t *testing.T) {
	h := NewHasher(testParams, 1, 20*time.Millisecond, nil)
	require.NoError(t, h.acquire(context.Background()))
	_, err := h.Hash(context.Background(), "x")
	require.ErrorIs(t, err, ErrHasherBusy)
	h.release()
	_, err = h.Hash(context.Background(), "x")
	require.NoError(t, err)
}

// TestRecoveryCodeLoginSingleUse: password + recovery code logs in with
// amr pwd+rcode; the same code fails the second time.
func TestRecoveryCodeLoginSingleUse(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, codes := e.register(t, "recover-me")
	b := browser()
	use := func() (*http.Response, string) {
		_, body := run(t, b, e.authorizeURL(nil))
		id := hidden(body, "authRequestID")
		_, body, _ = e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"recover-me"}, "password": {testPassword}})
		tok := hidden(body, "token")
		resp, err := noFollow().PostForm(e.url+"/login/2fa", url.Values{"token": {tok}, "kind": {"recovery"}, "code": {strings.ToLower(codes[0])}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp, tok
	}
	resp, _ := use()
	require.Equal(t, http.StatusOK, resp.StatusCode, "TOTP re-enrollment page")
	page, _ := io.ReadAll(resp.Body)
	newSecret := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(string(page))
	require.NotNil(t, newSecret)
	tok := hidden(string(page), "token")
	// The old authenticator no longer works for the confirmation.
	e.clock.Advance(30 * time.Second)
	bad, _ := TOTPCode(secret, TOTPStep(e.clock.Now()))
	code, _, _ := e.postForm(t, "/register/totp", url.Values{"token": {tok}, "code": {bad}})
	require.Equal(t, http.StatusOK, code)
	good, _ := TOTPCode(newSecret[1], TOTPStep(e.clock.Now()))
	resp, err := noFollow().PostForm(e.url+"/register/totp", url.Values{"token": {tok}, "code": {good}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, _ := url.Parse(e.url + resp.Header.Get("Location"))
	resp, err = noFollow().Get(loc.String())
	require.NoError(t, err)
	_ = resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	tr := e.exchange(t, cb.Query().Get("code"), pkceVerifier)
	require.Equal(t, http.StatusOK, tr.status)
	require.Equal(t, []any{"pwd", "rcode"}, claims(t, tr.AccessToken)["amr"])
	require.Equal(t, 1, e.sink.Count(EventRecoveryUsed, ""))

	b = browser()
	resp, _ = use()
	require.Equal(t, http.StatusOK, resp.StatusCode, "second use re-renders the form")
	require.Equal(t, 1, e.sink.Count(EventLoginFail, "recovery_invalid"))

	regen, err := e.svc.RegenerateRecoveryCodes(context.Background(), mustAccount(t, e, "recover-me"))
	require.NoError(t, err)
	require.Len(t, regen, 10)
	require.Regexp(t, `^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$`, regen[0])
}

func mustAccount(t testing.TB, e *env, name string) string {
	a, err := e.svc.accountByUsername(context.Background(), name)
	require.NoError(t, err)
	require.NotNil(t, a)
	return a.id
}

// TestRegistrationPages covers username taken, generated usernames,
// policy answers, the registration gate and an unconfirmed account.
func TestRegistrationPages(t *testing.T) {
	e := newEnv(t, false, nil)
	code, body, hdr := e.postForm(t, "/register", url.Values{"username": {"Taken-Name"}, "password": {testPassword}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `id="totp-secret"`)
	require.Equal(t, "no-store", hdr.Get("Cache-Control"))
	require.Contains(t, hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	code, body, _ = e.postForm(t, "/register", url.Values{"username": {"taken-name"}, "password": {testPassword}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Please choose another username.")
	_, body, _ = e.postForm(t, "/register", url.Values{"username": {"fresh-name"}, "password": {"short"}})
	require.Contains(t, body, "longer or less common password")
	_, body, _ = e.postForm(t, "/register", url.Values{"username": {""}, "password": {testPassword}})
	require.Regexp(t, `id="username">u-[a-z2-7]{10}<`, body)

	// A pending account (TOTP not confirmed) cannot complete a login.
	id := e.newAuthRequest(t)
	code, body, _ = e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"taken-name"}, "password": {testPassword}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Username or password is wrong.")
	require.Equal(t, 1, e.sink.Count(EventLoginFail, "account_state"))

	// Cross-origin POSTs are refused (CSRF).
	req, _ := http.NewRequest(http.MethodPost, e.url+"/login", strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Password field limits: > 1 024 bytes → 400 before hashing.
	calls := e.svc.Hasher().Calls()
	code, _, _ = e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"taken-name"}, "password": {strings.Repeat("p", 1025)}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, calls, e.svc.Hasher().Calls())

	gated := newEnv(t, false, func(c *Config) {
		c.RegistrationGate = func(_ context.Context, code string) error {
			if code != "GOOD" {
				return errors.New("no")
			}
			return nil
		}
	})
	_, body, _ = gated.postForm(t, "/register", url.Values{"code": {"BAD"}, "username": {"x-user"}, "password": {testPassword}})
	require.Contains(t, body, "activation code was not accepted")
	_, body, _ = gated.postForm(t, "/register", url.Values{"code": {"GOOD"}, "username": {"x-user"}, "password": {testPassword}})
	require.Contains(t, body, `id="totp-secret"`)
}
