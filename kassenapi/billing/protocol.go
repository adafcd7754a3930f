package billing

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin without a system zone database

	"github.com/digakit/digakit/kassenapi"
)

// Processes of the protocol log (TA §4.4).
const (
	ProcessCheck   = "FSC" // Prüfung Freischaltcode/Rezeptcode
	ProcessInvoice = "RE"  // Abrechnung
)

// Results of the protocol log.
const (
	ResultOK    = "fehlerfrei"
	ResultError = "fehlerhaft"
)

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return l
}()

// LocalTimestamp formats t as yyyy-MM-dd HH:mm:ss in German time, the
// timestamp of the protocol log (TA §4.4, spec B3.8). The UTC instant
// stored next to it disambiguates the repeated autumn hour.
//
// REQ: GKV-TA:4.4
func LocalTimestamp(t time.Time) string {
	return t.In(berlin).Format(time.DateTime)
}

// Today returns the German civil day of t.
func Today(t time.Time) kassenapi.Date { return kassenapi.DateOf(t) }

// AuditEvent is the audit mirror of one protocol row (audit event
// billing_exchange): never the code or any XML.
type AuditEvent struct {
	ProtocolID    int64
	Process       string
	Procedure     string
	Result        string
	Class         string
	Sent          bool
	HTTPStatus    int
	FehlerNummern []int
	CodeID        string
	At            time.Time
}

// AuditSink receives protocol rows after the billing commit (refserver:
// audit.Log.Record). A repeat after a crash carries the same ProtocolID.
type AuditSink interface {
	RecordBillingExchange(ctx context.Context, e AuditEvent) error
}

// AuditEventOf converts a protocol row.
func AuditEventOf(p ProtocolEntry) AuditEvent {
	e := AuditEvent{ProtocolID: p.ID, Process: p.Process, Procedure: p.Procedure, Result: p.Result,
		Class: p.Class, Sent: p.Sent, HTTPStatus: p.HTTPStatus, CodeID: p.Digest.CodeID(), At: p.TS}
	for _, f := range strings.Split(p.FehlerNummern, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			e.FehlerNummern = append(e.FehlerNummern, n)
		}
	}
	return e
}

func joinInts(ns []int) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// protocolRows converts client exchanges into protocol rows.
func (s *Service) protocolRows(process string, exs []kassenapi.Exchange, d Digest, codeCT []byte, attempt, number string) []ProtocolEntry {
	out := make([]ProtocolEntry, 0, len(exs))
	for _, ex := range exs {
		at := ex.At
		if at.IsZero() {
			at = s.now()
		}
		res := ResultError
		if ex.OK && len(ex.FehlerNummern) == 0 && ex.Class == kassenapi.ClassNone {
			res = ResultOK
		}
		out = append(out, ProtocolEntry{
			TS: at.UTC(), TSLocal: LocalTimestamp(at), Process: process, Procedure: ex.Procedure,
			SenderIK: ex.SenderIK, ReceiverIK: ex.ReceiverIK, InsurerIK: ex.InsurerIK,
			CodeCT: codeCT, Digest: d, Result: res, Class: ex.Class.String(),
			FehlerNummern: joinInts(ex.FehlerNummern), HTTPStatus: ex.HTTPStatus, Sent: ex.Sent,
			DurationMS: ex.Duration.Milliseconds(), InvoiceNumber: number, AttemptID: attempt,
		})
	}
	return out
}

// exchangesOf returns the exchanges behind a client error; errors of
// other Checker/Submitter implementations may carry them with an
// Exchanges() method.
func exchangesOf(err error) []kassenapi.Exchange {
	if exs := kassenapi.ExchangesOf(err); len(exs) > 0 {
		return exs
	}
	var c interface{ Exchanges() []kassenapi.Exchange }
	if errors.As(err, &c) {
		return c.Exchanges()
	}
	return nil
}
