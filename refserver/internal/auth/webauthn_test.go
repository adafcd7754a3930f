package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"
)

const (
	waRPID   = "localhost"
	waOrigin = "https://localhost"
)

// Authenticator-data flag bits (§2.5).
const (
	flagUP = 1 << 0
	flagUV = 1 << 2
	flagBE = 1 << 3
	flagBS = 1 << 4
	flagAT = 1 << 6
)

// vauth is a virtual WebAuthn authenticator: ES256 key, chosen flags and
// sign count, attestation "none".
type vauth struct {
	key   *ecdsa.PrivateKey
	id    []byte
	count uint32
	flags byte
}

func newVAuth(t testing.TB, flags byte) *vauth {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &vauth{key: k, id: id, flags: flags}
}

func (v *vauth) authData(flags byte, attested bool) []byte {
	h := sha256.Sum256([]byte(waRPID))
	var b bytes.Buffer
	b.Write(h[:])
	b.WriteByte(flags)
	_ = binary.Write(&b, binary.BigEndian, v.count)
	if attested {
		b.Write(make([]byte, 16)) // AAGUID
		_ = binary.Write(&b, binary.BigEndian, uint16(len(v.id)))
		b.Write(v.id)
		x := v.key.X.FillBytes(make([]byte, 32))
		y := v.key.Y.FillBytes(make([]byte, 32))
		cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		b.Write(cose)
	}
	return b.Bytes()
}

func challengeOf(t testing.TB, options []byte) string {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	require.NoError(t, json.Unmarshal(options, &o))
	require.NotEmpty(t, o.PublicKey.Challenge)
	return o.PublicKey.Challenge
}

func (v *vauth) create(t testing.TB, options []byte) []byte {
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": challengeOf(t, options), "origin": waOrigin})
	att, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": v.authData(v.flags|flagAT, true)})
	body, _ := json.Marshal(map[string]any{"id": b64(v.id), "rawId": b64(v.id), "type": "public-key",
		"response": map[string]any{"attestationObject": b64(att), "clientDataJSON": b64(cd)}})
	return body
}

func (v *vauth) get(t testing.TB, options []byte, flags byte) []byte {
	cd, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challengeOf(t, options), "origin": waOrigin})
	ad := v.authData(flags, false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, v.key, digest[:])
	require.NoError(t, err)
	body, _ := json.Marshal(map[string]any{"id": b64(v.id), "rawId": b64(v.id), "type": "public-key",
		"response": map[string]any{"authenticatorData": b64(ad), "clientDataJSON": b64(cd), "signature": b64(sig)}})
	return body
}

func postJSON(t testing.TB, u, bearer string, body []byte) (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestWebAuthnSecondFactor registers a virtual authenticator after a
// step-up login, logs in with password + WebAuthn (amr pwd hwk), stores
// all credential flags, and rejects clone warnings and BE-flag
// inconsistencies with their own reasons.
//
// REQ: TR03161-3:O.Auth_4
func TestWebAuthnSecondFactor(t *testing.T) {
	e := newEnv(t, false, func(c *Config) {
		c.WebAuthn = &webauthn.Config{RPID: waRPID, RPDisplayName: "digakit", RPOrigins: []string{waOrigin}}
	})
	secret, _ := e.register(t, "key-user")
	tok, err := e.client(t).Login(context.Background(), "key-user", testPassword, secret)
	require.NoError(t, err)

	enrol := func(v *vauth) {
		code, body := postJSON(t, e.url+"/v1/me/webauthn/registrations", tok.AccessToken, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var begin struct {
			Token   string          `json:"token"`
			Options json.RawMessage `json:"options"`
		}
		require.NoError(t, json.Unmarshal(body, &begin))
		code, body = postJSON(t, e.url+"/v1/me/webauthn/registrations/"+url.PathEscape(begin.Token), tok.AccessToken, v.create(t, begin.Options))
		require.Equal(t, http.StatusCreated, code, string(body))
	}
	key := newVAuth(t, flagUP|flagUV)
	enrol(key)
	var rec string
	require.NoError(t, e.db.QueryRowContext(context.Background(), `SELECT record FROM auth_webauthn_credentials WHERE id = $1`, b64(key.id)).Scan(&rec))
	for _, f := range []string{`"userPresent":true`, `"userVerified":true`, `"backupEligible":false`, `"backupState":false`, `"authenticator"`, `"attestation"`, `"attestationFormat":"none"`, `"AAGUID"`} {
		require.Contains(t, rec, f)
	}

	// passwordStep returns the second-factor token for a new login.
	passwordStep := func() string {
		id := e.newAuthRequest(t)
		_, body, _ := e.postForm(t, "/login", url.Values{"authRequestID": {id}, "username": {"key-user"}, "password": {testPassword}})
		tk := hidden(body, "token")
		require.NotEmpty(t, tk)
		return tk
	}
	assert := func(v *vauth, flags byte) (int, []byte) {
		tk := passwordStep()
		code, opts, _ := e.postForm(t, "/login/2fa/webauthn/begin", url.Values{"token": {tk}})
		require.Equal(t, http.StatusOK, code, opts)
		return postJSON(t, e.url+"/login/2fa/webauthn/finish?token="+url.QueryEscape(tk), "", v.get(t, []byte(opts), flags))
	}

	key.count = 5
	code, body := assert(key, flagUP|flagUV)
	require.Equal(t, http.StatusOK, code, string(body))
	var fin struct {
		Redirect string `json:"redirect"`
	}
	require.NoError(t, json.Unmarshal(body, &fin))
	resp, err := noFollow().Get(e.url + fin.Redirect)
	require.NoError(t, err)
	_ = resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	tr := e.exchange(t, cb.Query().Get("code"), pkceVerifier)
	require.Equal(t, http.StatusOK, tr.status)
	require.Equal(t, []any{"pwd", "hwk", "mfa"}, claims(t, tr.AccessToken)["amr"])
	require.NoError(t, e.db.QueryRowContext(context.Background(), `SELECT record FROM auth_webauthn_credentials WHERE id = $1`, b64(key.id)).Scan(&rec))
	require.Contains(t, rec, `"signCount":5`)

	// Sign count going backwards: clone warning.
	key.count = 3
	code, body = assert(key, flagUP|flagUV)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, string(body), "clone-warning")
	require.Equal(t, 1, e.sink.Count(EventLoginFail, "clone_warning"))

	// A passkey registered with BE=0 that now reports BE=1.
	pk := newVAuth(t, flagUP|flagUV)
	enrol(pk)
	pk.count = 1
	code, body = assert(pk, flagUP|flagUV|flagBE|flagBS)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, string(body), "webauthn-flag-inconsistency")
	require.Equal(t, 1, e.sink.Count(EventLoginFail, "webauthn_flag_inconsistency"))

	// A forged signature fails.
	other := newVAuth(t, flagUP)
	other.id = pk.id
	other.count = 10
	code, _ = assert(other, flagUP|flagUV)
	require.Equal(t, http.StatusUnauthorized, code)

	// Without step-up (old auth_time) registration is refused: covered by
	// RequireStepUp; without WebAuthn configured the routes answer 404.
	plain := newEnv(t, false, nil)
	code, _, _ = plain.postForm(t, "/login/2fa/webauthn/begin", url.Values{"token": {"x"}})
	require.Equal(t, http.StatusNotFound, code)
	require.False(t, strings.Contains(rec, "key-user"), "no personal data in the credential record")
}
