package kassenapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultDirectoryURL is the publication URL of the endpoint directory
// named in spec A2.4. It is unverified; configure the URL you were given.
const DefaultDirectoryURL = "https://kkv.gkv-diga.de/Download/KrankenkassenDatei.aspx"

// FetchState is what a conditional request sends back: the validators of
// the last accepted download.
type FetchState struct {
	ETag         string
	LastModified string
}

// FetchResult is the answer of a Source.
type FetchResult struct {
	Body         []byte // nil when NotModified
	ETag         string // validators to send next time
	LastModified string
	NotModified  bool // the server answered 304
}

// Source fetches a published file (HTTP with a conditional GET, a file, or
// an embedded copy).
type Source interface {
	Fetch(ctx context.Context, prev FetchState) (FetchResult, error)
}

// FetchError is a failed fetch: a network error (Status 0) or an HTTP
// status other than 200 and 304. It is retryable.
type FetchError struct {
	URL    string // without userinfo, query or fragment
	Status int    // HTTP status, 0 for a network error
	Err    error
}

// Error describes the failure.
func (e *FetchError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("kassenapi: fetch %s: HTTP %d", e.URL, e.Status)
	}
	return fmt.Sprintf("kassenapi: fetch %s: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// HTTPSource fetches a URL with If-None-Match and If-Modified-Since and
// reads at most MaxSize bytes.
type HTTPSource struct {
	// URL of the file (raw XML or ZIP). Required; must be http or https.
	URL string
	// Client is the HTTP client. Nil: a private client with a 60 s timeout
	// that refuses redirects from https to http (never http.DefaultClient).
	Client *http.Client
	// MaxSize caps the body. Zero: MaxDirectoryZIPSize (10 MiB).
	MaxSize int64
	// UserAgent is sent as User-Agent. Empty: "digakit-kassenapi".
	UserAgent string
}

var defaultSourceClient = &http.Client{Timeout: 60 * time.Second, CheckRedirect: noDowngradeRedirect}

// noDowngradeRedirect follows at most 5 redirects and never from https to
// plain http: the directory has no signature of its own, so TLS is its
// only integrity protection.
func noDowngradeRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("redirect from https to " + req.URL.Scheme + " refused")
	}
	return nil
}

// Fetch performs one conditional GET. A 304 gives NotModified; any status
// other than 200/304, a network error or an oversized body gives a
// *FetchError.
func (s *HTTPSource) Fetch(ctx context.Context, prev FetchState) (FetchResult, error) {
	shown := redactURL(s.URL)
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return FetchResult{}, &FetchError{URL: shown, Err: errors.New("URL must be http(s)://host/path")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return FetchResult{}, &FetchError{URL: shown, Err: err}
	}
	ua := s.UserAgent
	if ua == "" {
		ua = "digakit-kassenapi"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/zip, application/xml, text/xml, */*")
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	c := s.Client
	if c == nil {
		c = defaultSourceClient
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return FetchResult{}, &FetchError{URL: shown, Err: err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return FetchResult{NotModified: true, ETag: nonEmpty(resp.Header.Get("ETag"), prev.ETag),
			LastModified: nonEmpty(resp.Header.Get("Last-Modified"), prev.LastModified)}, nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return FetchResult{}, &FetchError{URL: shown, Status: resp.StatusCode}
	}
	limit := s.MaxSize
	if limit <= 0 {
		limit = MaxDirectoryZIPSize
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return FetchResult{}, &FetchError{URL: shown, Err: err}
	}
	if int64(len(body)) > limit {
		return FetchResult{}, &FetchError{URL: shown, Err: fmt.Errorf("body larger than %d bytes", limit)}
	}
	return FetchResult{Body: body, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, nil
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redactURL drops userinfo, query and fragment.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

// BytesSource serves fixed bytes (an embedded or operator-supplied copy).
// Every Fetch returns the same body; conditional state is ignored.
type BytesSource []byte

// Fetch returns the bytes.
func (b BytesSource) Fetch(context.Context, FetchState) (FetchResult, error) {
	return FetchResult{Body: []byte(b)}, nil
}

// FileSource reads the file at Path (an operator-supplied copy). It
// answers NotModified when the file's modification time equals the
// previous LastModified.
type FileSource struct {
	Path    string
	MaxSize int64 // zero: MaxDirectoryZIPSize
}

// Fetch reads the file.
func (s FileSource) Fetch(_ context.Context, prev FetchState) (FetchResult, error) {
	st, err := os.Stat(s.Path)
	if err != nil {
		return FetchResult{}, &FetchError{URL: s.Path, Err: errors.Unwrap(err)}
	}
	mod := st.ModTime().UTC().Format(http.TimeFormat)
	if prev.LastModified == mod {
		return FetchResult{NotModified: true, LastModified: mod}, nil
	}
	limit := s.MaxSize
	if limit <= 0 {
		limit = MaxDirectoryZIPSize
	}
	if st.Size() > limit {
		return FetchResult{}, &FetchError{URL: s.Path, Err: fmt.Errorf("file larger than %d bytes", limit)}
	}
	b, err := os.ReadFile(s.Path)
	if err != nil {
		return FetchResult{}, &FetchError{URL: s.Path, Err: errors.Unwrap(err)}
	}
	return FetchResult{Body: b, LastModified: mod}, nil
}
