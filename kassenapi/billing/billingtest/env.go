package billingtest

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/digakit/digakit/kassenapi"
	"github.com/digakit/digakit/kassenapi/billing"
	"github.com/digakit/digakit/kassenapi/kassenapitest"
	"github.com/digakit/digakit/kassenapi/xrechnung"
)

// Test data of the fake setup.
const (
	VEID        = "12345001" // DiGA-VE-ID priced in Catalog
	UnpricedVE  = "12345999" // a VE-ID without a price (needs_data)
	PrefixAPI   = "ZZ"       // insurer with Versandart 1 (API)
	PrefixEmail = "ZW"       // insurer with Versandart 2 (e-mail)
	PrefixPost  = "ZV"       // insurer with Versandart 3 (post)
	IKAPI       = "990000101"
)

// ServiceDay is the service day the fake insurer confirms.
var ServiceDay = kassenapi.MustDate("2026-03-02")

// Clock is a settable clock for tests; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Entries returns the directory of the fake setup: ZZ (API, with a postal
// address), ZW (e-mail), ZV (post).
func Entries() []kassenapi.Entry {
	es := kassenapitest.DefaultDirectoryEntries("zz.kasse.example/diga", "zu.kasse.example/diga")
	for i := range es {
		if es[i].Prefix == PrefixPost {
			es[i].Endpoint, es[i].CommunicationName = "zz.kasse.example/diga", "DIGA-FAKE-POST"
		}
		if es[i].Address.PostalCode == "" {
			es[i].Address = kassenapi.PostalAddress{Street: "Kassenweg", HouseNumber: "2", PostalCode: "20095", City: "Hamburg"}
		}
	}
	return es
}

// DirectoryXML renders Entries as an MVZ v3 file.
func DirectoryXML() []byte { return kassenapitest.DirectoryXML(Entries()) }

// Directory parses Entries.
func Directory(tb testing.TB) *kassenapi.Directory {
	tb.Helper()
	d, _, err := kassenapi.ParseDirectory(kassenapitest.DirectoryXML(Entries()))
	if err != nil {
		tb.Fatalf("billingtest: directory: %v", err)
	}
	return d
}

// Catalog prices VEID at 218.45 EUR net, 19 % VAT.
func Catalog() *xrechnung.Catalog {
	return &xrechnung.Catalog{Entries: []xrechnung.CatalogEntry{{
		VEID: VEID, Name: "Fake DiGA", From: xrechnung.NewDate(2020, 1, 1), NetCents: 21845, Tax: xrechnung.StandardVAT,
	}}}
}

// Seller is the fake manufacturer.
func Seller() xrechnung.Party {
	return xrechnung.Party{
		IK: kassenapitest.ManufacturerIK, Name: "Fake DiGA GmbH", VATID: "DE123456789",
		Contact: xrechnung.Contact{Name: "Erika Musterfrau", Phone: "+49 30 1234567", Email: "billing@example.com"},
		Address: xrechnung.Address{Street: "Musterstraße 1", Postcode: "10115", City: "Berlin"},
	}
}

// Keys returns fixed test digest keys (current "k1").
func Keys() billing.StaticKeys {
	return billing.StaticKeys{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef-k1")}}
}

// Sealer returns a sealer with a fixed test key.
func Sealer(tb testing.TB) billing.Sealer {
	s, err := billing.NewAESSealer("s1", map[string][]byte{"s1": []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Config returns a complete service configuration on the given stores
// with the fake insurer and clock.
func Config(tb testing.TB, b billing.BindingStore, bl billing.BillingStore, ins *Insurer, clock func() time.Time) billing.Config {
	dir := Directory(tb)
	return billing.Config{
		Checker: ins, Submitter: ins, Directory: kassenapi.StaticDirectory{D: dir},
		Bindings: b, Billing: bl, Keys: Keys(), Seal: Sealer(tb),
		Catalog: Catalog(), Seller: Seller(), Numbering: billing.Numbering{Prefix: "DG"},
		AllowTestCodes: true, TestPrefix: PrefixAPI, Clock: clock, PollLimit: 30 * time.Second,
	}
}

// NewCode returns a random valid Freischaltcode with prefix.
func NewCode(prefix string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	p := prefix + "A"
	for _, c := range b {
		p += string(alpha[int(c)%32])
	}
	c, err := kassenapi.CheckChar(p)
	if err != nil {
		panic(err)
	}
	return p + string(c)
}
