package app

import (
	"context"
	"crypto/fips140"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/digakit/digakit/audit"
	"github.com/digakit/digakit/audit/detect"
	auditsql "github.com/digakit/digakit/audit/sqlstore"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/refserver/internal/auth"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/jobs"
	"github.com/digakit/digakit/refserver/internal/logx"
	"github.com/digakit/digakit/refserver/internal/metrics"
	"github.com/digakit/digakit/refserver/internal/store"
	"github.com/digakit/digakit/refserver/internal/tlsconf"
)

// StartupError is a failure before the server began serving: bad
// configuration, an unusable data directory or database, a port in use.
// Its message is one line without secrets.
type StartupError struct {
	Step string
	Err  error
}

func (e *StartupError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StartupError) Unwrap() error { return e.Err }

// Options are the run-time inputs of Run.
type Options struct {
	// Config is the loaded configuration (config.Load).
	Config *config.Config
	// Logger receives the server's log records. Nil builds a JSON logger
	// on Stdout.
	Logger *slog.Logger
	// Stdout receives the JSON log lines when Logger is nil. Nil means
	// os.Stdout.
	Stdout io.Writer
	// Getuid reports the process uid. Nil means os.Getuid (tests inject).
	Getuid func() int
	// Version is the build version for digakit_build_info.
	Version string
	// ShutdownGrace bounds the request drain. Zero means 30 s.
	ShutdownGrace time.Duration
	// JobPollInterval overrides River's poll interval (tests). Zero keeps
	// River's default.
	JobPollInterval time.Duration
}

// Server is a started server.
type Server struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	main    *store.DB
	billing *store.DB
	runner  *jobs.Runner
	metrics *metrics.Metrics
	sandbox sandboxPeers
	servers []*http.Server
	lns     []net.Listener
	// steps are the library step functions run periodically on River
	// (refserver spec §3.13), registered while the services are mounted.
	steps []jobs.Step
	// workerHooks and periodic add River workers and periodic jobs of
	// services that bring their own (billing).
	workerHooks []func(*river.Workers)
	periodic    []*river.PeriodicJob
	// authSvc is the auth service (access-token checks for other APIs);
	// billingSvc the redemption and billing service, when configured.
	authSvc    *auth.Service
	billingSvc *billing.Service
	// audit is the tamper-evident audit log on the main database
	// (audit.go); auditCfg its configuration, auditStore its store,
	// auditKeys the checkpoint keys, auditCPDir the checkpoint sink.
	audit        *audit.Log
	auditCfg     audit.Config
	auditStore   *auditsql.Store
	auditKeys    *auditKeys
	auditCPDir   string
	auditDetect  *detect.Engine
	auditStarted bool
	auditStopped bool
	// hsAudit aggregates TLS handshake failures into audit events.
	hsAudit *handshakeAudit
	// background goroutines (policy refresh, certificate reload) run on
	// bgCtx until Shutdown.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
	// Addrs are the bound listener addresses: "public" and, when
	// configured, "admin".
	Addrs map[string]string
}

// Run starts the server and serves until ctx is cancelled, then shuts
// down. It returns a *StartupError when start-up fails.
func Run(ctx context.Context, o Options) error {
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Shutdown(context.WithoutCancel(ctx))
}

// Start performs the start-up sequence and returns a serving server.
//
// REQ: TR03161-3:O.Arch_10
func Start(ctx context.Context, o Options) (srv *Server, err error) {
	cfg := o.Config
	if cfg == nil {
		return nil, &StartupError{"config", errors.New("no configuration")}
	}
	if o.Getuid == nil {
		o.Getuid = os.Getuid
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		w := o.Stdout
		if w == nil {
			w = os.Stdout
		}
		log = logx.New(w, logx.Options{Level: cfg.LogLevel(), Instance: logx.InstanceID()})
	}
	s := &Server{opts: o, cfg: cfg, log: log, Addrs: map[string]string{}}
	defer func() {
		if err != nil {
			s.closeAll(context.WithoutCancel(ctx))
		}
	}()

	if err := cfg.Validate(); err != nil {
		return nil, &StartupError{"config", errors.New(strings.TrimPrefix(err.Error(), "config: "))}
	}
	if err := checkSandboxAllowed(cfg); err != nil {
		return nil, &StartupError{"config", err}
	}
	if o.Getuid() == 0 {
		if cfg.Production() && !cfg.AllowRoot {
			return nil, &StartupError{"start-up check", errors.New("refusing to run as root (uid 0); use --allow-root only if privileges are dropped (O.Arch_10)")}
		}
		log.Warn("running as root", "check", "uid", "reason", "root")
	}
	if !fips140.Enabled() {
		log.Warn("fips140 mode is off", "check", "fips140")
	}
	if err := prepareDataDir(cfg.Data); err != nil {
		return nil, &StartupError{"data directory", err}
	}

	if s.main, err = openMigrated(ctx, cfg.DB.DSN, store.RoleMain); err != nil {
		return nil, &StartupError{"main database", err}
	}
	if err := jobs.Migrate(ctx, s.main); err != nil {
		return nil, &StartupError{"main database", err}
	}
	if s.billing, err = openMigrated(ctx, cfg.Billing.DSN, store.RoleBilling); err != nil {
		return nil, &StartupError{"billing database", err}
	}
	mi, err1 := s.main.Instance(ctx)
	bi, err2 := s.billing.Instance(ctx)
	if err1 != nil || err2 != nil || mi == bi {
		return nil, &StartupError{"billing database", store.ErrSameDatabase}
	}

	if cfg.SandboxEnabled() {
		if s.sandbox, err = startSandbox(ctx, log); err != nil {
			return nil, &StartupError{"sandbox", err}
		}
		log.Warn("SANDBOX — NOT FOR PRODUCTION", "peers", s.sandbox.Names())
	}

	fips := "off"
	if fips140.Enabled() {
		fips = "on"
	}
	s.metrics = metrics.New(o.Version, runtime.Version(), fips)

	// The audit log exists before the services mount: their events go
	// through it (audit.go).
	if err := s.startAudit(ctx); err != nil {
		return nil, err
	}

	// Mounting the services registers their periodic steps (s.steps);
	// the job runner is built after it and started before serving.
	if err := s.listen(ctx); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &jobs.MaintenanceWorker{DBs: []*store.DB{s.main, s.billing}})
	for _, hook := range s.workerHooks {
		hook(workers)
	}
	periodic, err := jobs.AddSteps(workers, s.steps...)
	if err != nil {
		return nil, &StartupError{"jobs", err}
	}
	periodic = append(periodic, s.periodic...)
	s.runner, err = jobs.New(s.main, jobs.Config{
		Logger:            log.With("component", "jobs"),
		Workers:           workers,
		PeriodicJobs:      append(periodic, jobs.MaintenancePeriodic(time.Hour)),
		MaxWorkers:        cfg.Jobs.MaxWorkers,
		FetchPollInterval: o.JobPollInterval,
	})
	if err != nil {
		return nil, &StartupError{"jobs", err}
	}
	if err := s.runner.Start(ctx); err != nil {
		return nil, &StartupError{"jobs", err}
	}
	for i, hs := range s.servers {
		ln := s.lns[i]
		go func() {
			var err error
			if hs.TLSConfig != nil {
				err = hs.ServeTLS(ln, "", "")
			} else {
				err = hs.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("listener failed", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	for name, addr := range s.Addrs {
		log.Info("listening", "listener", name, "url", addr)
	}
	return s, nil
}

// listen binds the listeners; with an admin address the operations
// endpoints move to their own listener, optionally behind mTLS.
//
// REQ: TR03161-3:O.Arch_9
func (s *Server) listen(ctx context.Context) error {
	cfg := s.cfg
	public := http.NewServeMux()
	var admin *http.ServeMux
	if cfg.Admin.Addr != "" {
		admin = http.NewServeMux()
	}
	ops := admin
	if ops == nil {
		ops = public
	}
	ops.HandleFunc("GET /healthz", s.healthz)
	ops.HandleFunc("GET /readyz", s.readyz)
	ops.Handle("GET /metrics", s.metrics.Handler())
	public.HandleFunc("/", notFound)
	// auth service (helper G1): OP endpoints, login/registration pages, /v1/me/sessions
	if err := s.mountAuth(public); err != nil {
		return err
	}
	// redemption and billing (kassenapi spec B3)
	if err := s.mountBilling(ctx, public, admin); err != nil {
		return err
	}
	// audit reads: the user's own protocol, auditors on the admin listener
	s.mountAuditReads(public, admin)
	if admin != nil {
		admin.HandleFunc("/", notFound)
	}
	gate, err := s.mountAppVersions(ctx, public, admin)
	if err != nil {
		return err
	}

	pubTLS, err := s.listenerTLS("public", cfg.TLS.Profile, cfg.TLS.Cert, cfg.TLS.Key, "")
	if err != nil {
		return &StartupError{"tls", err}
	}
	if err := s.bind("public", cfg.Addr, s.auditGuard(gate(public)), pubTLS); err != nil {
		return err
	}
	if admin != nil {
		profile := cfg.Admin.Profile
		if profile == "" {
			profile = cfg.TLS.Profile
		}
		admTLS, err := s.listenerTLS("admin", profile, cfg.Admin.Cert, cfg.Admin.Key, cfg.Admin.ClientCA)
		if err != nil {
			return &StartupError{"admin tls", err}
		}
		if err := s.bind("admin", cfg.Admin.Addr, s.auditGuard(admin), admTLS); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) bind(name, addr string, mux http.Handler, tc *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se *net.OpError
		if errors.As(err, &se) && se.Err != nil {
			return &StartupError{"listen " + name, fmt.Errorf("%s: %v", addr, se.Err)}
		}
		return &StartupError{"listen " + name, err}
	}
	scheme := "http"
	if tc != nil {
		scheme = "https"
	}
	if s.hsAudit == nil && s.audit != nil {
		s.hsAudit = newHandshakeAudit(s.audit, s.log)
		s.background(s.hsAudit.run)
	}
	hc := tlsconf.HandshakeConfig{Logger: s.log, Registerer: s.metrics.Registry}
	if s.hsAudit != nil {
		hc.OnFailure = s.hsAudit.OnFailure
	}
	hl, err := tlsconf.NewHandshakeLog(name, hc)
	if err != nil {
		_ = ln.Close()
		return &StartupError{"listen " + name, err}
	}
	hs := &http.Server{
		Handler:   s.metrics.Instrument(name, secureHeaders(mux)),
		TLSConfig: tc,
		ConnState: s.metrics.ConnState(name),
		// One handshake_fail line (and metric) per aborted handshake.
		ErrorLog: hl.ErrorLog(),
	}
	tlsconf.ApplyServerDefaults(hs) // timeouts and header limit of spec §3.5
	s.servers = append(s.servers, hs)
	s.lns = append(s.lns, ln)
	s.Addrs[name] = scheme + "://" + ln.Addr().String()
	return nil
}

// Shutdown drains the listeners, stops River and closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.log.Info("shutting down")
	var errs []error
	dctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownGrace)
	defer cancel()
	for _, hs := range s.servers {
		if err := hs.Shutdown(dctx); err != nil {
			errs = append(errs, err)
			_ = hs.Close()
		}
	}
	s.servers = nil
	s.closeAll(ctx)
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// closeAll releases whatever start-up had acquired.
func (s *Server) closeAll(ctx context.Context) {
	for _, hs := range s.servers {
		_ = hs.Close()
	}
	s.servers = nil
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.lns = nil
	if s.bgCancel != nil {
		s.bgCancel()
		s.bgWG.Wait()
		s.bgCancel = nil
	}
	if s.runner != nil {
		if err := s.runner.Stop(ctx, 10*time.Second); err != nil {
			s.log.Error("stopping jobs", "err", err)
		}
		s.runner = nil
	}
	// sys_shutdown and a last checkpoint before the database closes.
	s.stopAudit(context.WithoutCancel(ctx))
	if s.sandbox != nil {
		_ = s.sandbox.Close()
		s.sandbox = nil
	}
	for _, db := range []**store.DB{&s.main, &s.billing} {
		if *db != nil {
			_ = (*db).Close()
			*db = nil
		}
	}
}

func openMigrated(ctx context.Context, dsn string, role store.Role) (*store.DB, error) {
	db, err := store.Open(ctx, dsn, role)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrationsFor(db)...); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// prepareDataDir creates dir with mode 0700 and proves it writable.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot create %s: %v", dir, pe.Err)
		}
		return fmt.Errorf("cannot create %s", dir)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("%s is not writable", dir)
	}
	name := f.Name()
	_ = f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("%s is not writable", filepath.Clean(dir))
	}
	return nil
}
