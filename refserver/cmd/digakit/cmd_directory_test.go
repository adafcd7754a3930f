package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
)

const dirTestdata = "../../../kassenapi/testdata/directory/"

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDirectoryShowCLI(t *testing.T) {
	out, errs, code := runCLI(t, "", "directory", "show", "--json", dirTestdata+"junk_real_world.xml")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	var doc dirShowJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, e := range doc.Entries {
		prefixes = append(prefixes, e.Prefix)
	}
	if strings.Join(prefixes, ",") != "AA,AF,AI,AK" {
		t.Errorf("entries %v", prefixes)
	}
	aa := doc.Entries[0]
	if aa != (dirEntryJSON{Prefix: "AA", IK: "101234560", Name: "BMW BKK", BillingIK: "101234560", ClearingIK: "660500345",
		Endpoint: "diga.bitmarck-daten.de", URL: "https://diga.bitmarck-daten.de/diga", Dispatch: 1}) {
		t.Errorf("AA = %+v", aa)
	}
	want := []struct {
		index  int
		prefix string
		field  string
	}{
		{1, "AB", "Endpunkt_Kommunikationsstelle"}, {2, "AC", "Kostentraegerkennung"}, {3, "AD", "Kostentraegerkuerzel"},
		{4, "AD", "Kostentraegerkuerzel"}, {5, "AE", "Versandart"}, {6, "A1", "Kostentraegerkuerzel"},
		{8, "AG", "Endpunkt_Kommunikationsstelle"}, {9, "AH", "Endpunkt_Kommunikationsstelle"}, {11, "AJ", "Kostentraegerkennung"},
	}
	if len(doc.Rejected) != len(want) {
		t.Fatalf("rejected = %+v", doc.Rejected)
	}
	for i, w := range want {
		r := doc.Rejected[i]
		if r.Index != w.index || r.Prefix != w.prefix || !strings.HasPrefix(r.Reason, w.field+": ") {
			t.Errorf("rejected[%d] = %+v, want %+v", i, r, w)
		}
	}
	// The member names of the contract.
	for _, m := range []string{`"entries"`, `"rejected"`, `"prefix"`, `"ik"`, `"name"`, `"billingIK"`, `"clearingIK"`, `"endpoint"`, `"url"`, `"dispatch": 1`, `"index"`, `"reason"`} {
		if !strings.Contains(out, m) {
			t.Errorf("output lacks %s", m)
		}
	}
}

func TestDirectoryShowCLIExitCodes(t *testing.T) {
	zipped := writeTemp(t, "d.zip", kassenapitest.ZipDirectory(kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example"))))
	sandbox := writeTemp(t, "s.xml", kassenapitest.DirectoryXML(kassenapitest.DefaultDirectoryEntries("127.0.0.1:4431", "127.0.0.1:4432")))
	notXML := writeTemp(t, "n.xml", []byte("Wartungsarbeiten"))
	allBad := writeTemp(t, "b.xml", kassenapitest.DirectoryXML(kassenapitest.AllBadEntries()))
	tests := []struct {
		name string
		args []string
		exit int
		out  string
		err  string
	}{
		{"zip", []string{"directory", "show", zipped}, exitOK, "ZU\t990000102\t990000102\t990000300\thttps://b.kasse.example/diga\t1\t", ""},
		{"sandbox without flag", []string{"directory", "show", sandbox}, exitInvalid, "rejected\t0\tZZ\tEndpunkt_Kommunikationsstelle: endpoint with a port", "no usable entry"},
		{"sandbox with flag", []string{"directory", "show", "--allow-test-endpoints", "--json", sandbox}, exitOK, `"url": "https://127.0.0.1:4431/diga"`, ""},
		{"v2", []string{"directory", "show", dirTestdata + "v2_plain.xml"}, exitOK, "TK\t", ""},
		{"not xml", []string{"directory", "show", notXML}, exitInvalid, "", "not XML"},
		{"all bad", []string{"directory", "show", "--json", allBad}, exitInvalid, `"index": 5`, "no usable entry"},
		{"missing file", []string{"directory", "show", filepath.Join(t.TempDir(), "nope.xml")}, exitUsage, "", "cannot read"},
		{"no file", []string{"directory", "show"}, exitUsage, "", "exactly one FILE"},
		{"two files", []string{"directory", "show", notXML, notXML}, exitUsage, "", "exactly one FILE"},
		{"bad flag", []string{"directory", "show", "--x", notXML}, exitUsage, "", "flag provided but not defined"},
		{"unknown subcommand", []string{"directory", "list"}, exitUsage, "", "unknown subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runCLI(t, "", tt.args...)
			if code != tt.exit {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.exit, errs)
			}
			if !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
				t.Errorf("stdout %q\nstderr %q\nwant %q / %q", out, errs, tt.out, tt.err)
			}
			if strings.Count(errs, "\n") > 1 {
				t.Errorf("more than one stderr line: %q", errs)
			}
		})
	}
}

func TestDirectoryDiffCLI(t *testing.T) {
	e := kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")
	oldF := writeTemp(t, "old.xml", kassenapitest.DirectoryXML(e))
	changed := kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")
	changed[0].Endpoint = "neu.kasse.example"
	changed[1].ClearingIK = "990000399"
	changed[4].Dispatch = 1
	changed[4].Name = "renamed" // not a contract field
	changed[5].Prefix = "ZT"    // ZV -> ZT
	newF := writeTemp(t, "new.xml", kassenapitest.DirectoryXML(changed))
	out, errs, code := runCLI(t, "", "directory", "diff", "--json", oldF, newF)
	if code != exitOK {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	var doc dirDiffJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range doc.Changed {
		got = append(got, c.Prefix+"."+c.Field+":"+c.Old+">"+c.New)
	}
	if strings.Join(doc.Added, ",") != "ZT" || strings.Join(doc.Removed, ",") != "ZV" ||
		strings.Join(got, " ") != "ZU.clearingIK:990000300>990000399 ZW.dispatch:2>1 ZZ.endpoint:a.kasse.example>neu.kasse.example" {
		t.Errorf("diff = %+v / %s", doc, strings.Join(got, " "))
	}
	// No difference: empty arrays, not null; exit 0.
	out, _, code = runCLI(t, "", "directory", "diff", "--json", oldF, oldF)
	if code != exitOK || !strings.Contains(out, `"added": []`) || !strings.Contains(out, `"changed": []`) {
		t.Errorf("self diff: %d %s", code, out)
	}
	out, _, code = runCLI(t, "", "directory", "diff", oldF, newF)
	if code != exitOK || !strings.Contains(out, "+ ZT\n") || !strings.Contains(out, "~ ZZ endpoint: a.kasse.example -> neu.kasse.example\n") {
		t.Errorf("text diff: %d %s", code, out)
	}
	bad := writeTemp(t, "bad.xml", []byte("<x/>"))
	for _, tt := range []struct {
		args []string
		exit int
		err  string
	}{
		{[]string{"directory", "diff", oldF, bad}, exitInvalid, "root element"},
		{[]string{"directory", "diff", bad, oldF}, exitInvalid, "root element"},
		{[]string{"directory", "diff", oldF, filepath.Join(t.TempDir(), "nope")}, exitUsage, "cannot read"},
		{[]string{"directory", "diff", oldF}, exitUsage, "want OLD and NEW"},
	} {
		_, errs, code := runCLI(t, "", tt.args...)
		if code != tt.exit || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d stderr %q", tt.args, code, errs)
		}
	}
}

func TestDirectoryFetchCLI(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{})
	outFile := filepath.Join(t.TempDir(), "dir.xml")
	// ZIP URL, unpacked XML written to FILE.
	out, errs, code := runCLI(t, "", "directory", "fetch", srv.ZIPURL(), "--out", outFile)
	if code != exitOK || !strings.Contains(out, "6 entries, 5 usable") {
		t.Fatalf("fetch: %d %q %q", code, out, errs)
	}
	if b, err := os.ReadFile(outFile); err != nil || string(b) != string(srv.Current()) {
		t.Fatalf("written file differs: %v", err)
	}
	if _, err := os.Stat(outFile + ".json"); err != nil {
		t.Fatalf("snapshot metadata missing: %v", err)
	}
	// Conditional with the metadata of --previous: 304.
	out, errs, code = runCLI(t, "", "directory", "fetch", srv.ZIPURL(), "--previous", outFile, "--out", outFile)
	if code != exitOK || out != "not modified\n" || srv.NotModified() != 1 {
		t.Fatalf("conditional fetch: %d %q %q (304s %d)", code, out, errs, srv.NotModified())
	}
	// Raw XML to stdout.
	out, _, code = runCLI(t, "", "directory", "fetch", srv.XMLURL())
	if code != exitOK || out != string(srv.Current()) {
		t.Fatalf("stdout fetch: %d", code)
	}
	// Guard against a previous copy: a directory with 2 of 6 entries is refused.
	srv.SetEntries(kassenapitest.DefaultDirectoryEntries("a.kasse.example", "b.kasse.example")[:2])
	_, errs, code = runCLI(t, "", "directory", "fetch", srv.XMLURL(), "--previous", outFile, "--out", filepath.Join(t.TempDir(), "x.xml"))
	if code != exitInvalid || !strings.Contains(errs, "update guard") {
		t.Fatalf("guard: %d %q", code, errs)
	}
	// An operator accepts it anyway; the written copy is a snapshot the
	// updater loads at start.
	forced := filepath.Join(t.TempDir(), "Krankenkassenverzeichnis_DiGA.xml")
	if out, errs, code := runCLI(t, "", "directory", "fetch", srv.XMLURL(), "--previous", outFile, "--force", "--out", forced); code != exitOK || !strings.Contains(out, "2 entries") {
		t.Fatalf("force: %d %q %q", code, out, errs)
	}
	u, err := kassenapi.NewDirectoryUpdater(t.Context(), kassenapi.DirectoryUpdaterConfig{URL: "http://127.0.0.1:1/x", SnapshotDir: filepath.Dir(forced)})
	if err != nil || u.Current() == nil || u.Current().Len() != 2 {
		t.Fatalf("snapshot written by fetch not loadable: %v", err)
	}
	for _, tt := range []struct {
		fault kassenapitest.DirectoryFault
		exit  int
		err   string
	}{
		{kassenapitest.DirectoryNotXML, exitInvalid, "not XML"},
		{kassenapitest.DirectoryTruncated, exitInvalid, "not well-formed"},
		{kassenapitest.DirectoryWrongNamespace, exitInvalid, "unknown root namespace"},
		{kassenapitest.DirectoryAllBadEntries, exitInvalid, "no usable entry"},
		{kassenapitest.DirectoryZIPTwoXML, exitInvalid, "more than one XML member"},
		{kassenapitest.DirectoryNotFound, exitUsage, "HTTP 404"},
		{kassenapitest.DirectoryServerError, exitUsage, "HTTP 500"},
	} {
		srv.SetFault(tt.fault)
		target := filepath.Join(t.TempDir(), "never.xml")
		out, errs, code := runCLI(t, "", "directory", "fetch", srv.ZIPURL(), "--out", target)
		if code != tt.exit || !strings.Contains(errs, tt.err) || out != "" {
			t.Errorf("fault %d: exit %d stdout %q stderr %q", tt.fault, code, out, errs)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("fault %d: file written for a rejected download", tt.fault)
		}
	}
	srv.Close()
	_, errs, code = runCLI(t, "", "directory", "fetch", srv.XMLURL())
	if code != exitUsage || !strings.Contains(errs, "fetch") {
		t.Errorf("server down: %d %q", code, errs)
	}
	for _, args := range [][]string{{"directory", "fetch"}, {"directory", "fetch", "ftp://x/y"}, {"directory", "fetch", "http://x", "--ca", "/nonexistent"}} {
		if _, errs, code := runCLI(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
	}
}

func TestDirectoryFetchCLITLS(t *testing.T) {
	srv := kassenapitest.NewDirectoryServer(t, kassenapitest.DirectoryServerOptions{TLS: true})
	// Untrusted certificate: a network error.
	if _, errs, code := runCLI(t, "", "directory", "fetch", srv.XMLURL()); code != exitUsage || !strings.Contains(errs, "certificate") {
		t.Fatalf("untrusted: %d %q", code, errs)
	}
	ca := writeTemp(t, "ca.pem", srv.CertificatePEM())
	if out, errs, code := runCLI(t, "", "directory", "fetch", "--ca", ca, srv.XMLURL()); code != exitOK || out != string(srv.Current()) {
		t.Fatalf("trusted: %d %q", code, errs)
	}
}
