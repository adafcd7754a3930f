package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
)

func init() {
	register(command{name: "directory", summary: "show, compare and fetch the insurer endpoint directory", run: runDirectory})
}

func runDirectory(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "directory", args, map[string]func(context.Context, *env, []string) int{
		"show":  runDirectoryShow,
		"diff":  runDirectoryDiff,
		"fetch": runDirectoryFetch,
	})
}

// dirEntryJSON is one entry of "digakit directory show --json" (CLI.md).
type dirEntryJSON struct {
	Prefix     string `json:"prefix"`
	IK         string `json:"ik"`
	Name       string `json:"name"`
	BillingIK  string `json:"billingIK"`
	ClearingIK string `json:"clearingIK"`
	Endpoint   string `json:"endpoint"`
	URL        string `json:"url"`
	Dispatch   int    `json:"dispatch"`
}

// dirRejectedJSON is one rejected entry: index among the
// Krankenkasseninformation elements (0-based), prefix as found, and the
// reasons naming the field.
type dirRejectedJSON struct {
	Index  int    `json:"index"`
	Prefix string `json:"prefix"`
	Reason string `json:"reason"`
}

type dirShowJSON struct {
	Entries  []dirEntryJSON    `json:"entries"`
	Rejected []dirRejectedJSON `json:"rejected"`
}

// dirShow builds the show document: entries without a fatal problem and
// with a usable endpoint, in file order; every other entry under rejected
// with the reasons that made it unusable.
func dirShow(d *kassenapi.Directory, problems []kassenapi.EntryProblem) dirShowJSON {
	out := dirShowJSON{Entries: []dirEntryJSON{}, Rejected: []dirRejectedJSON{}}
	usable := map[int]bool{}
	if d != nil {
		for _, en := range d.Entries() {
			if !en.HasAPI() {
				continue
			}
			usable[en.Index] = true
			out.Entries = append(out.Entries, dirEntryJSON{
				Prefix: en.Prefix, IK: en.IK, Name: en.Name, BillingIK: en.BillingIK, ClearingIK: en.ClearingIK,
				Endpoint: en.NormalizedEndpoint(), URL: en.URL, Dispatch: int(en.Dispatch),
			})
		}
	}
	byIndex := map[int]*dirRejectedJSON{}
	var order []int
	for _, p := range problems {
		if usable[p.Index] {
			continue // a non-fatal remark on an entry that stays usable
		}
		if !p.Fatal && p.Field != "Endpunkt_Kommunikationsstelle" {
			continue // e.g. a missing e-mail on an entry rejected for another reason
		}
		r, ok := byIndex[p.Index]
		if !ok {
			r = &dirRejectedJSON{Index: p.Index, Prefix: p.Prefix}
			byIndex[p.Index] = r
			order = append(order, p.Index)
		}
		reason := p.Field + ": " + p.Reason
		if r.Reason == "" {
			r.Reason = reason
		} else if !strings.Contains(r.Reason, reason) {
			r.Reason += "; " + reason
		}
	}
	slices.Sort(order)
	for _, i := range order {
		out.Rejected = append(out.Rejected, *byIndex[i])
	}
	return out
}

// readDirectoryFile reads and parses FILE. The returned exit code is 2 for
// an unreadable file and 1 for a rejected one.
func readDirectoryFile(path string, opts kassenapi.DirectoryOptions) (*kassenapi.Directory, []kassenapi.EntryProblem, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, exitUsage, fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))
	}
	d, probs, err := opts.Parse(b)
	if err != nil {
		return nil, probs, exitInvalid, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	return d, probs, exitOK, nil
}

// runDirectoryShow implements "digakit directory show FILE [--json]": exit
// 0 when the file is usable (also with rejected entries), 1 when it is
// rejected as a whole, 2 on usage errors or an unreadable file.
func runDirectoryShow(_ context.Context, e *env, args []string) int {
	fs := newFlags("directory show")
	asJSON := fs.Bool("json", false, "print JSON")
	allowTest := fs.Bool("allow-test-endpoints", false, "accept IP and port endpoints (fakes, sandbox)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "directory show: %v", err)
	}
	if len(pos) != 1 {
		return e.fail(exitUsage, "directory show: want exactly one FILE")
	}
	d, probs, code, err := readDirectoryFile(pos[0], kassenapi.DirectoryOptions{AllowTestEndpoints: *allowTest})
	if code == exitUsage {
		return e.fail(code, "directory show: %v", err)
	}
	doc := dirShow(d, probs)
	if *asJSON {
		if werr := e.writeJSON(doc); werr != nil {
			return exitUsage
		}
	} else {
		for _, en := range doc.Entries {
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", en.Prefix, en.IK, en.BillingIK, en.ClearingIK, en.URL, en.Dispatch, en.Name)
		}
		for _, r := range doc.Rejected {
			fmt.Fprintf(e.stdout, "rejected\t%d\t%s\t%s\n", r.Index, r.Prefix, r.Reason)
		}
	}
	if err != nil {
		return e.fail(code, "directory show: %v", err)
	}
	return exitOK
}

type dirChangeJSON struct {
	Prefix string `json:"prefix"`
	Field  string `json:"field"`
	Old    string `json:"old"`
	New    string `json:"new"`
}

type dirDiffJSON struct {
	Added   []string        `json:"added"`
	Removed []string        `json:"removed"`
	Changed []dirChangeJSON `json:"changed"`
}

// dirDiffFields are the fields of the CLI contract.
var dirDiffFields = map[string]bool{
	kassenapi.DiffFieldIK: true, kassenapi.DiffFieldBillingIK: true, kassenapi.DiffFieldClearingIK: true,
	kassenapi.DiffFieldEndpoint: true, kassenapi.DiffFieldDispatch: true,
}

// runDirectoryDiff implements "digakit directory diff OLD NEW [--json]":
// exit 0 whether or not they differ, 1 when either file is rejected as a
// whole, 2 on usage errors or an unreadable file.
func runDirectoryDiff(_ context.Context, e *env, args []string) int {
	fs := newFlags("directory diff")
	asJSON := fs.Bool("json", false, "print JSON")
	allowTest := fs.Bool("allow-test-endpoints", false, "accept IP and port endpoints (fakes, sandbox)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "directory diff: %v", err)
	}
	if len(pos) != 2 {
		return e.fail(exitUsage, "directory diff: want OLD and NEW")
	}
	opts := kassenapi.DirectoryOptions{AllowTestEndpoints: *allowTest}
	var dirs [2]*kassenapi.Directory
	worst, worstErr := exitOK, error(nil)
	for i, p := range pos {
		d, _, code, err := readDirectoryFile(p, opts)
		if code > worst {
			worst, worstErr = code, err
		}
		dirs[i] = d
	}
	if worst != exitOK {
		return e.fail(worst, "directory diff: %v", worstErr)
	}
	diff := kassenapi.DiffDirectories(dirs[0], dirs[1])
	doc := dirDiffJSON{Added: append([]string{}, diff.Added...), Removed: append([]string{}, diff.Removed...), Changed: []dirChangeJSON{}}
	for _, c := range diff.Changed {
		if dirDiffFields[c.Field] {
			doc.Changed = append(doc.Changed, dirChangeJSON{Prefix: c.Prefix, Field: c.Field, Old: c.Old, New: c.New})
		}
	}
	if *asJSON {
		if err := e.writeJSON(doc); err != nil {
			return exitUsage
		}
		return exitOK
	}
	for _, p := range doc.Added {
		fmt.Fprintf(e.stdout, "+ %s\n", p)
	}
	for _, p := range doc.Removed {
		fmt.Fprintf(e.stdout, "- %s\n", p)
	}
	for _, c := range doc.Changed {
		fmt.Fprintf(e.stdout, "~ %s %s: %s -> %s\n", c.Prefix, c.Field, c.Old, c.New)
	}
	return exitOK
}

// runDirectoryFetch implements "digakit directory fetch URL [--out FILE]":
// one fetch, unpack, parse and update guard; the unpacked XML goes to FILE
// or stdout. With --out the file is written like the updater's
// last-known-good snapshot (atomically, plus FILE.json with SHA-256, ETag
// and Last-Modified), so a server can start from it without network.
// --previous FILE guards against an earlier copy and, when FILE.json
// exists, makes the request conditional. Exit 0 accepted (or not
// modified), 1 rejected (parse or guard), 2 usage or network error.
func runDirectoryFetch(ctx context.Context, e *env, args []string) int {
	fs := newFlags("directory fetch")
	out := fs.String("out", "", "write the unpacked XML to FILE (default stdout), with FILE.json metadata")
	previous := fs.String("previous", "", "last-known-good directory FILE to guard against (80 %/20 % rules)")
	force := fs.Bool("force", false, "accept the download even when the update guard refuses it")
	caFile := fs.String("ca", "", "PEM file with extra root certificates for the server")
	timeout := fs.Duration("timeout", 60*time.Second, "HTTP timeout")
	allowTest := fs.Bool("allow-test-endpoints", false, "accept IP and port endpoints (fakes, sandbox)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "directory fetch: %v", err)
	}
	if len(pos) != 1 {
		return e.fail(exitUsage, "directory fetch: want exactly one URL")
	}
	opts := kassenapi.DirectoryOptions{AllowTestEndpoints: *allowTest}
	client := &http.Client{Timeout: *timeout}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return e.fail(exitUsage, "directory fetch: cannot read --ca: %v", errors.Unwrap(err))
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return e.fail(exitUsage, "directory fetch: --ca holds no PEM certificate")
		}
		client.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	var old *kassenapi.Directory
	var state kassenapi.FetchState
	if *previous != "" {
		d, _, code, err := readDirectoryFile(*previous, opts)
		if code != exitOK {
			return e.fail(exitUsage, "directory fetch: --previous %v", err)
		}
		old = d
		store := kassenapi.FileSnapshotStore{Dir: filepath.Dir(*previous), Name: filepath.Base(*previous)}
		if snap, err := store.Load(ctx); err == nil && snap != nil {
			state = kassenapi.FetchState{ETag: snap.ETag, LastModified: snap.LastModified}
		}
	}
	src := &kassenapi.HTTPSource{URL: pos[0], Client: client, UserAgent: "digakit/" + buildVersion()}
	res, err := src.Fetch(ctx, state)
	if err != nil {
		return e.fail(exitUsage, "directory fetch: %v", strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	if res.NotModified {
		fmt.Fprintln(e.stdout, "not modified")
		return exitOK
	}
	payload, err := kassenapi.UnpackDirectory(res.Body)
	if err != nil {
		return e.fail(exitInvalid, "directory fetch: %v", strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	d, probs, err := opts.Parse(payload)
	if err != nil {
		return e.fail(exitInvalid, "directory fetch: %v", strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	if err := kassenapi.DirectoryGuard(old, d); err != nil && !*force {
		return e.fail(exitInvalid, "directory fetch: %v (use --force to accept)", strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	if *out == "" {
		if _, err := e.stdout.Write(payload); err != nil {
			return exitUsage
		}
		return exitOK
	}
	sum := sha256.Sum256(payload)
	store := kassenapi.FileSnapshotStore{Dir: filepath.Dir(*out), Name: filepath.Base(*out)}
	if err := store.Save(ctx, &kassenapi.Snapshot{Payload: payload, SHA256: hex.EncodeToString(sum[:]), ETag: res.ETag,
		LastModified: res.LastModified, FetchedAt: time.Now()}); err != nil {
		return e.fail(exitUsage, "directory fetch: %v", strings.TrimPrefix(err.Error(), "kassenapi: "))
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d entries, %d usable, %d problems, digest %s\n", *out, d.Len(), d.Usable(), len(probs), d.Digest())
	return exitOK
}
