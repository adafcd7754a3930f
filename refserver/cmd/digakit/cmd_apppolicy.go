package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/digakit/digakit/refserver/internal/appversion"
	"github.com/digakit/digakit/refserver/internal/appversion/sqlstore"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/store"
)

func init() {
	register(command{name: "app-policy", summary: "show or set the minimum app versions (app-policy show|set)", run: runAppPolicy})
}

func runAppPolicy(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "app-policy", args, map[string]func(context.Context, *env, []string) int{
		"show": runAppPolicyShow,
		"set":  runAppPolicySet,
	})
}

// openPolicyStore opens and migrates the main database named by the
// configuration (--config, --data, DIGAKIT_DB_DSN).
func openPolicyStore(ctx context.Context, e *env, f config.Flags) (*store.DB, *sqlstore.Store, error) {
	cfg, err := config.Load(f, e.getenv)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.DB.DSN, store.RoleMain)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db, sqlstore.New(db.DB, sqlstore.Config{}), nil
}

// runAppPolicyShow implements "digakit app-policy show [--platform P]
// [--history] [--json] [--config F] [--data D]": the stored policies (or
// one platform's change history). Exit 0, or 2 when the database cannot
// be opened.
func runAppPolicyShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags("app-policy show")
	var f config.Flags
	fs.StringVar(&f.Config, "config", "", "configuration file (JSON)")
	fs.StringVar(&f.Data, "data", "", "data directory")
	platform := fs.String("platform", "", "only this platform (ios, android, web)")
	history := fs.Bool("history", false, "print the change history of --platform")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "app-policy show: %v", err)
	}
	if len(pos) > 0 {
		return e.fail(exitUsage, "app-policy show: unexpected argument")
	}
	p := appversion.Platform(*platform)
	if *platform != "" && !p.Valid() {
		return e.fail(exitUsage, "app-policy show: --platform must be ios, android or web")
	}
	if *history && *platform == "" {
		return e.fail(exitUsage, "app-policy show: --history needs --platform")
	}
	db, st, err := openPolicyStore(ctx, e, f)
	if err != nil {
		return e.fail(exitUsage, "app-policy show: %v", err)
	}
	defer db.Close()
	if *history {
		h, err := st.History(ctx, p)
		if err != nil {
			return e.fail(exitUsage, "app-policy show: %v", err)
		}
		if *asJSON {
			if h == nil {
				h = []sqlstore.Change{}
			}
			if err := e.writeJSON(h); err != nil {
				return exitUsage
			}
			return exitOK
		}
		for _, c := range h {
			fmt.Fprintf(e.stdout, "%s %s %s\n", c.ChangedAt.Format(time.RFC3339), c.ChangedBy, policyLine(c.Policy))
		}
		return exitOK
	}
	ps, err := st.LoadPolicies(ctx)
	if err != nil {
		return e.fail(exitUsage, "app-policy show: %v", err)
	}
	out := []appversion.Policy{}
	for _, q := range ps {
		if *platform == "" || q.Platform == p {
			out = append(out, q)
		}
	}
	if *asJSON {
		if err := e.writeJSON(out); err != nil {
			return exitUsage
		}
		return exitOK
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "no app policy stored (every well-formed version is accepted unless the configuration sets one)")
	}
	for _, q := range out {
		fmt.Fprintln(e.stdout, policyLine(q))
	}
	return exitOK
}

func policyLine(p appversion.Policy) string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	grace := "-"
	if p.GraceUntil != nil {
		grace = p.GraceUntil.UTC().Format(time.RFC3339)
	}
	blocked := "-"
	if len(p.BlockedVersions) > 0 {
		blocked = strings.Join(p.BlockedVersions, ",")
	}
	return fmt.Sprintf("%s revision=%d minimum=%s recommended=%s blocked=%s grace_until=%s store_url=%s advisory_id=%s message_key=%s",
		p.Platform, p.Revision, dash(p.MinimumVersion), dash(p.RecommendedVersion), blocked, grace,
		dash(p.StoreURL), dash(p.AdvisoryID), dash(p.MessageKey))
}

// runAppPolicySet implements "digakit app-policy set --platform P
// [--minimum V] [--recommended V] [--blocked V,V] [--grace DURATION |
// --grace-until RFC3339 | --critical] [--store-url URL] [--advisory-id ID]
// [--message-key KEY] [--json] [--config F] [--data D]". Flags not given
// keep the stored value; an empty value clears a member. A changed
// minimum without a grace flag gets the default grace of 7 days;
// --critical blocks at once. Exit 0 stored, 1 the policy is invalid, 2
// usage or database error.
func runAppPolicySet(ctx context.Context, e *env, args []string) int {
	fs := newFlags("app-policy set")
	var f config.Flags
	fs.StringVar(&f.Config, "config", "", "configuration file (JSON)")
	fs.StringVar(&f.Data, "data", "", "data directory")
	platform := fs.String("platform", "", "ios, android or web (required)")
	minimum := fs.String("minimum", "", "minimum version (SemVer)")
	recommended := fs.String("recommended", "", "recommended version (SemVer)")
	blocked := fs.String("blocked", "", "comma-separated blocked versions")
	grace := fs.Duration("grace", 0, "grace period from now for a new minimum (default 168h)")
	graceUntil := fs.String("grace-until", "", "end of the grace period (RFC 3339)")
	critical := fs.Bool("critical", false, "no grace period: block below-minimum versions at once")
	storeURL := fs.String("store-url", "", "store URL (https)")
	advisory := fs.String("advisory-id", "", "security advisory id")
	messageKey := fs.String("message-key", "", "message key of the app's update prompt")
	asJSON := fs.Bool("json", false, "print the stored policy as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "app-policy set: %v", err)
	}
	if len(pos) > 0 {
		return e.fail(exitUsage, "app-policy set: unexpected argument")
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	p := appversion.Platform(*platform)
	if !p.Valid() {
		return e.fail(exitUsage, "app-policy set: --platform must be ios, android or web")
	}
	changes := 0
	for _, k := range []string{"minimum", "recommended", "blocked", "grace", "grace-until", "critical", "store-url", "advisory-id", "message-key"} {
		if given[k] {
			changes++
		}
	}
	if changes == 0 {
		return e.fail(exitUsage, "app-policy set: nothing to change (give --minimum, --recommended, --blocked, a grace flag, --store-url, --advisory-id or --message-key)")
	}
	n := 0
	for _, k := range []string{"grace", "grace-until", "critical"} {
		if given[k] {
			n++
		}
	}
	if n > 1 {
		return e.fail(exitUsage, "app-policy set: use only one of --grace, --grace-until, --critical")
	}
	if given["grace"] && *grace < 0 {
		return e.fail(exitUsage, "app-policy set: --grace must not be negative")
	}
	var until time.Time
	if given["grace-until"] && *graceUntil != "" {
		if until, err = time.Parse(time.RFC3339, *graceUntil); err != nil {
			return e.fail(exitInvalid, "app-policy set: --grace-until is not an RFC 3339 time")
		}
	}

	db, st, err := openPolicyStore(ctx, e, f)
	if err != nil {
		return e.fail(exitUsage, "app-policy set: %v", err)
	}
	defer db.Close()
	current, err := st.LoadPolicies(ctx)
	if err != nil {
		return e.fail(exitUsage, "app-policy set: %v", err)
	}
	pol := appversion.Policy{Platform: p}
	for _, c := range current {
		if c.Platform == p {
			pol = c
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	if given["minimum"] && *minimum != pol.MinimumVersion && n == 0 && *minimum != "" {
		g := now.Add(appversion.DefaultGrace)
		pol.GraceUntil = &g
	}
	set := func(name string, dst *string, v string) {
		if given[name] {
			*dst = v
		}
	}
	set("minimum", &pol.MinimumVersion, *minimum)
	set("recommended", &pol.RecommendedVersion, *recommended)
	set("store-url", &pol.StoreURL, *storeURL)
	set("advisory-id", &pol.AdvisoryID, *advisory)
	set("message-key", &pol.MessageKey, *messageKey)
	if given["blocked"] {
		pol.BlockedVersions = nil
		for _, b := range strings.Split(*blocked, ",") {
			if b = strings.TrimSpace(b); b != "" {
				pol.BlockedVersions = append(pol.BlockedVersions, b)
			}
		}
	}
	switch {
	case given["critical"] && *critical:
		pol.GraceUntil = nil
	case given["grace"]:
		g := now.Add(*grace)
		pol.GraceUntil = &g
		if *grace == 0 {
			pol.GraceUntil = nil
		}
	case given["grace-until"]:
		pol.GraceUntil = nil
		if !until.IsZero() {
			pol.GraceUntil = &until
		}
	}
	stored, err := st.Set(ctx, pol, "cli")
	if err != nil {
		var pe *appversion.PolicyError
		if errors.As(err, &pe) {
			return e.fail(exitInvalid, "app-policy set: %v", err)
		}
		return e.fail(exitUsage, "app-policy set: %v", err)
	}
	if *asJSON {
		if err := e.writeJSON(stored); err != nil {
			return exitUsage
		}
		return exitOK
	}
	fmt.Fprintln(e.stdout, policyLine(stored))
	return exitOK
}
