package kassenapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of Directory lookups (spec A2.4 "Mergers and insolvency", A4).
var (
	// ErrUnknownPrefix: no entry routes the Kostentraegerkuerzel on that day
	// (also after a successor cycle or more than 5 hops, see RouteError.Alert).
	ErrUnknownPrefix = errors.New("kassenapi: unknown kostentraegerkuerzel")
	// ErrInsurerInsolvent: the route ends at an insurer marked insolvenz="J".
	ErrInsurerInsolvent = errors.New("kassenapi: insurer is insolvent")
	// ErrNoElectronicEndpoint: the entry has no usable API endpoint (for
	// example the value "3"); Lookup still returns the entry so that queued
	// invoices can use its postal data.
	ErrNoElectronicEndpoint = errors.New("kassenapi: insurer has no electronic endpoint")
	// ErrDirectoryRejected: a directory file was rejected as a whole (not
	// XML or ZIP, wrong root or namespace, no usable entry). The concrete
	// error is a *DirectoryError.
	ErrDirectoryRejected = errors.New("kassenapi: directory file rejected")
	// ErrDirectoryUnavailable: no directory snapshot is available yet
	// (first start without network and without a last-known-good copy).
	// It is retryable.
	ErrDirectoryUnavailable = errors.New("kassenapi: no directory available")
)

// MaxSuccessorHops bounds the successor chain that Lookup follows.
const MaxSuccessorHops = 5

// Dispatch is the Versandart of an entry: the channel for invoices. Code
// checks always use the API (spec A2.4).
type Dispatch int

// Versandart values of the directory.
const (
	DispatchAPI   Dispatch = 1 // elektronisch via Schnittstelle
	DispatchEmail Dispatch = 2 // elektronisch via E-Mail
	DispatchPost  Dispatch = 3 // postalisch
)

// String returns "api", "email", "post" or the number.
func (d Dispatch) String() string {
	switch d {
	case DispatchAPI:
		return "api"
	case DispatchEmail:
		return "email"
	case DispatchPost:
		return "post"
	}
	return fmt.Sprintf("Dispatch(%d)", int(d))
}

// PostalAddress is the postal data of an entry (used with DispatchPost).
type PostalAddress struct {
	Addition    string // Postalische_Zusaetze
	Street      string // Strasse_Postfach
	HouseNumber string // Hausnummer_Postfachnummer
	PostalCode  string // PLZ
	City        string // Ort
}

// Complete reports whether street, number, postal code and city are set
// (the fields Versandart 3 requires).
func (a PostalAddress) Complete() bool {
	return a.Street != "" && a.HouseNumber != "" && a.PostalCode != "" && a.City != ""
}

// Entry is one Krankenkasseninformation of the endpoint directory, with
// texts trimmed. Entries are values; a Directory never changes after
// parsing.
type Entry struct {
	// Index is the 0-based position among the Krankenkasseninformation
	// elements of the file. Nummer is the positional xs:ID; never key on it.
	Index  int
	Nummer string

	Prefix     string // Kostentraegerkuerzel, 2 × [A-Z2-7]
	IK         string // Kostentraegerkennung: XML empfaenger, IK_Krankenkasse, invoice buyer
	Name       string // Name_des_Kostentraegers, trimmed
	BillingIK  string // IK_des_Rechnungsempfaengers
	ClearingIK string // IK_Abrechnungsstelle: HTTP ikempfaenger and CMS recipient

	CommunicationName string // Name_Kommunikationsstelle (optional)
	// Endpoint is Endpunkt_Kommunikationsstelle as in the file (trimmed).
	Endpoint string
	// URL is "https://" + normalised endpoint + "/diga"; "" when the
	// endpoint is unusable for the API (see ErrNoElectronicEndpoint).
	URL string

	Dispatch  Dispatch // Versandart
	Email     string   // EMail_Kostentraeger (invoices by e-mail)
	Address   PostalAddress
	TechPhone string // Kontaktdaten_Technisch_Telefon
	TechEmail string // Kontaktdaten_Technisch_EMail

	// v3 attributes. Zero dates are open bounds.
	Insolvent       bool
	ValidFrom       Date
	ValidUntil      Date
	SuccessorPrefix string // nachfolge_kostentraegerkuerzel
}

// HasAPI reports whether the entry has a usable API endpoint.
func (e Entry) HasAPI() bool { return e.URL != "" }

// NormalizedEndpoint is the endpoint as host[/path] after normalisation
// (scheme and trailing slash removed, host lower-case); "" if unusable.
func (e Entry) NormalizedEndpoint() string {
	s := strings.TrimPrefix(e.URL, "https://")
	return strings.TrimSuffix(s, "/diga")
}

// covers reports whether day lies in [ValidFrom, ValidUntil].
func (e Entry) covers(day Date) bool {
	if !e.ValidFrom.IsZero() && day.Before(e.ValidFrom) {
		return false
	}
	if !e.ValidUntil.IsZero() && day.After(e.ValidUntil) {
		return false
	}
	return true
}

// EntryProblem is one finding about one entry of a directory file. A fatal
// problem drops the entry; a non-fatal one keeps it (an unusable endpoint
// keeps the entry for postal data but makes it unusable for the API).
type EntryProblem struct {
	Index  int    // 0-based position among the Krankenkasseninformation elements
	Nummer string // the Nummer attribute, for humans only
	Prefix string // Kostentraegerkuerzel as found ("" if missing)
	Field  string // XML element or attribute name concerned
	Reason string // what is wrong
	Fatal  bool   // the entry was dropped
}

// Error formats the problem; it makes EntryProblem usable as an error.
func (p EntryProblem) Error() string {
	return fmt.Sprintf("kassenapi: directory entry %d (prefix %q): %s: %s", p.Index, p.Prefix, p.Field, p.Reason)
}

// DirectoryError rejects a whole directory file (spec A4). errors.Is(err,
// ErrDirectoryRejected) holds.
type DirectoryError struct {
	Reason   string         // e.g. "not XML or ZIP", "unknown root namespace"
	Problems []EntryProblem // entry problems when no entry was usable
	Err      error          // underlying cause, if any
}

// Error describes the rejection.
func (e *DirectoryError) Error() string {
	if e.Err != nil {
		return "kassenapi: directory file rejected: " + e.Reason + ": " + e.Err.Error()
	}
	return "kassenapi: directory file rejected: " + e.Reason
}

// Unwrap returns ErrDirectoryRejected and the cause.
func (e *DirectoryError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrDirectoryRejected, e.Err}
	}
	return []error{ErrDirectoryRejected}
}

// RouteError is the error of Directory.Lookup and Directory.Route. It wraps
// one of ErrUnknownPrefix, ErrInsurerInsolvent or ErrNoElectronicEndpoint.
type RouteError struct {
	Prefix string   // the prefix asked for
	Hops   []string // successor prefixes followed, in order
	Reason string   // human detail, e.g. "successor cycle"
	// Alert is set when the directory itself is inconsistent (successor
	// cycle, more than MaxSuccessorHops hops): operators should look.
	Alert bool
	Err   error
}

// Error describes the failed lookup; prefixes are not secret.
func (e *RouteError) Error() string {
	s := fmt.Sprintf("kassenapi: route for prefix %q", e.Prefix)
	if len(e.Hops) > 0 {
		s += " via " + strings.Join(e.Hops, ">")
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "kassenapi: ")
}

// Unwrap returns the sentinel.
func (e *RouteError) Unwrap() error { return e.Err }

// Route is the result of resolving a prefix: the entry reached and the
// successor prefixes followed to get there.
type Route struct {
	Entry Entry
	Hops  []string
}

// Directory is an immutable snapshot of the endpoint directory (MVZ). It
// is safe for concurrent use. Build one with ParseDirectory. A nil
// *Directory (an updater without a snapshot) is empty: Lookup returns
// ErrDirectoryUnavailable.
type Directory struct {
	version  int     // 2 or 3
	entries  []Entry // every entry without a fatal problem, file order
	byPrefix map[string][]int
	problems []EntryProblem
	warnings []string
	digest   string
	size     int // number of Krankenkasseninformation elements in the file
}

// Version is the schema version of the file: 3 or 2.
func (d *Directory) Version() int {
	if d == nil {
		return 0
	}
	return d.version
}

// Len is the number of kept entries (without fatal problems).
func (d *Directory) Len() int {
	if d == nil {
		return 0
	}
	return len(d.entries)
}

// Usable is the number of kept entries with a usable API endpoint.
func (d *Directory) Usable() int {
	if d == nil {
		return 0
	}
	n := 0
	for _, e := range d.entries {
		if e.HasAPI() {
			n++
		}
	}
	return n
}

// FileEntries is the number of Krankenkasseninformation elements in the
// file, including dropped ones.
func (d *Directory) FileEntries() int {
	if d == nil {
		return 0
	}
	return d.size
}

// Entries returns a copy of the kept entries in file order.
func (d *Directory) Entries() []Entry {
	if d == nil {
		return nil
	}
	return slices.Clone(d.entries)
}

// Problems returns a copy of the entry problems found while parsing.
func (d *Directory) Problems() []EntryProblem {
	if d == nil {
		return nil
	}
	return slices.Clone(d.problems)
}

// Warnings returns file-level warnings (namespace mismatch, recoded
// encoding, stripped https:// ...).
func (d *Directory) Warnings() []string {
	if d == nil {
		return nil
	}
	return slices.Clone(d.warnings)
}

// Digest is the hex SHA-256 of the canonical entry list: it changes when an
// entry changes, not when only white space or the order of elements does.
func (d *Directory) Digest() string {
	if d == nil {
		return ""
	}
	return d.digest
}

// Prefixes returns the distinct prefixes of the kept entries, sorted.
func (d *Directory) Prefixes() []string {
	if d == nil {
		return nil
	}
	out := make([]string, 0, len(d.byPrefix))
	for p := range d.byPrefix {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Lookup resolves prefix on day (use DateOf(now) for today) and returns the
// insurer entry to talk to, following mergers (spec A2.4):
//
//  1. take the entries for prefix whose [ValidFrom, ValidUntil] covers day;
//  2. if one is found and not insolvent, route to it;
//  3. otherwise, if an entry with ValidUntil before day names a successor,
//     resolve the successor for the same day (at most MaxSuccessorHops
//     hops; cycles are detected);
//  4. an insolvent entry reached gives ErrInsurerInsolvent;
//  5. nothing found gives ErrUnknownPrefix.
//
// An entry without a usable endpoint is returned together with
// ErrNoElectronicEndpoint. Errors are *RouteError. The lookup is
// case-sensitive (spec A2.1).
//
// REQ: kassenapi-spec:A2.4
func (d *Directory) Lookup(prefix string, day Date) (Entry, error) {
	r, err := d.Route(prefix, day)
	return r.Entry, err
}

// Route is Lookup that also reports the successor hops followed.
func (d *Directory) Route(prefix string, day Date) (Route, error) {
	var hops []string
	seen := map[string]bool{}
	cur := prefix
	fail := func(e Entry, sentinel error, reason string, alert bool) (Route, error) {
		return Route{Entry: e, Hops: hops}, &RouteError{Prefix: prefix, Hops: slices.Clone(hops), Reason: reason, Alert: alert, Err: sentinel}
	}
	for {
		if d == nil {
			return Route{}, &RouteError{Prefix: prefix, Err: ErrDirectoryUnavailable}
		}
		seen[cur] = true
		idx := d.byPrefix[cur]
		var covering, expired *Entry
		for _, i := range idx {
			e := &d.entries[i]
			if e.covers(day) {
				covering = e
				break
			}
			if !e.ValidUntil.IsZero() && e.ValidUntil.Before(day) {
				if expired == nil || e.ValidUntil.After(expired.ValidUntil) {
					expired = e
				}
			}
		}
		switch {
		case covering != nil && covering.Insolvent:
			return fail(*covering, ErrInsurerInsolvent, "", false)
		case covering != nil && !covering.HasAPI():
			return fail(*covering, ErrNoElectronicEndpoint, "", false)
		case covering != nil:
			return Route{Entry: *covering, Hops: hops}, nil
		case expired != nil && expired.SuccessorPrefix != "":
			next := expired.SuccessorPrefix
			if seen[next] {
				hops = append(hops, next)
				return fail(Entry{}, ErrUnknownPrefix, "successor cycle", true)
			}
			if len(hops) >= MaxSuccessorHops {
				return fail(Entry{}, ErrUnknownPrefix, fmt.Sprintf("more than %d successor hops", MaxSuccessorHops), true)
			}
			hops = append(hops, next)
			cur = next
		case expired != nil && expired.Insolvent:
			return fail(*expired, ErrInsurerInsolvent, "validity ended "+expired.ValidUntil.String(), false)
		case expired != nil:
			return fail(Entry{}, ErrUnknownPrefix, "validity ended "+expired.ValidUntil.String()+" without successor", false)
		case len(idx) > 0:
			return fail(Entry{}, ErrUnknownPrefix, "not valid on "+day.String(), false)
		default:
			return fail(Entry{}, ErrUnknownPrefix, "", false)
		}
	}
}
