//go:build !production

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
)

// Peer is one running fake.
type Peer interface {
	// Info returns the JSON-encodable member printed for this peer (URLs
	// and trust material; never a secret of a real system).
	Info() any
	// Close stops the peer and releases its resources.
	Close() error
}

// starter starts one peer. Peers that need each other (the directory
// names the insurer's URL) read earlier peers from started.
type starter struct {
	name  string
	start func(ctx context.Context, o Options, started map[string]Peer) (Peer, error)
}

// starters is the fixed list of fakes, in start order. Each fake package
// adds its line when it lands.
var starters = []starter{
	{name: "insurer", start: startInsurer},
	{name: "directory", start: startDirectory},
}

// Options configures Start.
type Options struct {
	// Logger receives the peers' log records. Nil discards them.
	Logger *slog.Logger
}

// Sandbox is a set of running fakes.
type Sandbox struct {
	peers map[string]Peer
	order []string
}

// Start starts every fake on 127.0.0.1. On error it closes what it had
// started.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sandbox{peers: map[string]Peer{}}
	for _, st := range starters {
		p, err := st.start(ctx, o, s.peers)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("sandbox: start %s: %w", st.name, err)
		}
		s.peers[st.name] = p
		s.order = append(s.order, st.name)
	}
	return s, nil
}

// Peer returns the running peer of that name, or nil.
func (s *Sandbox) Peer(name string) Peer { return s.peers[name] }

// Names lists the running peers in sorted order.
func (s *Sandbox) Names() []string {
	names := append([]string{}, s.order...)
	sort.Strings(names)
	return names
}

// Info returns the JSON document of `digakit sandbox`: one member per
// running peer.
func (s *Sandbox) Info() map[string]any {
	m := make(map[string]any, len(s.peers))
	for name, p := range s.peers {
		m[name] = p.Info()
	}
	return m
}

// Close stops every peer in reverse start order.
func (s *Sandbox) Close() error {
	var errs []error
	for i := len(s.order) - 1; i >= 0; i-- {
		if err := s.peers[s.order[i]].Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.order[i], err))
		}
	}
	s.order = nil
	return errors.Join(errs...)
}
