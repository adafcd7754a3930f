package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

// listenerTLS builds a listener's TLS configuration with the TLS helper
// (refserver spec §3.5): the profile's versions, suites and groups, the
// certificate reloaded when its files change, and client certificates
// required when clientCA is set. It returns nil for plain HTTP.
func (s *Server) listenerTLS(name, profile, certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" {
		return nil, nil
	}
	p, err := tlsconf.ParseProfile(profile)
	if err != nil {
		return nil, err
	}
	var cas *x509.CertPool
	if clientCA != "" {
		if cas, err = tlsconf.LoadCertPool(clientCA); err != nil {
			return nil, err
		}
	}
	tc, kp, err := tlsconf.Server(p, certFile, keyFile, cas)
	if err != nil {
		return nil, err
	}
	if p == tlsconf.Compat {
		s.log.Warn("TLS profile compat", "listener", name)
	}
	log := s.log.With("component", "tls", "listener", name)
	s.background(func(ctx context.Context) {
		kp.Watch(ctx, time.Minute, func(err error) { log.Warn("certificate reload failed", "err", err) })
	})
	return tc, nil
}

// background runs f until Shutdown.
func (s *Server) background(f func(ctx context.Context)) {
	if s.bgCtx == nil {
		s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		f(s.bgCtx)
	}()
}
