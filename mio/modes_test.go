package mio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/digakit/digakit/mio/miotest"
)

func checkNoFindings(t *testing.T, doc []byte) {
	t.Helper()
	if c := fuzzChecker(); c != nil {
		if f := c.Check(bytes.NewReader(doc)); len(f) > 0 {
			t.Fatalf("miocheck findings: %v", f)
		}
	}
}

func TestProvenancePerEntry(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	o.Provenance = ProvenancePerEntry
	docs := buildAll(t, x, o)
	if len(docs) != 1 {
		t.Fatal("want one document")
	}
	n := bytes.Count(docs[0], []byte("KBV_PR_MIO_DIGA_Provenance|1.1.0"))
	// every entry except the attachment gets its own Provenance
	if n != len(x.Entries)-1 {
		t.Fatalf("%d Provenance resources for %d entries", n, len(x.Entries))
	}
	checkNoFindings(t, docs[0])
	miotest.CheckSchema(t, docs[0])

	o.Provenance = ProvenanceNone
	docs = buildAll(t, x, o)
	if bytes.Contains(docs[0], []byte("KBV_PR_MIO_DIGA_Provenance")) {
		t.Fatal("ProvenanceNone emitted a Provenance")
	}
	checkNoFindings(t, docs[0])
}

// TestPartitionCalendarMonth: a new document at every month start in
// Europe/Berlin (DST months included), splitting inside a month only when
// it exceeds MaxBytes.
func TestPartitionCalendarMonth(t *testing.T) {
	start := time.Date(2024, 2, 20, 0, 0, 0, 0, berlin)
	x, o := glucoseExport(0)
	x.Period = Period{Start: start, End: time.Date(2024, 11, 5, 0, 0, 0, 0, berlin)}
	x.Created = x.Period.End
	o.Clock = func() time.Time { return x.Created }
	for i := 0; i < 240; i++ {
		x.Entries = append(x.Entries, &Glucose{Common: Common{SourceID: "g-" + time.Duration(i).String()},
			Effective: start.Add(time.Duration(i) * 25 * time.Hour), Value: MustDecimal("99"), Unit: "mg/dL"})
	}
	o.Partition = PartitionCalendarMonth
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 9 { // Feb..Oct
		t.Fatalf("want 9 monthly documents, got %d", len(docs))
	}
	for i, d := range docs {
		if i > 0 {
			s := d.Period.Start.In(berlin)
			if s.Day() != 1 || s.Hour() != 0 || s.Minute() != 0 || !docs[i-1].Period.End.Equal(d.Period.Start) {
				t.Fatalf("doc %d starts at %v", i, s)
			}
		}
		if i == 1 || i == 7 { // March (DST start), September
			b, _ := d.Bytes()
			checkNoFindings(t, b)
		}
	}
	if !strings.HasPrefix(docs[2].Period.Start.In(berlin).Format(time.RFC3339), "2024-04-01T00:00:00+02:00") {
		t.Fatalf("April starts at %v", docs[2].Period.Start.In(berlin))
	}
	// Inside a month the size limit still splits.
	o.MaxBytes = MinMaxBytes
	docs2, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs2) <= len(docs) {
		t.Fatalf("small MaxBytes did not split inside months: %d", len(docs2))
	}
	for _, d := range docs2 {
		if d.Size > o.MaxBytes {
			t.Fatal("document over the limit")
		}
	}
	o.Partition = "weekly"
	if err := Validate(x, o); err == nil {
		t.Fatal("unknown partition mode accepted")
	}
}

type sliceSource struct {
	entries []Entry
	err     error
	calls   *int
	mutate  func(call int, entries []Entry) []Entry
}

func (s sliceSource) Each(ctx context.Context, fn func(Entry) error) error {
	if s.err != nil {
		return s.err
	}
	entries := s.entries
	if s.calls != nil {
		*s.calls++
		if s.mutate != nil {
			entries = s.mutate(*s.calls, entries)
		}
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// TestEntrySource: with Export.Source the entries are not kept; WriteTo
// re-reads the source and writes them in source order.
func TestEntrySource(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	o.Indent = ""
	want, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	y := x
	calls := 0
	y.Source, y.Entries = sliceSource{entries: x.Entries, calls: &calls}, nil
	docs, err := Build(context.Background(), y, o)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("planning read the source %d times", calls)
	}
	b, err := docs[0].Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Size != want[0].Size || int64(len(b)) != docs[0].Size || docs[0].Entries != want[0].Entries {
		t.Fatal("source and slice plans differ")
	}
	checkNoFindings(t, b)
	wb, _ := want[0].Bytes()
	comp := func(doc []byte) string { s := string(doc); return s[:strings.Index(s, "<Patient>")] }
	if comp(b) != comp(wb) {
		t.Fatal("Composition differs between source and slice input")
	}

	y.Entries = x.Entries
	if _, err := Build(context.Background(), y, o); !errors.Is(err, ErrConfig) {
		t.Fatalf("both Entries and Source: %v", err)
	}
	boom := errors.New("cursor closed")
	if _, err := Build(context.Background(), Export{Source: sliceSource{err: boom}}, o); !errors.Is(err, boom) {
		t.Fatalf("source error not wrapped: %v", err)
	}
}

func TestEntrySourceChanged(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	changed := func(name string, mutate func([]Entry) []Entry, atCall int) {
		t.Helper()
		calls := 0
		y := x
		y.Entries = nil
		y.Source = sliceSource{entries: x.Entries, calls: &calls, mutate: func(call int, es []Entry) []Entry {
			if call >= atCall {
				return mutate(es)
			}
			return es
		}}
		docs, err := Build(context.Background(), y, o)
		if atCall == 2 {
			if !errors.Is(err, ErrSourceChanged) {
				t.Fatalf("%s during planning: %v", name, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := docs[0].WriteTo(io.Discard); !errors.Is(err, ErrSourceChanged) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	shorter := func(es []Entry) []Entry { return es[:len(es)-1] }
	longer := func(es []Entry) []Entry { return append(append([]Entry(nil), es...), es[0]) }
	value := func(es []Entry) []Entry {
		out := append([]Entry(nil), es...)
		w := *out[0].(*BodyWeight)
		w.Value = MustDecimal("72.555")
		out[0] = &w
		return out
	}
	swapped := func(es []Entry) []Entry {
		out := append([]Entry(nil), es...)
		out[0], out[1] = out[1], out[0]
		return out
	}
	for _, at := range []int{2, 3} {
		changed("shorter", shorter, at)
		changed("longer", longer, at)
		changed("swapped", swapped, at)
	}
	changed("value", value, 3)
}

func TestSpecRegistry(t *testing.T) {
	x, o := loadExport(t, "minimal.json")
	if !DiGA110.Supports(KindBodyWeight) || DiGA110.Supports("horoscope") || DiGA110.Version != "1.1.0" {
		t.Fatal("DiGA110 table")
	}
	o.Spec = DiGA110
	if err := Validate(x, o); err != nil {
		t.Fatal(err)
	}
	o.Spec = &Spec{Version: "1.2.0"}
	if err := Validate(x, o); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown release: %v", err)
	}
}

func TestSectionsAndMeta(t *testing.T) {
	x, o := loadExport(t, "minimal.json")
	w := x.Entries[0].(*BodyWeight)
	w.Revision = 3
	w.LastModified = time.Date(2024, 4, 20, 8, 0, 0, 0, berlin)
	doc := string(buildAll(t, x, o)[0])
	if n := strings.Count(doc, "<section>"); n != 2 { // Befunde + vital sub-section only
		t.Fatalf("%d sections; empty sections must be omitted", n)
	}
	if !strings.Contains(doc, `<versionId value="3">`) || !strings.Contains(doc, `<lastUpdated value="2024-04-20T08:00:00+02:00">`) {
		t.Fatal("Revision/LastModified not in meta")
	}
	if strings.Index(doc, "<Composition>") > strings.Index(doc, "<Patient>") {
		t.Fatal("Composition not first")
	}
	if strings.Count(doc, "<versionId") != strings.Count(doc, "<lastUpdated") || strings.Count(doc, "<versionId") != strings.Count(doc, "<meta>") {
		t.Fatal("a resource lacks versionId or lastUpdated")
	}
}
