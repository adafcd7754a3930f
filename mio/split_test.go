package mio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/digakit/digakit/mio/miotest"
)

var berlin, _ = time.LoadLocation("Europe/Berlin")

// glucoseExport returns n glucose values every 5 minutes from 2024-04-01.
func glucoseExport(n int) (Export, Options) {
	start := time.Date(2024, 4, 1, 0, 0, 0, 0, berlin)
	x := Export{
		ExportID: "export-glucose",
		Patient:  Patient{SourceID: "p-1", KVNR: "X110411319"},
		DiGA:     DiGA{VEID: "12345678", PZN: "12345678", Name: "Beispiel-DiGA"},
		Period:   Period{Start: start, End: start.Add(time.Duration(n) * 5 * time.Minute)},
		Created:  start.Add(time.Duration(n) * 5 * time.Minute),
	}
	for i := 0; i < n; i++ {
		v, _ := DecimalFromFloat(80+float64(i%90), 1)
		x.Entries = append(x.Entries, &Glucose{Common: Common{SourceID: fmt.Sprintf("g-%d", i)},
			Effective: start.Add(time.Duration(i) * 5 * time.Minute), Value: v, Unit: "mg/dL"})
	}
	o := Options{Namespace: testNS, Clock: func() time.Time { return x.Created.Add(time.Hour) }}
	return x, o
}

var fullURLRe = regexp.MustCompile(`<fullUrl value="urn:uuid:([0-9a-f-]{36})">`)

func TestSplit(t *testing.T) {
	x, o := glucoseExport(800)
	o.MaxBytes = 150_000
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 3 {
		t.Fatalf("want several documents, got %d", len(docs))
	}
	seen := map[string]int{}
	for i, d := range docs {
		b, err := d.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != d.Size || d.Size > o.MaxBytes || d.Metadata.Size != d.Size {
			t.Fatalf("doc %d: size %d planned %d limit %d", i, len(b), d.Size, o.MaxBytes)
		}
		if d.Index != i || d.Count != len(docs) {
			t.Fatal("index/count")
		}
		if i == 0 && !d.Period.Start.Equal(x.Period.Start) || i == len(docs)-1 && !d.Period.End.Equal(x.Period.End) {
			t.Fatal("periods do not cover the export period")
		}
		if i > 0 && !docs[i-1].Period.End.Equal(d.Period.Start) {
			t.Fatalf("periods not contiguous at %d", i)
		}
		if !d.Period.Start.Before(d.Period.End) {
			t.Fatal("empty period")
		}
		m := fullURLRe.FindAllSubmatch(b, -1)
		if len(m) != d.Entries {
			t.Fatalf("doc %d: %d entries, Entries says %d", i, len(m), d.Entries)
		}
		for _, s := range m {
			seen[string(s[1])]++
		}
		if d.Metadata.FormatCode.Code != "urn:gematik:ig:diga:v1.1" || d.Metadata.MimeType != "application/fhir+xml" ||
			!d.Metadata.ServiceStart.Equal(d.Period.Start) || d.Metadata.ClassCode.Code != "DUR" || d.Metadata.TypeCode.Code != "PATD" {
			t.Fatalf("metadata %+v", d.Metadata)
		}
		if i == 0 || i == len(docs)-1 {
			miotest.CheckSchema(t, b)
		}
	}
	for i := range x.Entries {
		id := NewUUIDv5(testNS, fmt.Sprintf("glucose/g-%d", i)).String()
		if seen[id] != 1 {
			t.Fatalf("entry %d appears %d times", i, seen[id])
		}
	}
	// Patient repeats in every document.
	if seen[NewUUIDv5(testNS, "patient/p-1").String()] != len(docs) {
		t.Fatal("patient not in every document")
	}
}

// TestSplitGolden pins a three-document split.
func TestSplitGolden(t *testing.T) {
	x, o := glucoseExport(50)
	o.MaxBytes = MinMaxBytes
	o.Indent = "  "
	docs := buildAll(t, x, o)
	if len(docs) != 3 {
		t.Fatalf("want 3 documents, got %d", len(docs))
	}
	for i, b := range docs {
		compareGolden(t, fmt.Sprintf("testdata/golden/split-%d.xml", i), b)
	}
	miotest.CheckSchema(t, docs[1])
}

func TestSplitLimits(t *testing.T) {
	x, o := glucoseExport(10)
	o.MaxBytes = MinMaxBytes
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 70_000)...)
	x.Entries = append(x.Entries, &Attachment{Common: Common{SourceID: "big"}, Title: "gross", ContentType: "application/pdf",
		Data: pdf, Created: x.Period.Start.Add(time.Minute)})
	_, err := Build(context.Background(), x, o)
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrEntryTooLarge) || ve.Issues[0].Path != "Entries[10](Attachment)" {
		t.Fatalf("want ErrEntryTooLarge, got %v", err)
	}

	// An attachment that exactly fills the space left by the overhead
	// fits; one byte more does not.
	x, o = glucoseExport(1)
	o.MaxBytes = MinMaxBytes * 2
	mk := func(n int) Export {
		y := x
		y.Entries = []Entry{x.Entries[0], &Attachment{Common: Common{SourceID: "a"}, Title: "t", ContentType: "text/plain",
			Data: bytes.Repeat([]byte("y"), n), Created: x.Period.Start}}
		return y
	}
	// Find the largest size that still builds.
	lo, hi := 1000, 200_000
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if _, err := Build(context.Background(), mk(mid), o); err == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	docs, err := Build(context.Background(), mk(lo), o)
	if err != nil || len(docs) != 1 || docs[0].Size > o.MaxBytes {
		t.Fatalf("at the limit: %v", err)
	}
	if o.MaxBytes-docs[0].Size > 200 {
		t.Fatalf("planner too pessimistic: %d bytes left", o.MaxBytes-docs[0].Size)
	}
	if _, err := Build(context.Background(), mk(lo+3), o); !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

// TestSplitSameTimeKey keeps entries with identical times together.
func TestSplitSameTimeKey(t *testing.T) {
	x, o := glucoseExport(600)
	for i, e := range x.Entries {
		e.(*Glucose).Effective = x.Period.Start.Add(time.Duration(i/50) * time.Hour)
	}
	o.MaxBytes = 150_000
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs[1:] {
		if d.Period.Start.Sub(x.Period.Start)%time.Hour != 0 {
			t.Fatal("cut inside a run of identical time keys")
		}
	}
}

type failWriter struct{ left int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n := f.left
		f.left = 0
		return n, errors.New("disk full")
	}
	f.left -= len(p)
	return len(p), nil
}

func TestWriteFailuresAndCancel(t *testing.T) {
	x, o := loadExport(t, "complete.json")
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	want, _ := d.Bytes()
	for _, n := range []int{0, 1, 100, 4096, 65536, len(want) - 1} {
		_, err := d.WriteTo(&failWriter{left: n})
		if err == nil {
			t.Fatalf("n=%d: no error", n)
		}
	}
	got, err := d.Bytes()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatal("WriteTo after a failure differs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.WriteToContext(ctx, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	if _, err := Build(ctx, x, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v", err)
	}
}

func TestConcurrentWrite(t *testing.T) {
	x, o := glucoseExport(200)
	o.MaxBytes = MinMaxBytes
	docs, err := Build(context.Background(), x, o)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(docs))
	for _, d := range docs {
		go func() {
			n, err := d.WriteTo(io.Discard)
			if err == nil && n != d.Size {
				err = fmt.Errorf("size")
			}
			errs <- err
		}()
	}
	for range docs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// peakHeap samples the heap while fn runs. GOGC is lowered meanwhile so
// that the samples approximate the live heap rather than GC pacing.
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		peak := base
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak {
				peak = ms.HeapAlloc
			}
			select {
			case <-done:
				result <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	peak := <-result
	if peak < base {
		return 0
	}
	return peak - base
}

// genSource generates glucose values on the fly (nothing is retained).
type genSource struct {
	n     int
	start time.Time
}

func (g genSource) Each(ctx context.Context, fn func(Entry) error) error {
	for i := 0; i < g.n; i++ {
		v, _ := DecimalFromFloat(80+float64(i%90), 1)
		if err := fn(&Glucose{Common: Common{SourceID: fmt.Sprintf("g-%d", i)},
			Effective: g.start.Add(time.Duration(i) * 5 * time.Minute), Value: v, Unit: "mg/dL"}); err != nil {
			return err
		}
	}
	return nil
}

// TestStreamingMemory: with a streaming source the peak heap of Build +
// WriteTo stays far below the size of the documents (plan records only).
func TestStreamingMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("memory figures are meaningless under -short/-race")
	}
	x, o := glucoseExport(0)
	const n = 40_000
	x.Period.End = x.Period.Start.Add(n * 5 * time.Minute)
	x.Created = x.Period.End
	o.Clock = func() time.Time { return x.Created.Add(time.Hour) }
	x.Source = genSource{n: n, start: x.Period.Start}
	var size, total int64
	var docs []*Document
	peak := peakHeap(func() {
		var err error
		docs, err = Build(context.Background(), x, o)
		if err != nil {
			t.Error(err)
			return
		}
		for _, d := range docs {
			n, err := d.WriteTo(io.Discard)
			if err != nil {
				t.Error(err)
			}
			size = max(size, n)
			total += n
		}
	})
	t.Logf("%d documents, %d bytes in all, largest %d bytes, peak heap growth %d bytes", len(docs), total, size, peak)
	if len(docs) < 2 {
		t.Fatal("want a split")
	}
	// Issue target: peak ≤ 2× the largest document; spec §3.7 aims at
	// plan records only (< 64 MiB for 100,000 entries, about 670 bytes
	// each); the sampled heap also holds garbage, hence 1000 bytes here.
	if peak > 2*uint64(size) || peak > 1000*n {
		t.Fatalf("peak heap %d: largest document %d, %d entries", peak, size, n)
	}
}
