package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/digakit/digakit/mio"
	"github.com/digakit/digakit/mio/miocheck"
)

func init() {
	register(command{name: "mio", summary: "build and check KBV MIO DiGA 1.1.0 documents", run: runMIO})
}

func runMIO(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "mio", args, map[string]func(context.Context, *env, []string) int{
		"build": runMIOBuild,
		"check": runMIOCheck,
	})
}

// mioManifest is DIR/manifest.json of "digakit mio build" (mio spec §3.10).
type mioManifest struct {
	ExportID   string        `json:"exportId"`
	MIOVersion string        `json:"mioVersion"`
	Documents  []mioDocument `json:"documents"`
}

type mioDocument struct {
	File     string    `json:"file"`
	BundleID string    `json:"bundleId"`
	Index    int       `json:"index"`
	Count    int       `json:"count"`
	Period   mioPeriod `json:"period"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Entries  int       `json:"entries"`
	EPA      mioEPA    `json:"epa"`
}

type mioPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type mioEPA struct {
	FormatCode       mio.Code `json:"formatCode"`
	ClassCode        mio.Code `json:"classCode"`
	TypeCode         mio.Code `json:"typeCode"`
	MimeType         string   `json:"mimeType"`
	Title            string   `json:"title"`
	ServiceStartTime string   `json:"serviceStartTime"`
	ServiceStopTime  string   `json:"serviceStopTime"`
	CreationTime     string   `json:"creationTime"`
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// printIssues writes one stderr line per validation issue and returns 1.
func printIssues(e *env, err error) int {
	var ve *mio.ValidationError
	if !errors.As(err, &ve) {
		return e.fail(exitInvalid, "mio build: %v", err)
	}
	for _, is := range ve.Issues {
		fmt.Fprintln(e.stderr, is.String())
	}
	return exitInvalid
}

// runMIOBuild implements "digakit mio build --in EXPORT.json --out DIR".
//
// REQ: mio-spec:3.10
func runMIOBuild(ctx context.Context, e *env, args []string) int {
	fs := newFlags("mio build")
	in := fs.String("in", "", "JSON export file")
	out := fs.String("out", "", "output directory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "mio build: %v", err)
	}
	if *in == "" || *out == "" || len(pos) > 0 {
		return e.fail(exitUsage, "mio build: usage: digakit mio build --in EXPORT.json --out DIR")
	}
	f, err := os.Open(*in)
	if err != nil {
		return e.fail(exitUsage, "mio build: cannot read the export file")
	}
	x, o, err := mio.DecodeExport(f)
	f.Close()
	if err != nil {
		var ve *mio.ValidationError
		if errors.As(err, &ve) {
			return printIssues(e, err)
		}
		return e.fail(exitUsage, "mio build: cannot read the export file")
	}
	docs, err := mio.Build(ctx, x, o)
	if err != nil {
		return printIssues(e, err)
	}
	if err := os.MkdirAll(*out, 0o750); err != nil {
		return e.fail(exitUsage, "mio build: cannot create the output directory")
	}
	man := mioManifest{ExportID: x.ExportID, MIOVersion: mio.MIOVersion, Documents: []mioDocument{}}
	var written []string
	cleanup := func() {
		for _, p := range written {
			_ = os.Remove(p)
		}
	}
	for _, d := range docs {
		name := d.BundleUUID + ".xml"
		sum, err := writeAtomic(filepath.Join(*out, name), func(f *os.File) error {
			_, err := d.WriteToContext(ctx, f)
			return err
		})
		if err != nil {
			cleanup()
			return e.fail(exitUsage, "mio build: cannot write %s: %v", name, err)
		}
		written = append(written, filepath.Join(*out, name))
		man.Documents = append(man.Documents, mioDocument{
			File: name, BundleID: "urn:uuid:" + d.BundleUUID, Index: d.Index, Count: d.Count,
			Period: mioPeriod{utc(d.Period.Start), utc(d.Period.End)}, Size: d.Size, SHA256: sum, Entries: d.Entries,
			EPA: mioEPA{
				FormatCode: d.Metadata.FormatCode, ClassCode: d.Metadata.ClassCode, TypeCode: d.Metadata.TypeCode,
				MimeType: d.Metadata.MimeType, Title: d.Metadata.Title,
				ServiceStartTime: utc(d.Metadata.ServiceStart), ServiceStopTime: utc(d.Metadata.ServiceStop),
				CreationTime: utc(d.Metadata.CreationTime),
			},
		})
	}
	manJSON, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		cleanup()
		return e.fail(exitUsage, "mio build: %v", err)
	}
	manJSON = append(manJSON, '\n')
	if _, err := writeAtomic(filepath.Join(*out, "manifest.json"), func(f *os.File) error {
		_, err := f.Write(manJSON)
		return err
	}); err != nil {
		cleanup()
		return e.fail(exitUsage, "mio build: cannot write manifest.json: %v", err)
	}
	if _, err := e.stdout.Write(manJSON); err != nil {
		return exitUsage
	}
	return exitOK
}

// writeAtomic writes through a temporary file in the same directory,
// fsyncs and renames it, and returns the SHA-256 of the written bytes.
func writeAtomic(path string, fill func(*os.File) error) (string, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".mio-*.tmp")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, tmp); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	ok = true
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mioDataDir finds the FHIR data: $DIGAKIT_FHIR_DATA, else the first
// shared/data/fhir walking up from the working directory.
func mioDataDir(e *env) (string, error) {
	if d := e.getenv("DIGAKIT_FHIR_DATA"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
		return "", miocheck.ErrNoFHIRData
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", miocheck.ErrNoFHIRData
	}
	for {
		cand := filepath.Join(dir, "shared", "data", "fhir")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", miocheck.ErrNoFHIRData
		}
		dir = parent
	}
}

// runMIOCheck implements "digakit mio check FILE [--json]": exit 0 valid,
// 1 findings (also for XML that is not well-formed), 2 usage or FHIR data
// not found.
//
// REQ: mio-spec:3.10
func runMIOCheck(_ context.Context, e *env, args []string) int {
	fs := newFlags("mio check")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "mio check: %v", err)
	}
	if len(pos) != 1 {
		return e.fail(exitUsage, "mio check: usage: digakit mio check FILE [--json]")
	}
	dir, err := mioDataDir(e)
	if err != nil {
		return e.fail(exitUsage, "mio check: FHIR data not found (set DIGAKIT_FHIR_DATA)")
	}
	c, err := miocheck.Load(dir)
	if err != nil {
		return e.fail(exitUsage, "mio check: FHIR data not found (set DIGAKIT_FHIR_DATA)")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return e.fail(exitUsage, "mio check: cannot read the file")
	}
	findings := c.Check(f)
	f.Close()
	if findings == nil {
		findings = []miocheck.Finding{}
	}
	code := exitOK
	if len(findings) > 0 {
		code = exitInvalid
	}
	if *asJSON {
		if err := e.writeJSON(map[string]any{"valid": len(findings) == 0, "findings": findings}); err != nil {
			return exitUsage
		}
		return code
	}
	for _, fi := range findings {
		fmt.Fprintln(e.stdout, fi.String())
	}
	if len(findings) == 0 {
		fmt.Fprintln(e.stdout, "valid")
	}
	return code
}
