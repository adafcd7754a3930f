package auth

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitConfig holds the rate-limit settings of §3.2.10. Zero fields take
// the defaults.
type LimitConfig struct {
	// DelayAfter is the failure count in FailWindow after which every
	// further attempt waits 2^(n−DelayAfter) s (max MaxDelay). Default 5.
	DelayAfter int
	// FailWindow is 15 min by default.
	FailWindow time.Duration
	// MaxDelay caps the delay; default 60 s.
	MaxDelay time.Duration
	// LockAfter failures within LockWindow lock the identifier for
	// LockFor. Defaults 10, 1 h, 15 min.
	LockAfter  int
	LockWindow time.Duration
	LockFor    time.Duration
	// NetworkAttempts login attempts per NetworkWindow per /24 (IPv4) or
	// /48 (IPv6). Defaults 100 per 10 min.
	NetworkAttempts int
	NetworkWindow   time.Duration
	// SecondFactorFailures per FailWindow lock the second-factor step of
	// an account for LockFor. Default 5.
	SecondFactorFailures int
	// Registrations per hour per network. Default 10.
	Registrations int
	// Resets per hour per probe id. Default 3.
	Resets int
}

func (c *LimitConfig) defaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.DelayAfter, 5)
	defd(&c.FailWindow, 15*time.Minute)
	defd(&c.MaxDelay, 60*time.Second)
	def(&c.LockAfter, 10)
	defd(&c.LockWindow, time.Hour)
	defd(&c.LockFor, 15*time.Minute)
	def(&c.NetworkAttempts, 100)
	defd(&c.NetworkWindow, 10*time.Minute)
	def(&c.SecondFactorFailures, 5)
	def(&c.Registrations, 10)
	def(&c.Resets, 3)
}

type failState struct {
	fails  []time.Time
	locked time.Time
}

// Limiter keeps the in-memory counters of §3.2.10 (the single-instance
// ratelimit store). Keys are probe ids, account ids and network ids,
// never raw identifiers. Time comes from the injected clock.
type Limiter struct {
	cfg  LimitConfig
	now  func() time.Time
	mu   sync.Mutex
	id   map[string]*failState
	mfa  map[string]*failState
	nets map[string]*rate.Limiter
	regs map[string]*rate.Limiter
	rsts map[string]*rate.Limiter
}

// NewLimiter returns a limiter with cfg (defaults filled in).
func NewLimiter(cfg LimitConfig, now func() time.Time) *Limiter {
	cfg.defaults()
	return &Limiter{cfg: cfg, now: now, id: map[string]*failState{}, mfa: map[string]*failState{},
		nets: map[string]*rate.Limiter{}, regs: map[string]*rate.Limiter{}, rsts: map[string]*rate.Limiter{}}
}

// NetworkID returns the /24 (IPv4) or /48 (IPv6) prefix of a RemoteAddr.
func NetworkID(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

func prune(ts []time.Time, after time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(after) {
		i++
	}
	return ts[i:]
}

func (l *Limiter) gcLocked() {
	if len(l.id)+len(l.mfa)+len(l.nets) < 100_000 {
		return
	}
	now := l.now()
	for m := range []map[string]*failState{l.id, l.mfa} {
		mm := []map[string]*failState{l.id, l.mfa}[m]
		for k, s := range mm {
			if now.After(s.locked) && (len(s.fails) == 0 || now.Sub(s.fails[len(s.fails)-1]) > l.cfg.LockWindow) {
				delete(mm, k)
			}
		}
	}
	for _, mm := range []map[string]*rate.Limiter{l.nets, l.regs, l.rsts} {
		for k, r := range mm {
			if r.TokensAt(now) >= float64(r.Burst()) {
				delete(mm, k)
			}
		}
	}
}

// checkFail reports how long an attempt for key must still wait (0 = may
// proceed), by the delay and lock rules.
func (l *Limiter) checkFail(s *failState) time.Duration {
	now := l.now()
	if now.Before(s.locked) {
		return s.locked.Sub(now)
	}
	recent := prune(append([]time.Time(nil), s.fails...), now.Add(-l.cfg.FailWindow))
	n := len(recent)
	if n >= l.cfg.DelayAfter {
		d := time.Second << min(n-l.cfg.DelayAfter, 16)
		d = min(d, l.cfg.MaxDelay)
		if next := recent[n-1].Add(d); now.Before(next) {
			return next.Sub(now)
		}
	}
	return 0
}

// AllowIdentifier reports whether a password attempt for probe may reach
// the hasher, and otherwise the Retry-After.
func (l *Limiter) AllowIdentifier(probe string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.id[probe]
	if s == nil {
		return 0, true
	}
	d := l.checkFail(s)
	return d, d == 0
}

// FailIdentifier records a failed password attempt and reports whether
// it set a lock (the caller emits authn_login_lock once).
func (l *Limiter) FailIdentifier(probe string) (locked bool) {
	return l.fail(l.id, probe, l.cfg.LockAfter, l.cfg.LockWindow)
}

// SucceedIdentifier clears the failures of probe.
func (l *Limiter) SucceedIdentifier(probe string) {
	l.mu.Lock()
	delete(l.id, probe)
	l.mu.Unlock()
}

func (l *Limiter) fail(m map[string]*failState, key string, lockAfter int, window time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gcLocked()
	now := l.now()
	s := m[key]
	if s == nil {
		s = &failState{}
		m[key] = s
	}
	s.fails = prune(append(s.fails, now), now.Add(-window))
	if len(s.fails) >= lockAfter && !now.Before(s.locked) {
		s.locked = now.Add(l.cfg.LockFor)
		s.fails = nil
		return true
	}
	return false
}

// AllowSecondFactor reports whether the second-factor step of account is
// open.
func (l *Limiter) AllowSecondFactor(account string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.mfa[account]
	if s == nil || !l.now().Before(s.locked) {
		return 0, true
	}
	return s.locked.Sub(l.now()), false
}

// FailSecondFactor records a failed second factor; it reports whether
// the step got locked.
func (l *Limiter) FailSecondFactor(account string) bool {
	return l.fail(l.mfa, account, l.cfg.SecondFactorFailures, l.cfg.FailWindow)
}

func (l *Limiter) bucket(m map[string]*rate.Limiter, key string, n int, per time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gcLocked()
	r := m[key]
	now := l.now()
	if r == nil {
		r = rate.NewLimiter(rate.Every(per/time.Duration(n)), n)
		m[key] = r
	}
	if r.AllowN(now, 1) {
		return 0, true
	}
	res := r.ReserveN(now, 1)
	d := res.DelayFrom(now)
	res.CancelAt(now)
	if d < time.Second {
		d = time.Second
	}
	return d, false
}

// AllowNetwork counts one login attempt from network id.
func (l *Limiter) AllowNetwork(netID string) (time.Duration, bool) {
	return l.bucket(l.nets, netID, l.cfg.NetworkAttempts, l.cfg.NetworkWindow)
}

// AllowRegistration counts one registration start from network id.
func (l *Limiter) AllowRegistration(netID string) (time.Duration, bool) {
	return l.bucket(l.regs, netID, l.cfg.Registrations, time.Hour)
}

// AllowReset counts one password-reset request for probe.
func (l *Limiter) AllowReset(probe string) bool {
	_, ok := l.bucket(l.rsts, probe, l.cfg.Resets, time.Hour)
	return ok
}
