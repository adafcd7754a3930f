package tlsconf

import (
	"crypto/x509"
	"net"
	"net/http"
	"time"
)

// Server timeouts of refserver spec §3.5. ReadHeaderTimeout is also the
// TLS handshake deadline (net/http uses the smallest positive of the
// read-header, read and write timeouts).
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 32 << 10
)

// ApplyServerDefaults sets the timeouts and header limit of spec §3.5 on
// every field of hs that is still zero.
func ApplyServerDefaults(hs *http.Server) {
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = ReadHeaderTimeout
	}
	if hs.ReadTimeout == 0 {
		hs.ReadTimeout = ReadTimeout
	}
	if hs.WriteTimeout == 0 {
		hs.WriteTimeout = WriteTimeout
	}
	if hs.IdleTimeout == 0 {
		hs.IdleTimeout = IdleTimeout
	}
	if hs.MaxHeaderBytes == 0 {
		hs.MaxHeaderBytes = MaxHeaderBytes
	}
}

// Transport returns an outbound HTTP transport under profile p: the
// [ClientConfig] of p with roots (nil = system roots), HTTP/2 allowed,
// no proxy unless the caller sets one, and bounded dial, handshake and
// header timeouts. Wrap it with the network logging of audit/netlog.
//
// REQ: TR03161-3:O.TrdP_10, TR03161-3:O.Ntwk_3
func Transport(p Profile, roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       ClientConfig(p, roots),
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
	}
}
