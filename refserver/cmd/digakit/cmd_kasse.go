package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	billingsql "github.com/digakit/digakit/kassenapi/billing/sqlstore"
	"github.com/digakit/digakit/refserver/internal/config"
	"github.com/digakit/digakit/refserver/internal/store"
)

func init() {
	register(command{name: "kasse", summary: "billing ledger tools (kasse protocol export)", run: runKasse})
}

func runKasse(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "kasse", args, map[string]func(context.Context, *env, []string) int{
		"protocol": runKasseProtocol,
	})
}

func runKasseProtocol(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "kasse protocol", args, map[string]func(context.Context, *env, []string) int{
		"export": runKasseProtocolExport,
	})
}

// EnvSealKeys names the environment variable with the billing-seal keys
// ("id:base64,id:base64", the current key first) until the key registry
// provides them (refserver spec 3.12).
const EnvSealKeys = "DIGAKIT_BILLING_SEAL_KEYS"

// sealerFromEnv builds the billing sealer from EnvSealKeys. Errors never
// contain key material.
func sealerFromEnv(getenv func(string) string) (billing.Sealer, error) {
	v := getenv(EnvSealKeys)
	if v == "" {
		return nil, errors.New(EnvSealKeys + " is not set")
	}
	keys := map[string][]byte{}
	current := ""
	for i, part := range strings.Split(v, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" {
			return nil, errors.New(EnvSealKeys + ": entry " + strconv.Itoa(i+1) + " is not id:base64")
		}
		k, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(k) != 32 {
			return nil, errors.New(EnvSealKeys + ": key " + strconv.Quote(id) + " must be 32 bytes in base64")
		}
		if current == "" {
			current = id
		}
		keys[id] = k
	}
	return billing.NewAESSealer(current, keys, nil)
}

// runKasseProtocolExport implements "digakit kasse protocol export --from
// DATE --to DATE [--config FILE] [--data DIR]": the TA §4.4 protocol log
// of the German days DATE..DATE (inclusive) as CSV with decrypted codes,
// for auditors. Exit 0, 2 on usage errors or when the billing database or
// the seal keys are unavailable.
//
// REQ: GKV-TA:4.4
func runKasseProtocolExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags("kasse protocol export")
	var f config.Flags
	fs.StringVar(&f.Config, "config", "", "configuration file (JSON)")
	fs.StringVar(&f.Data, "data", "", "data directory")
	fromS := fs.String("from", "", "first day, YYYY-MM-DD (German time)")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (German time), inclusive")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	if len(pos) > 0 {
		return e.fail(exitUsage, "kasse protocol export: unexpected argument")
	}
	from, err1 := kassenapi.ParseDate(*fromS)
	to, err2 := kassenapi.ParseDate(*toS)
	if err1 != nil || err2 != nil {
		return e.fail(exitUsage, "kasse protocol export: --from and --to must be dates YYYY-MM-DD")
	}
	if to.Before(from) {
		return e.fail(exitUsage, "kasse protocol export: --to is before --from")
	}
	seal, err := sealerFromEnv(e.getenv)
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	cfg, err := config.Load(f, e.getenv)
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	db, err := store.Open(ctx, cfg.Billing.DSN, store.RoleBilling)
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	st, err := billingsql.NewBilling(db.DB, string(db.Dialect))
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: %v", err)
	}
	recs, err := billing.ExportProtocol(ctx, st, seal, from, to)
	if err != nil {
		return e.fail(exitUsage, "kasse protocol export: cannot read the protocol log: %v", redactErr(err))
	}
	w := csv.NewWriter(e.stdout)
	_ = w.Write([]string{"id", "ts_local", "ts_utc", "process", "procedure", "sender_ik", "receiver_ik", "insurer_ik",
		"freischaltcode", "result", "class", "fehlernummern", "http_status", "sent", "duration_ms", "invoice_number"})
	for _, r := range recs {
		_ = w.Write([]string{strconv.FormatInt(r.ID, 10), r.TSLocal, r.TS.UTC().Format(time.RFC3339), r.Process, r.Procedure,
			r.SenderIK, r.ReceiverIK, r.InsurerIK, r.Code, r.Result, r.Class, r.FehlerNummern, strconv.Itoa(r.HTTPStatus),
			strconv.FormatBool(r.Sent), strconv.FormatInt(r.DurationMS, 10), r.InvoiceNumber})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return e.fail(exitUsage, "kasse protocol export: write: %v", err)
	}
	return exitOK
}

// redactErr keeps sealing failures generic.
func redactErr(err error) error {
	if errors.Is(err, billing.ErrSeal) {
		return billing.ErrSeal
	}
	return err
}
