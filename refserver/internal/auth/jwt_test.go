package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSA(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return rsaKey
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signJWS signs claims with alg/key and header extras.
func signJWS(t testing.TB, alg jose.SignatureAlgorithm, key any, hdr map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"typ": "JWT"}}
	for k, v := range hdr {
		opts.ExtraHeaders[k] = v
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	require.NoError(t, err)
	obj, err := s.Sign(mustJSON(claims))
	require.NoError(t, err)
	out, err := obj.CompactSerialize()
	require.NoError(t, err)
	return out
}

// rawJWT builds header.payload.signature by hand (alg none, HS with the
// public key, JSON tricks).
func rawJWT(header, payload string, sig []byte) string {
	return b64([]byte(header)) + "." + b64([]byte(payload)) + "." + b64(sig)
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestT18MutatedJWTs: 1 000 mutated access tokens (alg none/HS/RS/PS,
// foreign keys, kid games, exp/nbf/iss/aud, extra and missing claims,
// truncation, bit flips, JSON tricks, two signatures): 0 accepted.
//
// REQ: TR03161-3:O.Auth_21
func TestT18MutatedJWTs(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, _ := e.register(t, "jwt-user")
	tok, err := e.client(t).Login(context.Background(), "jwt-user", testPassword, secret)
	require.NoError(t, err)
	v := e.svc.Verifier()
	ctx := context.Background()
	_, err = v.Verify(ctx, tok.AccessToken)
	require.NoError(t, err, "control: the issued token verifies")

	base := claims(t, tok.AccessToken)
	cur, _ := e.keys.Current()
	kid := cur.ID
	hdr := map[jose.HeaderKey]any{"kid": kid}
	good := signJWS(t, jose.ES256, cur.Private, hdr, base)
	_, err = v.Verify(ctx, good)
	require.NoError(t, err, "control: re-signed claims verify")

	pubDER, _ := x509.MarshalPKIXPublicKey(&cur.Private.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, _ := json.Marshal(jose.JSONWebKey{Key: &cur.Private.PublicKey, KeyID: kid})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk := testRSA(t)
	now := e.clock.Now()
	payload := string(mustJSON(base))

	var cands []string
	add := func(s string) { cands = append(cands, s) }

	// alg none in all spellings.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		add(rawJWT(fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, alg, kid), payload, nil))
		add(rawJWT(fmt.Sprintf(`{"alg":%q}`, alg), payload, nil))
		add(rawJWT(fmt.Sprintf(`{"alg":%q,"kid":%q}`, alg, kid), payload, []byte("x")))
	}
	// HS/RS/PS confusion: the public key (PEM, DER, JWK, raw point) as
	// HMAC secret.
	for _, secret := range [][]byte{pubPEM, pubDER, pubJWK, elliptic.MarshalCompressed(elliptic.P256(), cur.Private.X, cur.Private.Y)} {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			h := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, alg, kid)
			si := b64([]byte(h)) + "." + b64([]byte(payload))
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(si))
			add(si + "." + b64(m.Sum(nil)))
		}
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512} {
		add(signJWS(t, alg, rk, hdr, base))
	}
	add(signJWS(t, jose.ES256, other, hdr, base))
	add(signJWS(t, jose.ES384, p384, hdr, base))
	add(signJWS(t, jose.EdDSA, mustEd25519(), hdr, base))
	// Embedded jwk with the attacker's key.
	add(signJWS(t, jose.ES256, other, map[jose.HeaderKey]any{"kid": kid, "jwk": jose.JSONWebKey{Key: &other.PublicKey}}, base))
	// kid games.
	for _, k := range []any{"", "unknown", kid + " ", strings.ToUpper(kid), "../" + kid, kid + "\x00", 1, nil, []string{kid}} {
		h := map[jose.HeaderKey]any{}
		if k != nil {
			h["kid"] = k
		}
		add(signJWS(t, jose.ES256, cur.Private, h, base))
	}
	// crit header.
	add(signJWS(t, jose.ES256, cur.Private, map[jose.HeaderKey]any{"kid": kid, "crit": []string{"exp"}, "exp": 1}, base))
	add(signJWS(t, jose.ES256, cur.Private, map[jose.HeaderKey]any{"kid": kid, "typ": "application/foo"}, base))

	// Claim mutations signed with the real key.
	mut := func(f func(m map[string]any)) {
		m := clone(base)
		f(m)
		add(signJWS(t, jose.ES256, cur.Private, hdr, m))
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "sid", "acr", "amr", "auth_time"} {
		mut(func(m map[string]any) { delete(m, k) })
	}
	for _, iss := range []any{"", e.url + "/", "https://evil.example", strings.ToUpper(e.url), 1, []string{e.url}} {
		mut(func(m map[string]any) { m["iss"] = iss })
	}
	for _, aud := range []any{"", "other", []string{}, []string{"diga.api2"}, []string{"DIGA.API"}, 1, map[string]any{"a": 1}} {
		mut(func(m map[string]any) { m["aud"] = aud })
	}
	for _, extra := range []string{"email", "name", "preferred_username", "kvnr", "phone_number", "x", "cnf", "act", "roles"} {
		mut(func(m map[string]any) { m[extra] = "v" })
	}
	for _, bad := range []any{"1", 1.5e300, -1, nil, true} {
		mut(func(m map[string]any) { m["exp"] = bad })
	}
	mut(func(m map[string]any) { m["sid"] = "" })
	mut(func(m map[string]any) { m["sid"] = 5 })
	mut(func(m map[string]any) { m["amr"] = "pwd" })

	r := mrand.New(mrand.NewPCG(1, 2))
	// exp in the past beyond the leeway, nbf in the future.
	for len(cands) < 300 {
		past := now.Add(-Leeway - time.Duration(1+r.IntN(86400))*time.Second).Unix()
		future := now.Add(Leeway + time.Duration(1+r.IntN(86400))*time.Second).Unix()
		mut(func(m map[string]any) { m["exp"] = past })
		mut(func(m map[string]any) { m["nbf"] = future })
		mut(func(m map[string]any) { m["iat"] = future; m["exp"] = past })
	}
	// JSON tricks in the payload and header (hand-made, signed with the
	// real key where it matters).
	sigFor := func(h, p string) string {
		si := b64([]byte(h)) + "." + b64([]byte(p))
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: cur.Private}, nil)
		obj, _ := s.Sign([]byte(si))
		return si + "." + b64(obj.Signatures[0].Signature)
	}
	h0 := fmt.Sprintf(`{"alg":"ES256","kid":%q}`, kid)
	add(sigFor(h0, strings.Replace(payload, "{", `{"aud":"other",`, 1)))
	add(sigFor(`{"alg":"ES256","alg":"none","kid":"`+kid+`"}`, payload))
	add(rawJWT(h0, payload, nil))
	// Two signatures (JSON serialization) and other serializations.
	ms, _ := jose.NewMultiSigner([]jose.SigningKey{{Algorithm: jose.ES256, Key: cur.Private}, {Algorithm: jose.ES256, Key: other}}, nil)
	obj, _ := ms.Sign([]byte(payload))
	add(obj.FullSerialize())
	one, _ := jose.ParseSignedCompact(good, []jose.SignatureAlgorithm{jose.ES256})
	add(one.FullSerialize())
	// Truncations and bit flips of the good token.
	for len(cands) < 700 {
		add(good[:r.IntN(len(good))])
	}
	for len(cands) < 900 {
		b := []byte(good)
		i := r.IntN(len(b))
		c := b[i]
		for c == b[i] || c == '.' {
			c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[r.IntN(64)]
		}
		if b[i] == '.' {
			continue
		}
		b[i] = c
		add(string(b))
	}
	for _, s := range []string{good + ".", "." + good, good + "=", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+", " " + good, good + "\n", strings.Repeat("a", 10000), "", "...", "a.b.c"} {
		add(s)
	}
	// Fill up with expired tokens carrying distinct jti values.
	for len(cands) < 1000 {
		m := clone(base)
		m["jti"] = fmt.Sprintf("j%d", len(cands))
		m["exp"] = now.Add(-Leeway - time.Duration(1+r.IntN(1000))*time.Second).Unix()
		add(signJWS(t, jose.ES256, cur.Private, hdr, m))
	}

	require.GreaterOrEqual(t, len(cands), 1000)
	accepted := 0
	for i, c := range cands {
		if _, err := v.Verify(ctx, c); err == nil {
			accepted++
			t.Errorf("candidate %d accepted: %.80s", i, c)
		}
	}
	require.Zero(t, accepted)
	t.Logf("T18: %d mutated tokens, 0 accepted", len(cands))
}

// TestRetiredKeyStaysInJWKS: rotation keeps the old public key for the
// retention period, then drops it; tokens of a dropped key fail.
func TestRetiredKeyStaysInJWKS(t *testing.T) {
	clk := newClock()
	ring, err := NewMemoryKeyRing(clk.Now)
	require.NoError(t, err)
	old, _ := ring.Current()
	clk.Advance(time.Hour)
	nk, err := ring.Rotate()
	require.NoError(t, err)
	pub, _ := ring.Public()
	require.Len(t, pub, 2)
	clk.Advance(DefaultKeyRetention - time.Minute)
	pub, _ = ring.Public()
	require.Len(t, pub, 2)
	clk.Advance(2 * time.Minute)
	pub, _ = ring.Public()
	require.Len(t, pub, 1)
	require.Equal(t, nk.ID, pub[0].KeyID)
	require.NotEqual(t, old.ID, nk.ID)

	v := &Verifier{Keys: ring, Issuer: func() string { return "https://op.example" }, Now: clk.Now}
	c := map[string]any{"iss": "https://op.example", "sub": "s", "aud": []string{Audience}, "exp": clk.Now().Add(time.Minute).Unix(),
		"iat": clk.Now().Unix(), "sid": "f", "acr": ACRSubstantial, "amr": []string{"pwd", "otp"}, "auth_time": clk.Now().Unix()}
	_, err = v.Verify(context.Background(), signJWS(t, jose.ES256, nk.Private, map[jose.HeaderKey]any{"kid": nk.ID}, c))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), signJWS(t, jose.ES256, old.Private, map[jose.HeaderKey]any{"kid": old.ID}, c))
	require.ErrorIs(t, err, ErrInvalidToken)
}

// TestKeyRingOnDisk: first start generates a 0600 key, the second start
// reuses it.
func TestKeyRingOnDisk(t *testing.T) {
	dir := t.TempDir()
	r1, err := OpenKeyRing(dir+"/oidc", nil)
	require.NoError(t, err)
	k1, _ := r1.Current()
	r2, err := OpenKeyRing(dir+"/oidc", nil)
	require.NoError(t, err)
	k2, _ := r2.Current()
	require.Equal(t, k1.ID, k2.ID)
	require.True(t, k1.Private.Equal(k2.Private))
	ks1, err := LoadOrCreateKeys(dir)
	require.NoError(t, err)
	ks2, err := LoadOrCreateKeys(dir)
	require.NoError(t, err)
	require.Equal(t, ks1, ks2)
}

func mustEd25519() any {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// TestNonCanonicalBase64Rejected: a token whose segments carry set unused
// trailing bits decodes to the same bytes as the issued one; it is a
// second spelling and must be refused (found by T18's random mutations).
func TestNonCanonicalBase64Rejected(t *testing.T) {
	e := newEnv(t, true, nil)
	secret, _ := e.register(t, "canon-user")
	tok, err := e.client(t).Login(context.Background(), "canon-user", testPassword, secret)
	require.NoError(t, err)
	v := e.svc.Verifier()
	_, err = v.Verify(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	parts := strings.Split(tok.AccessToken, ".")
	tried := 0
	for i, seg := range parts {
		if len(seg)%4 == 0 { // no unused bits in this segment
			continue
		}
		const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alpha, seg[len(seg)-1])
		mut := seg[:len(seg)-1] + string(alpha[last|1]) // set the lowest (unused) bit
		if mut == seg {
			mut = seg[:len(seg)-1] + string(alpha[last&^1])
		}
		cp := append([]string(nil), parts...)
		cp[i] = mut
		_, err := v.Verify(context.Background(), strings.Join(cp, "."))
		require.ErrorIs(t, err, ErrInvalidToken, "segment %d", i)
		tried++
	}
	require.Positive(t, tried)
}
