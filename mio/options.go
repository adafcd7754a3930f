package mio

import (
	"time"
	_ "time/tzdata" // Europe/Berlin without host zone data
)

// ProvenanceMode selects how Provenance resources are emitted.
type ProvenanceMode string

// Provenance modes.
const (
	// ProvenanceGrouped emits one Provenance per document and recording
	// actor (the default, as in KBV's complete examples).
	ProvenanceGrouped ProvenanceMode = "grouped"
	// ProvenancePerEntry emits one Provenance per entry.
	ProvenancePerEntry ProvenanceMode = "per-entry"
	// ProvenanceNone emits no Provenance.
	ProvenanceNone ProvenanceMode = "none"
)

// PartitionMode selects where documents are cut.
type PartitionMode string

// Partition modes.
const (
	// PartitionGreedy fills each document up to MaxBytes (the default).
	PartitionGreedy PartitionMode = "greedy"
	// PartitionCalendarMonth starts a new document at every calendar
	// month (in Options.Location) and splits inside a month only when
	// it exceeds MaxBytes; document periods then start on month starts.
	PartitionCalendarMonth PartitionMode = "calendar-month"
)

// DefaultMaxBytes is the default document size limit (spec §2.9): 25 MB
// ePA limit with a margin.
const DefaultMaxBytes = 24_000_000

// MinMaxBytes is the smallest accepted MaxBytes.
const MinMaxBytes = 65_536

// Options configures Build.
type Options struct {
	// Spec selects the MIO release; nil = DiGA110. Only releases known to
	// this package are accepted (ErrConfig otherwise).
	Spec *Spec
	// Namespace is the UUIDv5 name space of this DiGA installation;
	// required, generate once and keep forever.
	Namespace UUID
	// Clock returns the Bundle timestamp; nil means time.Now. It is read
	// once per Build.
	Clock func() time.Time
	// Location is the zone all times are rendered in; nil = Europe/Berlin.
	Location *time.Location
	// MaxBytes is the size limit per document; 0 = DefaultMaxBytes.
	MaxBytes int64
	// Provenance is the Provenance mode; "" = ProvenanceGrouped.
	Provenance ProvenanceMode
	// Partition is the split mode; "" = PartitionGreedy.
	Partition PartitionMode
	// Indent indents the XML (goldens); "" in production.
	Indent string
	// MaxClockSkew bounds entry times in the future; 0 = 5 minutes.
	MaxClockSkew time.Duration
	// LaxKVNR skips the KVNR check digit (the format is still checked).
	LaxKVNR bool
	// NoPlausibility switches off the project's plausibility ranges.
	NoPlausibility bool
}

type resolvedOptions struct {
	Options
	now time.Time
}

func resolveOptions(o Options, is *issues) resolvedOptions {
	r := resolvedOptions{Options: o}
	if r.Spec == nil {
		r.Spec = DiGA110
	} else if r.Spec != DiGA110 {
		is.add("Options.Spec", ErrConfig, "unknown MIO release")
	}
	if o.Namespace.IsZero() {
		is.add("Options.Namespace", ErrConfig, "namespace is required")
	}
	if r.Location == nil {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			loc = time.UTC
		}
		r.Location = loc
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = DefaultMaxBytes
	} else if r.MaxBytes < MinMaxBytes {
		is.add("Options.MaxBytes", ErrConfig, "must be at least %d", MinMaxBytes)
	}
	switch r.Provenance {
	case "":
		r.Provenance = ProvenanceGrouped
	case ProvenanceGrouped, ProvenancePerEntry, ProvenanceNone:
	default:
		is.add("Options.Provenance", ErrConfig, "unknown provenance mode")
	}
	switch r.Partition {
	case "":
		r.Partition = PartitionGreedy
	case PartitionGreedy, PartitionCalendarMonth:
	default:
		is.add("Options.Partition", ErrConfig, "unknown partition mode")
	}
	if r.MaxClockSkew == 0 {
		r.MaxClockSkew = 5 * time.Minute
	}
	if r.Clock != nil {
		r.now = r.Clock()
	} else {
		r.now = time.Now()
	}
	if r.now.IsZero() {
		is.add("Options.Clock", ErrConfig, "clock returned the zero time")
	}
	return r
}
