package kassenapitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
)

// Paths of the DirectoryServer.
const (
	DirectoryXMLPath = "/" + DirectoryFileName             // raw XML
	DirectoryZIPPath = "/Download/KrankenkassenDatei.aspx" // ZIP, like the publication site
)

// DirectoryFault switches the DirectoryServer to a broken answer.
type DirectoryFault int

// Faults of the DirectoryServer (spec A5 "Directory server").
const (
	DirectoryOK             DirectoryFault = iota // serve the current version
	DirectoryTruncated                            // first half of the file
	DirectoryNotXML                               // a plain-text maintenance page with 200
	DirectoryWrongNamespace                       // root in an unknown namespace
	DirectoryAllBadEntries                        // well-formed, but every entry is invalid
	DirectoryEmptyList                            // root without entries
	DirectoryZIPTwoXML                            // ZIP with two XML members (on both paths)
	DirectoryNotFound                             // HTTP 404
	DirectoryServerError                          // HTTP 500
	DirectorySlowBody                             // half the body, a pause (SlowDelay), the rest
)

// DirectoryServerOptions configure a DirectoryServer. The zero value is
// usable.
type DirectoryServerOptions struct {
	// TLS serves HTTPS with httptest's certificate (use Client()).
	// Default false: plain HTTP on loopback.
	TLS bool
	// Initial is the first directory XML. Nil: the VersionBase of
	// DirectoryVersions(EndpointA, EndpointB).
	Initial []byte
	// EndpointA and EndpointB are the Endpunkt values of the two fake
	// Kommunikationsstellen in the preloaded versions (see EndpointOf).
	// Empty: "diga-a.kasse.example" and "diga-b.kasse.example".
	EndpointA, EndpointB string
	// Now is the clock for Last-Modified. Nil: time.Now.
	Now func() time.Time
	// SlowDelay is the pause of DirectorySlowBody. Zero: 2 s.
	SlowDelay time.Duration
}

// DirectoryServer is a fake publication site for the endpoint directory.
// It serves the current version as raw XML at DirectoryXMLPath and as ZIP
// at DirectoryZIPPath, with ETag and Last-Modified and 304 answers to
// conditional requests, keeps named versions to switch between, and has
// switchable faults. It is safe for concurrent use.
type DirectoryServer struct {
	srv  *httptest.Server
	opts DirectoryServerOptions

	mu       sync.Mutex
	versions map[string][]byte
	xml      []byte
	modified time.Time
	fault    DirectoryFault
	requests map[string]int
	notMod   int
}

// NewDirectoryServer starts a DirectoryServer on 127.0.0.1 and closes it
// when the test ends.
func NewDirectoryServer(tb testing.TB, opts DirectoryServerOptions) *DirectoryServer {
	tb.Helper()
	s, err := StartDirectoryServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// StartDirectoryServer starts a DirectoryServer without a testing.TB (for
// digakit sandbox); the caller must Close it.
func StartDirectoryServer(opts DirectoryServerOptions) (*DirectoryServer, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	if opts.EndpointA == "" {
		opts.EndpointA = "diga-a.kasse.example"
	}
	if opts.EndpointB == "" {
		opts.EndpointB = "diga-b.kasse.example"
	}
	versions := DirectoryVersions(opts.EndpointA, opts.EndpointB)
	if opts.Initial == nil {
		opts.Initial = versions[VersionBase]
	}
	s := &DirectoryServer{opts: opts, versions: versions, requests: map[string]int{}}
	s.xml = bytes.Clone(opts.Initial)
	s.modified = opts.Now()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if opts.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	return s, nil
}

// URL is the base URL of the server.
func (s *DirectoryServer) URL() string { return s.srv.URL }

// XMLURL is the URL of the raw XML.
func (s *DirectoryServer) XMLURL() string { return s.srv.URL + DirectoryXMLPath }

// ZIPURL is the URL of the ZIP.
func (s *DirectoryServer) ZIPURL() string { return s.srv.URL + DirectoryZIPPath }

// Client returns an HTTP client that trusts the server (TLS or not).
func (s *DirectoryServer) Client() *http.Client { return s.srv.Client() }

// CertificatePEM is the server's TLS certificate in PEM (nil without TLS),
// for clients that take a CA file.
func (s *DirectoryServer) CertificatePEM() []byte {
	c := s.srv.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Close stops the server.
func (s *DirectoryServer) Close() { s.srv.Close() }

// Set publishes a new directory XML: a new ETag and Last-Modified.
func (s *DirectoryServer) Set(xmlBytes []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.xml = bytes.Clone(xmlBytes)
	s.modified = s.opts.Now()
}

// SetEntries publishes DirectoryXML(entries).
func (s *DirectoryServer) SetEntries(entries []kassenapi.Entry) { s.Set(DirectoryXML(entries)) }

// AddVersion stores a named version to switch to with UseVersion. The
// Version* variants of DirectoryVersions are preloaded.
func (s *DirectoryServer) AddVersion(name string, xmlBytes []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[name] = bytes.Clone(xmlBytes)
}

// UseVersion publishes a stored version.
func (s *DirectoryServer) UseVersion(name string) error {
	s.mu.Lock()
	v, ok := s.versions[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("kassenapitest: no directory version %q", name)
	}
	s.Set(v)
	return nil
}

// SetFault switches the answer; DirectoryOK switches back.
func (s *DirectoryServer) SetFault(f DirectoryFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
	s.modified = s.opts.Now()
}

// Requests is the number of requests served on path (DirectoryXMLPath or
// DirectoryZIPPath; "" for all paths together).
func (s *DirectoryServer) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		n := 0
		for _, v := range s.requests {
			n += v
		}
		return n
	}
	return s.requests[path]
}

// NotModified is the number of 304 answers given.
func (s *DirectoryServer) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notMod
}

// Current returns the current directory XML (without faults applied).
func (s *DirectoryServer) Current() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.xml)
}

func (s *DirectoryServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	xmlBytes, fault, modified := s.xml, s.fault, s.modified
	s.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	zipped := false
	switch r.URL.Path {
	case DirectoryXMLPath:
	case DirectoryZIPPath:
		zipped = true
	default:
		http.NotFound(w, r)
		return
	}
	switch fault {
	case DirectoryNotFound:
		http.NotFound(w, r)
		return
	case DirectoryServerError:
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	body := BrokenDirectory(fault, xmlBytes)
	if zipped && fault != DirectoryZIPTwoXML {
		body = ZipDirectory(body)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	lastMod := modified.UTC().Format(http.TimeFormat)
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", lastMod)
	if notModified(r, etag, modified) {
		s.mu.Lock()
		s.notMod++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if zipped {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="KrankenkassenDatei.zip"`)
	} else {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	}
	if fault == DirectorySlowBody {
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		t := time.NewTimer(s.opts.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(body[half:])
		return
	}
	_, _ = w.Write(body)
}

// notModified implements the conditional GET: If-None-Match wins over
// If-Modified-Since (RFC 9110 13.2.2).
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == etag || t == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

// BrokenDirectory returns the body the DirectoryServer serves for fault,
// built from the valid directory xmlBytes (DirectoryOK returns xmlBytes).
// DirectoryNotFound and DirectoryServerError have no body; they return
// xmlBytes.
func BrokenDirectory(fault DirectoryFault, xmlBytes []byte) []byte {
	switch fault {
	case DirectoryTruncated:
		return bytes.Clone(xmlBytes[:len(xmlBytes)/2])
	case DirectoryNotXML:
		return []byte("Wartungsarbeiten: Die Datei ist voruebergehend nicht verfuegbar.\n")
	case DirectoryWrongNamespace:
		b := bytes.ReplaceAll(xmlBytes, []byte(kassenapi.NamespaceMVZv3), []byte("http://www.gkv-datenaustausch.de/XML-Schema/EDRE0_MVZ/9.9"))
		return bytes.ReplaceAll(b, []byte(kassenapi.NamespaceMVZv2), []byte("http://www.gkv-datenaustausch.de/XML-Schema/EDRE0_MVZ/9.9"))
	case DirectoryAllBadEntries:
		return DirectoryXML(AllBadEntries())
	case DirectoryEmptyList:
		return DirectoryXML(nil)
	case DirectoryZIPTwoXML:
		return ZipFiles(map[string][]byte{DirectoryFileName: xmlBytes, "Kopie_" + DirectoryFileName: xmlBytes})
	}
	return bytes.Clone(xmlBytes)
}

// AllBadEntries returns entries that a parser must each reject: endpoint
// "3", a bad IK, a bad prefix, Versandart 7, and a duplicate prefix.
func AllBadEntries() []kassenapi.Entry {
	e := DefaultDirectoryEntries("diga.kasse.example", "diga.kasse.example")
	three := e[0]
	three.Endpoint = "3"
	badIK := e[1]
	badIK.IK = "12345"
	badPrefix := e[2]
	badPrefix.Prefix, badPrefix.ValidUntil, badPrefix.SuccessorPrefix = "Z1", kassenapi.Date{}, ""
	badDispatch := e[4]
	badDispatch.Dispatch = 7
	dupA, dupB := e[0], e[0]
	dupA.Prefix, dupB.Prefix = "QQ", "QQ"
	return []kassenapi.Entry{three, badIK, badPrefix, badDispatch, dupA, dupB}
}
