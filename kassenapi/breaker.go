package kassenapi

import (
	"sync"
	"time"
)

// BreakerPolicy configures the circuit breaker per endpoint URL, shared by
// code checks and invoices (spec A3 "Circuit breaker").
type BreakerPolicy struct {
	// Threshold is the number of consecutive Transient or OutcomeUnknown
	// exchanges that opens the breaker. Default 5; negative disables it.
	Threshold int
	// Cooldown is how long it stays open before one trial request. Default 60 s.
	Cooldown time.Duration
}

type breakerState struct {
	failures  int
	openUntil time.Time
	trial     bool // a half-open trial request is in flight
}

// breakers holds one breaker per endpoint URL. Safe for concurrent use.
//
// REQ: kassenapi-spec:A3
type breakers struct {
	mu     sync.Mutex
	policy BreakerPolicy
	m      map[string]*breakerState
}

func newBreakers(p BreakerPolicy) *breakers {
	if p.Threshold == 0 {
		p.Threshold = 5
	}
	if p.Cooldown <= 0 {
		p.Cooldown = 60 * time.Second
	}
	return &breakers{policy: p, m: map[string]*breakerState{}}
}

// allow reports whether a request to url may go out now. When it returns
// true, the caller must call report exactly once with the outcome.
func (b *breakers) allow(url string, now time.Time) bool {
	if b.policy.Threshold < 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.m[url]
	if s == nil {
		s = &breakerState{}
		b.m[url] = s
	}
	if s.failures < b.policy.Threshold {
		return true
	}
	if now.Before(s.openUntil) || s.trial {
		return false
	}
	s.trial = true // half-open: exactly one trial
	return true
}

// report records the class of a finished exchange.
func (b *breakers) report(url string, class ErrorClass, now time.Time) {
	if b.policy.Threshold < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.m[url]
	if s == nil {
		return
	}
	s.trial = false
	if class == ClassTransient || class == ClassOutcomeUnknown {
		s.failures++
		if s.failures >= b.policy.Threshold {
			s.openUntil = now.Add(b.policy.Cooldown)
		}
		return
	}
	s.failures = 0
}

// abandon ends a trial without judging the endpoint (the caller gave up).
func (b *breakers) abandon(url string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.m[url]; s != nil {
		s.trial = false
	}
}
