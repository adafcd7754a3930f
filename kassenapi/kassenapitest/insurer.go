package kassenapitest

import (
	"bytes"
	"context"
	"crypto"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/internal/cms"
	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/xrechnung/xrechnungtest"
)

// The seven GKV pseudo codes (GKV Anhang 6, spec A2.3). They behave as
// documented with TDFC0 only.
const (
	TestCodeValid     = "77AAAAAAAAAAAAAX" // ANT, service day today, VE-ID DiGA-ID + 000
	TestCodeExpired   = "77AAAAAAAAAAADEV" // FEH 100
	TestCodeCancelled = "77AAAAAAAAAAADFF" // FEH 101
	TestCodeNotFound  = "77AAAAAAAAAAADGE" // FEH 102
	TestCodeInvalid   = "77AAAAAAAAAAAGIS" // FEH 200
	TestCodeServer    = "77AAAAAAAAAAAGJC" // FEH 201
	TestCodeStorage   = "77AAAAAAAAAAAGKD" // FEH 202
)

// Fehlertexte of the ITSG FEH samples (spec A2.3).
var fehlerText = map[int]string{
	100: "Freischaltcode / Rezeptcode abgelaufen",
	101: "Freischaltcode / Rezeptcode storniert",
	102: "Freischaltcode / Rezeptcode nicht gefunden",
	200: "Anfrage oder Datei ungültig",
	201: "Serverfehler",
	202: "Speicherfehler",
}

// CodeStatus is the state of a registered code.
type CodeStatus int

// Code states of the registry.
const (
	Valid CodeStatus = iota
	Expired
	Cancelled
	Unknown
)

// State is what the fake answers for a registered code.
type State struct {
	Status CodeStatus
	// VEIDSuffix is the 3-digit VE suffix of the DiGA-VE-ID; default "000".
	VEIDSuffix string
	// ServiceDay is the Tag der Leistungserbringung; zero means the day of
	// the check.
	ServiceDay kassenapi.Date
}

// Repeat selects the answer to a repeated check of an already answered
// valid code (the real behaviour is unverified, spec A5).
type Repeat int

// Repeat behaviours.
const (
	RepeatANT    Repeat = iota // ANT again (default)
	RepeatFEH102               // not found
	RepeatFEH101               // cancelled
)

// FaultKind is a fault the endpoint injects (spec A5 "Faults", "Answer
// modes").
type FaultKind int

// Faults.
const (
	FaultNone           FaultKind = iota
	FaultDelay                    // wait Fault.Delay, then answer normally
	FaultHang                     // never answer; wait until the client gives up
	FaultAcceptThenDrop           // process the request, then reset the connection
	FaultEmptyBody                // 200 with an empty body
	FaultNoBoundary               // multipart without boundary parameter
	FaultHTML502                  // 502 with an HTML page
	FaultStatus                   // Fault.Status with Fault.RetryAfter
	FaultFEH201                   // FEH 201 Serverfehler
	FaultFEH202                   // FEH 202 Speicherfehler
	FaultWrongNamespace           // v2 namespace with version 003.000.000
	FaultBadEncoding              // windows-1252 bytes declared as UTF-8
	FaultOtherCode                // answer for another code
	FaultOtherVEID                // VE-ID of another DiGA
	FaultTruncatedCMS             // CMS cut in half
	FaultWrongAESOID              // content-encryption OID not AES
	FaultOAEPNoMGF                // OAEP parameters without MGF
	FaultUnknownSigner            // signed with a certificate not in the key list
	FaultPreviousCert             // encrypted to the manufacturer's previous certificate
	FaultDER                      // answer in DER instead of BER
	FaultNoSignedAttrs            // signature without signed attributes
	FaultRawCMS                   // body is the CMS itself, not multipart
	FaultUnknownCA                // TLS: refuse every client certificate with unknown_ca
	FaultOtherInsurerIK           // ANT with another IK_Krankenkasse (merger)
)

var faultNames = [...]string{"none", "delay", "hang", "accept-then-drop", "empty-body", "no-boundary", "html-502",
	"status", "feh-201", "feh-202", "wrong-namespace", "bad-encoding", "other-code", "other-veid", "truncated-cms",
	"wrong-aes-oid", "oaep-no-mgf", "unknown-signer", "previous-cert", "der", "no-signed-attrs", "raw-cms", "unknown-ca",
	"other-insurer-ik"}

// String names the fault.
func (f FaultKind) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("FaultKind(%d)", int(f))
}

// Fault is one injected fault.
type Fault struct {
	Kind       FaultKind
	Delay      time.Duration // FaultDelay
	Status     int           // FaultStatus, e.g. 400, 500, 503
	RetryAfter string        // Retry-After header for FaultStatus/FaultHTML502
	// Times limits the fault to the next Times matching calls; 0 means
	// until cleared.
	Times int
	// OnCall, when > 0, applies the fault only to the call with this
	// 1-based number (counted over both endpoints, see Call.N).
	OnCall int
}

// ClientAuthMode selects the TLS client-certificate policy.
type ClientAuthMode int

// Client-certificate policies.
const (
	// ClientCertRequired requires a client certificate that chains to the
	// test root through the presented intermediates (default). A leaf-only
	// chain fails with unknown_ca, like Bitmarck.
	ClientCertRequired ClientAuthMode = iota
	// ClientCertOptional accepts connections without a certificate.
	ClientCertOptional
)

// Options configure the fake insurer. The zero value is usable.
type Options struct {
	// PKI is the test PKI; nil uses DefaultPKI (RSA-2048, shared).
	PKI *PKI
	// DiGAID is the DiGA-ID the fake accepts; default DiGAID ("12345").
	DiGAID string
	// ClientAuth is the TLS client-certificate policy.
	ClientAuth ClientAuthMode
	// AllowChunked accepts requests without Content-Length. Default false:
	// 411, like diga.apimisc.de.
	AllowChunked bool
	// AcceptPKCS1v15 also accepts PKCS#1 v1.5 key transport.
	AcceptPKCS1v15 bool
	// Repeat is the answer to a repeated check of an answered code.
	Repeat Repeat
	// Latency delays every answer (0: none).
	Latency time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Call records one request the fake received.
type Call struct {
	N         int    // 1-based call number, in order of arrival
	Endpoint  string // "A" or "B"
	Procedure string
	Code      kassenapi.Code // zero if none could be read
	At        time.Time
	Fault     FaultKind
	Answer    string // "ANT", "FEH 102", "HTTP 411", …
}

// Server is the fake insurer: two Kommunikationsstellen (A with clearing
// IK 990000200, B with 990000300) as HTTPS servers on 127.0.0.1 with
// client certificates, real SECON crypto both ways, the pseudo codes, a
// code registry, fault switches and call accounting (spec A5). It is safe
// for concurrent use.
//
// REQ: kassenapi-spec:A5
type Server struct {
	opts    Options
	pki     *PKI
	a, b    *httptest.Server
	keySrv  *httptest.Server
	keyList *kassenapi.KeyList
	dir     *kassenapi.Directory
	dirXML  []byte
	done    chan struct{}
	closeMu sync.Once

	mu         sync.Mutex
	received   int // requests that reached the handler
	codes      map[string]State
	answered   map[string]bool
	billed     map[string]string // code → number of its accepted 380
	calls      []Call
	fault      *Fault
	codeFaults map[string]*Fault
	unknownCA  bool
}

// NewServer starts a fake insurer and closes it when the test ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a fake insurer without a testing.TB (for digakit sandbox and
// serve). The caller must Close it. It listens on loopback only.
func Start(opts Options) (*Server, error) {
	if opts.PKI == nil {
		p, err := DefaultPKI()
		if err != nil {
			return nil, err
		}
		opts.PKI = p
	}
	if opts.DiGAID == "" {
		opts.DiGAID = DiGAID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, pki: opts.PKI, done: make(chan struct{}), codes: map[string]State{},
		answered: map[string]bool{}, billed: map[string]string{}, codeFaults: map[string]*Fault{}}
	s.keyList = opts.PKI.KeyList()
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.Root.Cert)
	serverCert := tls.Certificate{Certificate: [][]byte{s.pki.Server.Cert.Raw}, PrivateKey: s.pki.Server.Key, Leaf: s.pki.Server.Cert}
	mkTLS := func() *tls.Config {
		base := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}, NextProtos: []string{"http/1.1"}}
		base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			c.GetConfigForClient = nil
			c.ClientCAs = roots
			s.mu.Lock()
			unknown := s.unknownCA
			s.mu.Unlock()
			switch {
			case unknown:
				c.ClientCAs = x509.NewCertPool() // nothing chains: unknown_ca
				c.ClientAuth = tls.RequireAndVerifyClientCert
			case opts.ClientAuth == ClientCertOptional:
				c.ClientAuth = tls.VerifyClientCertIfGiven
			default:
				c.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return c, nil
		}
		return base
	}
	start := func(name, clearingIK string) *httptest.Server {
		h := http.NewServeMux()
		h.HandleFunc("/diga", func(w http.ResponseWriter, r *http.Request) { s.serveDiGA(w, r, name, clearingIK) })
		srv := httptest.NewUnstartedServer(h)
		srv.TLS = mkTLS()
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected in fault tests
		srv.StartTLS()
		return srv
	}
	s.a = start("A", ClearingIKA)
	s.b = start("B", ClearingIKB)
	keyFile := s.pki.KeyListFile()
	s.keySrv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(keyFile)
	}))
	s.keySrv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}}
	s.keySrv.StartTLS()

	s.dirXML = DirectoryXML(DefaultDirectoryEntries(EndpointOf(s.a.URL), EndpointOf(s.b.URL)))
	d, _, err := kassenapi.DirectoryOptions{AllowTestEndpoints: true}.Parse(s.dirXML)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("kassenapitest: own directory does not parse: %w", err)
	}
	s.dir = d
	return s, nil
}

// Close stops the servers and releases hanging requests. Idempotent.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		close(s.done)
		for _, srv := range []*httptest.Server{s.a, s.b, s.keySrv} {
			if srv != nil {
				srv.CloseClientConnections()
				srv.Close()
			}
		}
	})
	return nil
}

// URLA and URLB are the endpoint URLs ("https://127.0.0.1:port/diga").
func (s *Server) URLA() string { return s.a.URL + "/diga" }

// URLB is the URL of fake B.
func (s *Server) URLB() string { return s.b.URL + "/diga" }

// KeyListURL serves KeyListFile over HTTPS (no client certificate).
func (s *Server) KeyListURL() string { return s.keySrv.URL + "/annahme-rsa4096.key" }

// PKI returns the test PKI.
func (s *Server) PKI() *PKI { return s.pki }

// KeyList is the parsed key list the fake publishes.
func (s *Server) KeyList() *kassenapi.KeyList { return s.keyList }

// Directory is the default directory with ZZ, ZU, ZY, ZX, ZW (fake A and
// B) and ZV (endpoint "3").
func (s *Server) Directory() *kassenapi.Directory { return s.dir }

// DirectoryXML is the XML of Directory (serve it with a DirectoryServer).
func (s *Server) DirectoryXML() []byte { return bytes.Clone(s.dirXML) }

// ClientConfig returns a kassenapi.Config that talks to this fake: the
// manufacturer identity with chain, the directory and key list, the test
// root as extra root CA, test codes allowed via prefix ZZ, strict
// verification and no retry waits. Tests adjust it as needed.
func (s *Server) ClientConfig() kassenapi.Config {
	return kassenapi.Config{
		ManufacturerIK: ManufacturerIK, DiGAID: s.opts.DiGAID,
		Identity:     s.pki.Identity(),
		Directory:    kassenapi.StaticDirectory{D: s.dir},
		Keys:         kassenapi.StaticKeyList{K: s.keyList},
		ExtraRootCAs: []*x509.Certificate{s.pki.Root.Cert},
		Verify:       kassenapi.VerifyStrict, AllowTestCodes: true, TestPrefix: "ZZ",
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
}

// Info is the JSON document "digakit sandbox" prints under "insurer"
// (spec A5). The key is a throw-away test key.
type Info struct {
	ManufacturerIK string            `json:"manufacturer_ik"`
	DiGAID         string            `json:"diga_id"`
	Endpoints      map[string]string `json:"endpoints"`
	CAPEM          string            `json:"ca_pem"`
	ClientCertPEM  string            `json:"client_cert_pem"`
	ClientKeyPEM   string            `json:"client_key_pem"`
	KeyListURL     string            `json:"keylist_url"`
}

// Info describes the running fake.
func (s *Server) Info() any { return s.InfoStruct() }

// InfoStruct is Info with its concrete type.
func (s *Server) InfoStruct() Info {
	eps := map[string]string{}
	for _, e := range s.dir.Entries() {
		if e.URL != "" {
			eps[e.Prefix] = e.URL
		}
	}
	return Info{ManufacturerIK: ManufacturerIK, DiGAID: s.opts.DiGAID, Endpoints: eps, CAPEM: s.pki.CAPEM(),
		ClientCertPEM: s.pki.ClientCertPEM(), ClientKeyPEM: s.pki.ClientKeyPEM(), KeyListURL: s.KeyListURL()}
}

// AddCode registers a code with its state.
func (s *Server) AddCode(code kassenapi.Code, st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code.Plain()] = st
	delete(s.answered, code.Plain())
}

// SetFault sets a fault for every call (Times bounds it); FaultNone
// clears it. FaultUnknownCA switches the TLS policy instead.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == FaultUnknownCA {
		s.unknownCA = true
		return
	}
	if f.Kind == FaultNone {
		s.fault, s.unknownCA = nil, false
		return
	}
	s.fault = &f
}

// SetCodeFault sets a fault for calls with one code.
func (s *Server) SetCodeFault(code kassenapi.Code, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == FaultNone {
		delete(s.codeFaults, code.Plain())
		return
	}
	s.codeFaults[code.Plain()] = &f
}

// Calls returns every request received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CountFor counts the requests that carried code.
func (s *Server) CountFor(code kassenapi.Code) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Code.Equal(code) {
			n++
		}
	}
	return n
}

// takeFault returns the fault for this call (code faults first) and
// consumes one use.
func (s *Server) takeFault(code string, callNo int) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, perCode := s.codeFaults[code], true
	if f == nil {
		f, perCode = s.fault, false
	}
	if f == nil || f.OnCall > 0 && f.OnCall != callNo {
		return Fault{}
	}
	out := *f
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			if perCode {
				delete(s.codeFaults, code)
			} else {
				s.fault = nil
			}
		}
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// request is what the fake read from a POST.
type request struct {
	fields  map[string]string
	payload []byte
}

// readRequest checks the HTTP layer strictly (spec A2.5, A5).
func readRequest(r *http.Request, allowChunked bool) (*request, int, string) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, "POST only"
	}
	if r.ContentLength < 0 && !allowChunked {
		return nil, http.StatusLengthRequired, "Content-Length required"
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, http.StatusBadRequest, "multipart/form-data with boundary required"
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, 8<<20), params["boundary"])
	req := &request{fields: map[string]string{}}
	var order []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, http.StatusBadRequest, "malformed multipart body"
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, http.StatusBadRequest, "malformed multipart part"
		}
		name := p.FormName()
		order = append(order, name)
		if name == kassenapi.FieldPayload {
			if p.FileName() == "" || p.Header.Get("Content-Type") != "application/octet-stream" {
				return nil, http.StatusBadRequest, "nutzdaten needs a filename and Content-Type application/octet-stream"
			}
			req.payload = data
			continue
		}
		req.fields[name] = string(data)
	}
	want := []string{kassenapi.FieldSender, kassenapi.FieldReceiver, kassenapi.FieldProcedure, kassenapi.FieldPayload}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		return nil, http.StatusBadRequest, "fields must be iksender, ikempfaenger, verfahren, nutzdaten in this order"
	}
	return req, 0, ""
}

func (s *Server) serveDiGA(w http.ResponseWriter, r *http.Request, name, clearingIK string) {
	s.mu.Lock()
	s.received++
	callNo := s.received
	s.mu.Unlock()
	call := Call{N: callNo, Endpoint: name, At: s.opts.Now()}
	req, status, msg := readRequest(r, s.opts.AllowChunked)
	if req == nil {
		call.Answer = fmt.Sprintf("HTTP %d", status)
		s.record(call)
		http.Error(w, msg, status)
		return
	}
	proc := req.fields[kassenapi.FieldProcedure]
	call.Procedure = proc
	if req.fields[kassenapi.FieldReceiver] != clearingIK || req.fields[kassenapi.FieldSender] != ManufacturerIK {
		call.Answer = "HTTP 400"
		s.record(call)
		http.Error(w, "iksender/ikempfaenger do not match this Kommunikationsstelle", http.StatusBadRequest)
		return
	}
	clearing := s.pki.Clearing[clearingIK]
	ans := s.answer(req, proc, clearing, &call)
	code := call.Code.Plain()
	params := s.takeFault(code, callNo)
	kind := params.Kind
	call.Fault = kind
	d := s.opts.Latency
	if kind == FaultDelay {
		d += params.Delay
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			call.Answer = "client gave up"
			s.record(call)
			return
		case <-s.done:
			return
		}
	}
	s.applyAnswerFaults(kind, ans)
	body, ctype, err := s.buildReply(ans, proc, clearing, kind)
	if err != nil {
		call.Answer = "HTTP 500"
		s.record(call)
		http.Error(w, "fake insurer failed to build its answer", http.StatusInternalServerError)
		return
	}
	call.Answer = ans.summary()
	switch kind {
	case FaultHang:
		call.Answer = "hang"
		s.record(call)
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	case FaultAcceptThenDrop:
		call.Answer = "dropped after " + call.Answer
		s.record(call)
		drop(w)
		return
	case FaultEmptyBody:
		call.Answer = "empty 200"
		s.record(call)
		w.WriteHeader(http.StatusOK)
		return
	case FaultHTML502:
		call.Answer = "HTTP 502"
		s.record(call)
		if params.RetryAfter != "" {
			w.Header().Set("Retry-After", params.RetryAfter)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1>\n</body></html>")
		return
	case FaultStatus:
		call.Answer = fmt.Sprintf("HTTP %d", params.Status)
		s.record(call)
		if params.RetryAfter != "" {
			w.Header().Set("Retry-After", params.RetryAfter)
		}
		http.Error(w, http.StatusText(params.Status), params.Status)
		return
	case FaultNoBoundary:
		ctype = "multipart/form-data"
	case FaultRawCMS:
		ctype = "application/pkcs7-mime"
	}
	s.record(call)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	_, _ = w.Write(body)
}

// drop resets the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*tls.Conn); ok {
		if nc, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = nc.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// answerMsg is the EDFC0 answer the fake will send.
type answerMsg struct {
	feh        []kassenapi.FehlerInfo
	code       string
	veid       string
	serviceDay kassenapi.Date
	insurerIK  string
	receiver   string
	namespace  string
	version    string
	latin1     bool
	raw        []byte // a non-EDFC0 payload (invoices), sent as is
}

func (a *answerMsg) summary() string {
	if len(a.feh) > 0 {
		return fmt.Sprintf("FEH %d", a.feh[0].Nummer)
	}
	if a.raw != nil {
		return "report"
	}
	return "ANT"
}

func feh(n int, xpath string) []kassenapi.FehlerInfo {
	return []kassenapi.FehlerInfo{{Nummer: n, Text: fehlerText[n], XPath: xpath}}
}

// answer decrypts, verifies and validates the request and decides the
// business answer (spec A5).
func (s *Server) answer(req *request, proc string, clearing *Party, call *Call) *answerMsg {
	ans := &answerMsg{namespace: kassenapi.NamespaceEDFC0v3, version: "003.000.000", receiver: ManufacturerIK}
	pt, env, err := cms.Decrypt(req.payload, []cms.Recipient{{Cert: clearing.Cert, Key: clearing.Key}})
	if err != nil {
		ans.feh = feh(200, "nutzdaten")
		return ans
	}
	oaepOK := env.KeyTransport.Equal(cms.OIDRSAESOAEP) && env.OAEPHash == crypto.SHA256 && env.OAEPMGFHash == crypto.SHA256
	if env.Version != 0 || env.RecipientVersion != 0 || !(oaepOK || s.opts.AcceptPKCS1v15 && env.KeyTransport.Equal(cms.OIDRSAEncryption)) || !env.ContentCipher.Equal(cms.OIDAES256CBC) {
		ans.feh = feh(200, "nutzdaten")
		return ans
	}
	sd, err := cms.ParseSigned(pt)
	if err != nil {
		ans.feh = feh(200, "nutzdaten")
		return ans
	}
	si := sd.Signers[0]
	if sd.Version != 1 || si.Version != 1 || len(sd.Signers) != 1 || !sd.ContentType.Equal(cms.OIDData) || !si.DigestAlgorithm.Equal(cms.OIDSHA256) ||
		!si.SignatureAlgorithm.Equal(cms.OIDRSASSAPSS) || si.PSSHash != crypto.SHA256 || si.PSSSaltLength != 32 {
		ans.feh = feh(200, "nutzdaten")
		return ans
	}
	if _, _, err := sd.Verify(s.keyList.ForIK(ManufacturerIK), cms.VerifyStrict); err != nil {
		ans.feh = feh(200, "nutzdaten")
		return ans
	}
	switch proc {
	case kassenapi.ProcedureInvoice, kassenapi.ProcedureInvoiceTest:
		ans.raw = s.invoiceReport(sd.Content)
		return ans
	}
	m, err := kassenapi.ParseCheckMessage(sd.Content)
	if err != nil {
		ans.feh = feh(200, "/Pruefung_Freischaltcode")
		return ans
	}
	code, cerr := kassenapi.ParseCodeMode(m.Code, kassenapi.CodeModeTest)
	if cerr == nil {
		call.Code = code
	}
	xp := "/Pruefung_Freischaltcode/"
	switch {
	case m.Namespace != kassenapi.NamespaceEDFC0v3 || m.Version != "003.000.000" || m.ValidFrom != "2022-08-25" || len(m.Warnings) > 0:
		ans.feh = feh(200, xp+"@version")
	case m.MessageType != "ANF":
		ans.feh = feh(200, xp+"@nachrichtentyp")
	case m.Procedure != proc:
		ans.feh = feh(200, xp+"@verfahrenskennung")
	case m.Sender != ManufacturerIK || m.ManufacturerIK != m.Sender:
		ans.feh = feh(200, xp+"@absender")
	case !s.servesInsurer(m.Receiver, clearing.IK) || m.InsurerIK != m.Receiver:
		ans.feh = feh(200, xp+"@empfaenger")
	case len(m.DiGAID) != 5:
		ans.feh = feh(200, xp+"Anfrage/DiGAID")
	case cerr != nil:
		ans.feh = feh(200, xp+"Anfrage/Freischaltcode")
	}
	ans.insurerIK = m.Receiver
	ans.code = code.Plain()
	if ans.feh != nil {
		return ans
	}
	today := kassenapi.DateOf(s.opts.Now())
	if m.DiGAID != s.opts.DiGAID {
		ans.feh = feh(102, "")
		return ans
	}
	if code.IsTest() {
		if proc != kassenapi.ProcedureCheckTest {
			ans.feh = feh(102, "")
			return ans
		}
		switch code.Plain() {
		case TestCodeValid:
			ans.veid, ans.serviceDay = s.opts.DiGAID+"000", today
		case TestCodeExpired:
			ans.feh = feh(100, "")
		case TestCodeCancelled:
			ans.feh = feh(101, "")
		case TestCodeInvalid:
			ans.feh = feh(200, xp+"Anfrage")
		case TestCodeServer:
			ans.feh = feh(201, "")
		case TestCodeStorage:
			ans.feh = feh(202, "")
		default:
			ans.feh = feh(102, "")
		}
		return ans
	}
	s.mu.Lock()
	st, ok := s.codes[code.Plain()]
	repeated := s.answered[code.Plain()]
	if ok && st.Status == Valid {
		s.answered[code.Plain()] = true
	}
	s.mu.Unlock()
	switch {
	case !ok || st.Status == Unknown:
		ans.feh = feh(102, "")
	case st.Status == Expired:
		ans.feh = feh(100, "")
	case st.Status == Cancelled:
		ans.feh = feh(101, "")
	case repeated && s.opts.Repeat == RepeatFEH102:
		ans.feh = feh(102, "")
	case repeated && s.opts.Repeat == RepeatFEH101:
		ans.feh = feh(101, "")
	default:
		suffix := st.VEIDSuffix
		if suffix == "" {
			suffix = "000"
		}
		ans.veid, ans.serviceDay = s.opts.DiGAID+suffix, st.ServiceDay
		if ans.serviceDay.IsZero() {
			ans.serviceDay = today
		}
	}
	return ans
}

// servesInsurer reports whether the Kostentraegerkennung ik is served by
// the clearing office.
func (s *Server) servesInsurer(ik, clearingIK string) bool {
	for _, e := range s.dir.Entries() {
		if e.IK == ik && e.ClearingIK == clearingIK {
			return true
		}
	}
	return false
}

func (s *Server) applyAnswerFaults(kind FaultKind, a *answerMsg) {
	switch kind {
	case FaultFEH201:
		a.feh = feh(201, "")
	case FaultFEH202:
		a.feh = feh(202, "")
	case FaultWrongNamespace:
		a.namespace = kassenapi.NamespaceEDFC0v2
	case FaultBadEncoding:
		a.latin1 = true
	case FaultOtherCode:
		if a.code == TestCodeValid {
			a.code = TestCodeExpired
		} else {
			a.code = TestCodeValid
		}
	case FaultOtherVEID:
		a.veid = "99999000"
	case FaultOtherInsurerIK:
		a.insurerIK = "990000199"
	}
}

// buildReply returns the multipart reply for ans.
func (s *Server) buildReply(a *answerMsg, proc string, clearing *Party, kind FaultKind) ([]byte, string, error) {
	content := a.raw
	if content == nil {
		content = a.xml(proc, clearing.IK)
	}
	signer := clearing
	if kind == FaultUnknownSigner {
		signer = s.pki.Rogue
	}
	recipient := s.pki.Manufacturer.Cert
	if kind == FaultPreviousCert {
		recipient = s.pki.Previous.Cert
	}
	ber := kind != FaultDER
	msg, err := cms.Seal(content, signer.Key, signer.Cert, recipient,
		&cms.SignOptions{BER: ber, NoSignedAttributes: kind == FaultNoSignedAttrs, SigningTime: s.opts.Now()},
		&cms.EncryptOptions{BER: ber, OAEPWithoutMGF: kind == FaultOAEPNoMGF, ContentOID: wrongAES(kind)})
	if err != nil {
		return nil, "", err
	}
	if kind == FaultTruncatedCMS {
		msg = msg[:len(msg)/2]
	}
	if kind == FaultRawCMS {
		return msg, "application/pkcs7-mime", nil
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{kassenapi.FieldSender, clearing.IK}, {kassenapi.FieldReceiver, ManufacturerIK}, {kassenapi.FieldProcedure, proc}} {
		_ = w.WriteField(f[0], f[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="nutzdaten"; filename="antwort.cms"`)
	h.Set("Content-Type", "application/octet-stream")
	pw, _ := w.CreatePart(h)
	_, _ = pw.Write(msg)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType(), nil
}

// xml renders the EDFC0 answer.
func (a *answerMsg) xml(proc, clearingIK string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	typ := "ANT"
	if len(a.feh) > 0 {
		typ = "FEH"
	}
	fmt.Fprintf(&b, `<Pruefung_Freischaltcode xmlns="%s" version="%s" gueltigab="2022-08-25" verfahrenskennung="%s" nachrichtentyp="%s" absender="%s" empfaenger="%s">`+"\n",
		a.namespace, a.version, proc, typ, clearingIK, a.receiver)
	if len(a.feh) > 0 {
		for _, f := range a.feh {
			fmt.Fprintf(&b, "  <Fehlerinformation>\n    <Fehlernummer>%d</Fehlernummer>\n    <Fehlertext>%s</Fehlertext>\n", f.Nummer, f.Text)
			if f.XPath != "" {
				fmt.Fprintf(&b, "    <XPath>%s</XPath>\n", f.XPath)
			}
			b.WriteString("  </Fehlerinformation>\n")
		}
	} else {
		fmt.Fprintf(&b, "  <Antwort>\n    <IK_DiGA_Hersteller>%s</IK_DiGA_Hersteller>\n    <IK_Krankenkasse>%s</IK_Krankenkasse>\n    <DiGAVEID>%s</DiGAVEID>\n    <Freischaltcode>%s</Freischaltcode>\n    <Tag_der_Leistungserbringung>%s</Tag_der_Leistungserbringung>\n  </Antwort>\n",
			ManufacturerIK, a.insurerIK, a.veid, a.code, a.serviceDay)
	}
	b.WriteString("</Pruefung_Freischaltcode>\n")
	out := b.Bytes()
	if a.latin1 {
		// windows-1252 "ü" (0xFC) in a document declared UTF-8 (TK, 2022).
		out = bytes.Replace(out, []byte("</Pruefung_Freischaltcode>"), []byte("<!-- Pr\xfcfung -->\n</Pruefung_Freischaltcode>"), 1)
		out = bytes.ReplaceAll(out, []byte("ü"), []byte{0xfc})
	}
	return out
}

// invoiceReport answers an invoice like the insurers' billing endpoints
// (kassenapi spec B2.4, B5): a KoSIT VARL report that rejects an invoice
// with a DiGA rule error (val-sch.3), a Freischaltcode that was never
// confirmed by a code check (INVER-1) or a second 380 for a code already
// billed under another number (INVER-2), and accepts everything else. A
// resend under the same number is accepted again (idempotent).
func (s *Server) invoiceReport(invoice []byte) []byte {
	number, code, typ := xrechnungtest.InvoiceKeys(invoice)
	msgs := xrechnungtest.CheckMessages(invoice)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(msgs) == 0 {
		prev, billed := s.billed[code]
		switch {
		case !s.answered[code]:
			msgs = append(msgs, xrechnungtest.ReportMessage{Step: "INVER", Code: "INVER-1", Text: "Freischaltcode nicht gefunden"})
		case typ == "380" && billed && prev != number:
			msgs = append(msgs, xrechnungtest.ReportMessage{Step: "INVER", Code: "INVER-2", Text: "Freischaltcode bereits abgerechnet"})
		case typ == "380":
			s.billed[code] = number
		}
	}
	return xrechnungtest.Report(invoice, number, code, msgs, s.opts.Now())
}

// wrongAES returns the DES-EDE3-CBC OID for FaultWrongAESOID.
func wrongAES(kind FaultKind) asn1.ObjectIdentifier {
	if kind == FaultWrongAESOID {
		return asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	}
	return nil
}

// NewCode returns a fresh, checksum-valid random code with prefix.
func NewCode(prefix string) kassenapi.Code {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [13]byte
	_, _ = cryptorand.Read(b[:])
	payload := []byte(prefix + "A")
	for _, c := range b[:12] {
		payload = append(payload, alphabet[c&31])
	}
	check, err := kassenapi.CheckChar(string(payload))
	if err != nil {
		panic("kassenapitest: bad prefix " + prefix)
	}
	code, err := kassenapi.ParseCodeMode(string(payload)+string(check), kassenapi.CodeModeTest)
	if err != nil {
		panic("kassenapitest: " + err.Error())
	}
	return code
}
