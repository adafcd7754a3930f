package audit_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/digakit/digakit/audit"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	testSKey = "PRIVATE+KEY+audit.example-diga.de/security+e4122476+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
	testVKey = "audit.example-diga.de/security+e4122476+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
)

var vectorLeaves = []string{
	`{"actor":{"id":"u7q2kx3mzfzt4c5h","kind":"user"},"id":"01JH2Q6W8T4M0Z5X3C9V7B1N2K","level":"WARN","log":"security","outcome":"failure","reason":"bad_password","seg":"2026-01","seq":0,"subject":"u7q2kx3mzfzt4c5h","svc":"refserver","ts":"2026-01-15T10:04:05.123Z","type":"authn_login_fail","v":1}`,
	`{"actor":{"id":"u7q2kx3mzfzt4c5h","kind":"user"},"attrs":{"retries":1},"id":"01JH2Q7A1B2C3D4E5F6G7H8J9K","level":"INFO","log":"security","outcome":"success","seg":"2026-01","seq":1,"subject":"u7q2kx3mzfzt4c5h","svc":"refserver","ts":"2026-01-15T10:05:00.000Z","type":"authn_login_successafterfail","v":1}`,
	`{"actor":{"id":"u7q2kx3mzfzt4c5h","kind":"user"},"auth":{"acr":"loa-substantial","amr":["pwd","otp"],"sid":"sha256:3f0c9a1b"},"id":"01JH2Q7B2C3D4E5F6G7H8J9KAM","level":"INFO","log":"security","outcome":"success","seg":"2026-01","seq":2,"subject":"u7q2kx3mzfzt4c5h","svc":"refserver","ts":"2026-01-15T10:05:00.250Z","type":"session_created","v":1}`,
}

const privacyLeaf = `{"actor":{"id":"u7q2kx3mzfzt4c5h","kind":"user"},"attrs":{"action":"grant","docs":[{"doc":"privacy-policy","locale":"de","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","version":3},{"doc":"terms","locale":"de","sha256":"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752","version":2}],"method":"checkbox+button","purpose":"diga.use"},"client":{"app_version":"1.4.2","platform":"ios"},"id":"01JH2Q8C3D4E5F6G7H8J9KAMBN","level":"INFO","log":"privacy","outcome":"success","seg":"2026-01","seq":0,"subject":"u7q2kx3mzfzt4c5h","svc":"refserver","ts":"2026-01-15T10:06:30.500Z","type":"consent_granted","v":1}`

const vectorCheckpoint = "audit.example-diga.de/security/2026-01\n3\niv4YDkflzBvLizKZx3ILW8fGZsAqcTQyAcYJGZZNfNg=\n\n\u2014 audit.example-diga.de/security 5BIkdi1MeO/zV8A43w8hITkip90QNBLSrXQR+zvsiqnA0FJzhL3GRML17toAURoBM8jAeWq5CAeOPpMdc0IO/QIYgAM=\n"

func hx(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	var h tlog.Hash
	copy(h[:], b)
	return h
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func buildTree(t *testing.T, leaves [][]byte) (memHashes, []tlog.Hash) {
	t.Helper()
	var hs memHashes
	var roots []tlog.Hash
	for i, l := range leaves {
		sh, err := tlog.StoredHashes(int64(i), l, hs)
		require.NoError(t, err)
		hs = append(hs, sh...)
		r, err := tlog.TreeHash(int64(i+1), hs)
		require.NoError(t, err)
		roots = append(roots, r)
	}
	return hs, roots
}

// AU-1: RFC 6962 roots of spec §2.1.
func TestVectorsRFC6962(t *testing.T) {
	leaves := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	want := []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	var bs [][]byte
	for _, l := range leaves {
		b, _ := hex.DecodeString(l)
		bs = append(bs, b)
	}
	_, roots := buildTree(t, bs)
	for i, w := range want {
		require.Equal(t, w, hex.EncodeToString(roots[i][:]), "size %d", i+1)
	}
	empty, err := tlog.TreeHash(0, memHashes{})
	require.NoError(t, err)
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex.EncodeToString(empty[:]))
}

// AU-1: the PeterNeumann note of spec §2.2 is reproduced byte for byte.
func TestVectorsPeterNeumannNote(t *testing.T) {
	s, err := note.NewSigner("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
	require.NoError(t, err)
	msg, err := note.Sign(&note.Note{Text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"}, s)
	require.NoError(t, err)
	require.Contains(t, string(msg), "\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
}

// AU-1: E0-E2 leaf hashes, running roots, proofs and the signed checkpoint.
func TestVectorsEvents(t *testing.T) {
	var bs [][]byte
	for i, l := range vectorLeaves {
		m, err := audit.DecodeCanonical([]byte(l))
		require.NoError(t, err)
		enc, err := audit.AppendCanonical(nil, m)
		require.NoError(t, err)
		require.Equal(t, l, string(enc), "E%d re-encodes", i)
		bs = append(bs, []byte(l))
	}
	require.Equal(t, []int{294, 304, 346}, []int{len(bs[0]), len(bs[1]), len(bs[2])})
	hs, roots := buildTree(t, bs)
	lh := []string{"99c9cb5425c18833470f4f837d4e78f3ce0c81d72163c673a0942592cf442803",
		"0cd1ffc9cfa3f68eb549ff089fbac7472fcd2f48cbc137375e3af0a3abd68469",
		"606594280893da56030b935cdd7672f69aa8297801e535296630bb94cecd07d4"}
	for i := range bs {
		require.Equal(t, hx(t, lh[i]), tlog.RecordHash(bs[i]))
	}
	require.Equal(t, hx(t, "c5d76110ac2857eb6b907a3768adade48c1f7571210369d6dc23230911bce13d"), roots[1])
	require.Equal(t, hx(t, "8afe180e47e5cc1bcb8b3299c7720b5bc7c666c02a71343201c60919964d7cd8"), roots[2])
	p2, err := tlog.ProveRecord(3, 2, hs)
	require.NoError(t, err)
	require.Equal(t, tlog.RecordProof{roots[1]}, p2)
	p0, err := tlog.ProveRecord(3, 0, hs)
	require.NoError(t, err)
	require.Equal(t, tlog.RecordProof{hx(t, lh[1]), hx(t, lh[2])}, p0)
	tp, err := tlog.ProveTree(3, 2, hs)
	require.NoError(t, err)
	require.Equal(t, tlog.TreeProof{hx(t, lh[2])}, tp)

	signer, err := note.NewSigner(testSKey)
	require.NoError(t, err)
	msg, err := audit.SignCheckpoint(audit.Checkpoint{Origin: "audit.example-diga.de/security/2026-01", Size: 3, Root: roots[2]}, signer)
	require.NoError(t, err)
	require.Equal(t, vectorCheckpoint, string(msg))
	v, err := note.NewVerifier(testVKey)
	require.NoError(t, err)
	cp, err := audit.OpenCheckpoint(msg, []note.Verifier{v})
	require.NoError(t, err)
	require.Equal(t, uint64(3), cp.Size)

	// Size "03": the parser rejects the leading zero before any signature check.
	bad := []byte("audit.example-diga.de/security/2026-01\n03\n" + vectorCheckpoint[len("audit.example-diga.de/security/2026-01\n3\n"):])
	_, err = audit.ParseCheckpoint(bad)
	require.ErrorIs(t, err, audit.ErrBadCheckpoint)

	m, err := audit.DecodeCanonical([]byte(privacyLeaf))
	require.NoError(t, err)
	enc, err := audit.AppendCanonical(nil, m)
	require.NoError(t, err)
	require.Equal(t, privacyLeaf, string(enc))
	require.Len(t, privacyLeaf, 647)
	require.Equal(t, hx(t, "54501cb9c290e2835bc846380b5d89113b658fe6fd62c88163f130e4156aeec2"), tlog.RecordHash([]byte(privacyLeaf)))
}

// Spec §4: malformed checkpoint notes are parse errors.
func TestParseCheckpointRejects(t *testing.T) {
	body := "audit.example-diga.de/security/2026-01\n3\niv4YDkflzBvLizKZx3ILW8fGZsAqcTQyAcYJGZZNfNg=\n"
	sig := "\u2014 audit.example-diga.de/security 5BIkdi1MeO/zV8A43w8hITkip90QNBLSrXQR+zvsiqnA0FJzhL3GRML17toAURoBM8jAeWq5CAeOPpMdc0IO/QIYgAM=\n"
	_, err := audit.ParseCheckpoint([]byte(body + "\n" + sig))
	require.NoError(t, err)
	cases := map[string]string{
		"extra blank line": body + "\n\n" + sig,
		"extension line":   body + "ext\n\n" + sig,
		"bad base64":       strings.Replace(body, "iv4Y", "!v4Y", 1) + "\n" + sig,
		"short root":       strings.Replace(body, "iv4YDkflzBvLizKZx3ILW8fGZsAqcTQyAcYJGZZNfNg=", "AAAA", 1) + "\n" + sig,
		"leading zero":     strings.Replace(body, "\n3\n", "\n03\n", 1) + "\n" + sig,
		"sign":             strings.Replace(body, "\n3\n", "\n+3\n", 1) + "\n" + sig,
		"negative":         strings.Replace(body, "\n3\n", "\n-3\n", 1) + "\n" + sig,
		"origin with +":    strings.Replace(body, "security/", "secu+rity/", 1) + "\n" + sig,
		"control char":     strings.Replace(body, "security", "secu\x01rity", 1) + "\n" + sig,
		"no signature":     body + "\n",
		"bad sig line":     body + "\n" + "- audit x AAAA\n",
		"101 signatures":   body + "\n" + strings.Repeat(sig, 101),
		"not utf8":         body + "\n" + sig[:len(sig)-3] + "\xff\n",
	}
	for name, n := range cases {
		_, err := audit.ParseCheckpoint([]byte(n))
		require.ErrorIs(t, err, audit.ErrBadCheckpoint, name)
	}
	// Wrong origin and unknown key are caught by OpenCheckpoint/Verify.
	_, err = audit.OpenCheckpoint([]byte(body+"\n"+sig), nil)
	require.ErrorIs(t, err, audit.ErrBadCheckpoint)
}
