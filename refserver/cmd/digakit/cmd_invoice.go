package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/digakit/digakit/kassenapi/xrechnung"
)

func init() {
	register(command{name: "invoice", summary: "check XRechnung CII invoices against the DiGA billing rules", run: runInvoice})
}

func runInvoice(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "invoice", args, map[string]func(context.Context, *env, []string) int{
		"check": runInvoiceCheck,
	})
}

// invoiceFinding is one finding of "digakit invoice check --json".
type invoiceFinding struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Path    string `json:"path"`
	Level   string `json:"level"`
}

// invoiceCheckResult is the JSON document of "digakit invoice check --json"
// (CLI.md): valid is false when a finding has level error.
type invoiceCheckResult struct {
	Valid    bool             `json:"valid"`
	Findings []invoiceFinding `json:"findings"`
}

// runInvoiceCheck implements "digakit invoice check FILE [--json]" (spec
// B3.10): it runs xrechnung.Check on FILE ("-" reads stdin). Exit 0 when
// the invoice is valid, 1 when it is not (including XML that is not
// well-formed or too large), 2 on usage errors or an unreadable file.
// Findings never contain the Freischaltcode.
func runInvoiceCheck(_ context.Context, e *env, args []string) int {
	flags := newFlags("invoice check")
	asJSON := flags.Bool("json", false, "print JSON")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return e.fail(exitUsage, "invoice check: %v", err)
	}
	if len(pos) != 1 {
		return e.fail(exitUsage, "invoice check: want exactly one FILE argument (or - for stdin)")
	}
	doc, err := readInvoiceFile(e, pos[0])
	if err != nil {
		return e.fail(exitUsage, "invoice check: %v", err)
	}
	findings := xrechnung.Check(doc)
	res := invoiceCheckResult{Valid: xrechnung.Valid(findings), Findings: make([]invoiceFinding, 0, len(findings))}
	for _, f := range findings {
		res.Findings = append(res.Findings, invoiceFinding{Rule: f.Rule, Message: f.Message, Path: f.XPath, Level: string(f.Level)})
	}
	code := exitOK
	if !res.Valid {
		code = exitInvalid
	}
	if *asJSON {
		if err := e.writeJSON(res); err != nil {
			return exitUsage
		}
		return code
	}
	if res.Valid {
		fmt.Fprintf(e.stdout, "valid (%d findings)\n", len(res.Findings))
	} else {
		fmt.Fprintf(e.stdout, "invalid (%d findings)\n", len(res.Findings))
	}
	for _, f := range res.Findings {
		fmt.Fprintf(e.stdout, "%-7s %-12s %s\n        %s\n", f.Level, f.Rule, f.Message, f.Path)
	}
	return code
}

// readInvoiceFile reads at most one byte more than xrechnung accepts, so
// that an oversized file is reported by Check (exit 1) without reading
// all of it. Errors name the problem, not the file content.
func readInvoiceFile(e *env, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("cannot open %s: %v", name, pe.Err)
			}
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("%s is a directory", name)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, xrechnung.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", name, err)
	}
	return b, nil
}
