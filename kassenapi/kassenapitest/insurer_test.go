package kassenapitest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/cms"
	"github.com/digakit/digakit/kassenapi"
)

func rawClient(t *testing.T, s *Server) *http.Client {
	t.Helper()
	hc, err := kassenapi.NewHTTPClient(s.PKI().Identity(), []*x509.Certificate{s.PKI().Root.Cert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

type form struct {
	order  []string
	fields map[string]string
	cms    []byte
	noCT   bool
}

func (f form) body() ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, n := range f.order {
		if n == "nutzdaten" {
			h := map[string][]string{"Content-Disposition": {`form-data; name="nutzdaten"; filename="anfrage.cms"`}}
			if !f.noCT {
				h["Content-Type"] = []string{"application/octet-stream"}
			}
			pw, _ := w.CreatePart(h)
			_, _ = pw.Write(f.cms)
			continue
		}
		_ = w.WriteField(n, f.fields[n])
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func sealFor(t *testing.T, s *Server, xmlBody []byte, eopts *cms.EncryptOptions) []byte {
	t.Helper()
	m := s.PKI().Manufacturer
	msg, err := cms.Seal(xmlBody, m.Key, m.Cert, s.PKI().Clearing[ClearingIKA].Cert, nil, eopts)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func checkXML(t *testing.T, mutate func(string) string) []byte {
	t.Helper()
	code, _ := kassenapi.ParseCodeMode(TestCodeValid, kassenapi.CodeModeTest)
	b, err := kassenapi.BuildCheckRequest("TDFC0", ManufacturerIK, "990000101", DiGAID, code)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		return []byte(mutate(string(b)))
	}
	return b
}

// post sends a form and returns the HTTP status and, for 200, the opened
// EDFC0 answer.
func post(t *testing.T, s *Server, f form, chunked bool) (int, *kassenapi.CheckMessage) {
	t.Helper()
	body, ct := f.body()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // unknown length: chunked encoding
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URLA(), rd)
	req.Header.Set("Content-Type", ct)
	resp, err := rawClient(t, s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	r, err := kassenapi.ParseReply(resp.Header.Get("Content-Type"), rb)
	if err != nil {
		t.Fatal(err)
	}
	p := s.PKI()
	o, err := cms.Open(r.Payload, []cms.Recipient{{Cert: p.Manufacturer.Cert, Key: p.Manufacturer.Key}}, []*x509.Certificate{p.Clearing[ClearingIKA].Cert}, cms.VerifyStrict)
	if err != nil {
		t.Fatal(err)
	}
	m, err := kassenapi.ParseCheckMessage(o.Content)
	if err != nil {
		t.Fatal(err)
	}
	return 200, m
}

func TestStrictValidation(t *testing.T) {
	s := NewServer(t, Options{})
	good := func() form {
		return form{order: []string{"iksender", "ikempfaenger", "verfahren", "nutzdaten"},
			fields: map[string]string{"iksender": ManufacturerIK, "ikempfaenger": ClearingIKA, "verfahren": "TDFC0"},
			cms:    sealFor(t, s, checkXML(t, nil), nil)}
	}
	if st, m := post(t, s, good(), false); st != 200 || m.MessageType != "ANT" || m.VEID != DiGAID+"000" || m.Receiver != ManufacturerIK || m.Sender != ClearingIKA {
		t.Fatalf("good request: %d %+v", st, m)
	}
	httpCases := map[string]struct {
		f       func() form
		chunked bool
		status  int
	}{
		"chunked": {good, true, http.StatusLengthRequired},
		"field order": {func() form {
			f := good()
			f.order = []string{"ikempfaenger", "iksender", "verfahren", "nutzdaten"}
			return f
		}, false, 400},
		"missing field":    {func() form { f := good(); f.order = []string{"iksender", "verfahren", "nutzdaten"}; return f }, false, 400},
		"no content type":  {func() form { f := good(); f.noCT = true; return f }, false, 400},
		"wrong receiver":   {func() form { f := good(); f.fields["ikempfaenger"] = ClearingIKB; return f }, false, 400},
		"wrong sender ik":  {func() form { f := good(); f.fields["iksender"] = "990000026"; return f }, false, 400},
		"no nutzdaten cms": {func() form { f := good(); f.order = f.order[:3]; return f }, false, 400},
	}
	for name, tc := range httpCases {
		if st, _ := post(t, s, tc.f(), tc.chunked); st != tc.status {
			t.Errorf("%s: status %d, want %d", name, st, tc.status)
		}
	}
	feh200 := map[string]func() form{
		"pkcs1v15 key transport": func() form {
			f := good()
			f.cms = sealFor(t, s, checkXML(t, nil), &cms.EncryptOptions{PKCS1v15: true})
			return f
		},
		"garbage cms": func() form { f := good(); f.cms = []byte("not cms"); return f },
		"v2 version": func() form {
			f := good()
			f.cms = sealFor(t, s, checkXML(t, func(x string) string { return strings.Replace(x, "003.000.000", "002.000.000", 1) }), nil)
			return f
		},
		"verfahren differs": func() form { f := good(); f.fields["verfahren"] = "EDFC0"; return f },
		"wrong empfaenger": func() form {
			f := good()
			f.cms = sealFor(t, s, checkXML(t, func(x string) string { return strings.ReplaceAll(x, "990000101", "990000102") }), nil)
			return f
		},
		"bad checksum": func() form {
			f := good()
			f.cms = sealFor(t, s, checkXML(t, func(x string) string { return strings.Replace(x, TestCodeValid, "77AAAAAAAAAAAAAA", 1) }), nil)
			return f
		},
		"ANT instead of ANF": func() form {
			f := good()
			f.cms = sealFor(t, s, checkXML(t, func(x string) string { return strings.Replace(x, `"ANF"`, `"ANT"`, 1) }), nil)
			return f
		},
	}
	for name, f := range feh200 {
		st, m := post(t, s, f(), false)
		if st != 200 || m.MessageType != "FEH" || m.Errors[0].Nummer != 200 || m.Errors[0].XPath == "" {
			t.Errorf("%s: %d %+v", name, st, m)
		}
	}
	calls := s.Calls()
	if len(calls) != 1+len(httpCases)+len(feh200) || calls[0].Answer != "ANT" || calls[1].N != 2 {
		t.Fatalf("calls %+v", calls)
	}
	code, _ := kassenapi.ParseCodeMode(TestCodeValid, kassenapi.CodeModeTest)
	if s.CountFor(code) == 0 {
		t.Fatal("CountFor")
	}
}

func TestAcceptPKCS1v15Mode(t *testing.T) {
	s := NewServer(t, Options{AcceptPKCS1v15: true})
	f := form{order: []string{"iksender", "ikempfaenger", "verfahren", "nutzdaten"},
		fields: map[string]string{"iksender": ManufacturerIK, "ikempfaenger": ClearingIKA, "verfahren": "TDFC0"},
		cms:    sealFor(t, s, checkXML(t, nil), &cms.EncryptOptions{PKCS1v15: true})}
	if st, m := post(t, s, f, false); st != 200 || m.MessageType != "ANT" {
		t.Fatalf("%d %+v", st, m)
	}
}

func TestInfoAndNewCode(t *testing.T) {
	s := NewServer(t, Options{})
	b, err := json.Marshal(s.Info())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	for _, k := range []string{"manufacturer_ik", "diga_id", "endpoints", "ca_pem", "client_cert_pem", "client_key_pem", "keylist_url"} {
		if got[k] == nil || got[k] == "" {
			t.Errorf("info lacks %s", k)
		}
	}
	eps := got["endpoints"].(map[string]any)
	if eps["ZZ"] != s.URLA() || eps["ZU"] != s.URLB() || eps["ZV"] != nil {
		t.Fatalf("endpoints %v", eps)
	}
	// the key list is served
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTrusting(s)}}
	resp, err := hc.Get(s.KeyListURL())
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if kl, _, err := kassenapi.ParseKeyList(kb); err != nil || kl.Len() != 5 {
		t.Fatalf("served key list: %v", err)
	}
	seen := map[string]bool{}
	for range 50 {
		c := NewCode("ZZ")
		if _, err := kassenapi.ParseCode(c.Plain()); err != nil || c.Prefix() != "ZZ" || seen[c.Plain()] {
			t.Fatalf("NewCode: %v", err)
		}
		seen[c.Plain()] = true
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(Fault{Kind: FaultHang})
	cfg := s.ClientConfig()
	c, err := kassenapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ValidateCode(t.Context(), NewCode("ZZ"))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	_ = s.Close()
	_ = s.Close() // idempotent
	select {
	case err := <-done:
		if kassenapi.ClassOf(err) != kassenapi.ClassOutcomeUnknown {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hanging request")
	}
}

func TestFaultNames(t *testing.T) {
	for k := FaultNone; k <= FaultOtherInsurerIK; k++ {
		if strings.HasPrefix(k.String(), "FaultKind(") {
			t.Errorf("%d has no name", k)
		}
	}
	if fmt.Sprint(FaultKind(99)) != "FaultKind(99)" {
		t.Error("unknown fault name")
	}
}

func tlsTrusting(s *Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.PKI().Root.Cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func TestFaultOnCall(t *testing.T) {
	s := NewServer(t, Options{})
	c, err := kassenapi.New(s.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	s.SetFault(Fault{Kind: FaultStatus, Status: 400, OnCall: 2})
	code := NewCode("ZZ")
	s.AddCode(code, State{})
	for i, want := range []kassenapi.ErrorClass{kassenapi.ClassNone, kassenapi.ClassInternal, kassenapi.ClassNone} {
		if _, err := c.ValidateCode(t.Context(), code); kassenapi.ClassOf(err) != want {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	calls := s.Calls()
	if len(calls) != 3 || calls[1].N != 2 || calls[1].Fault != FaultStatus || calls[2].Fault != FaultNone {
		t.Fatalf("%+v", calls)
	}
}
