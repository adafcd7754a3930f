package kassenapi

import (
	"slices"
	"strconv"
)

// Field names of DirectoryDiff changes. The first five are the names of
// the CLI contract (digakit directory show/diff).
const (
	DiffFieldIK         = "ik"
	DiffFieldBillingIK  = "billingIK"
	DiffFieldClearingIK = "clearingIK"
	DiffFieldEndpoint   = "endpoint"
	DiffFieldDispatch   = "dispatch"
	DiffFieldName       = "name"
	DiffFieldInsolvent  = "insolvent"
	DiffFieldValidFrom  = "validFrom"
	DiffFieldValidUntil = "validUntil"
	DiffFieldSuccessor  = "successor"
)

// FieldChange is one changed field of a prefix.
type FieldChange struct {
	Prefix string
	Field  string // one of the DiffField constants
	Old    string
	New    string
}

// DirectoryDiff is the difference between two directory snapshots.
type DirectoryDiff struct {
	Added   []string      // prefixes only in the new snapshot, sorted
	Removed []string      // prefixes only in the old snapshot, sorted
	Changed []FieldChange // by prefix, then in the order of the DiffField constants
}

// Empty reports whether nothing differs.
func (d DirectoryDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// EndpointChanged returns the prefixes whose endpoint changed.
func (d DirectoryDiff) EndpointChanged() []string {
	var out []string
	for _, c := range d.Changed {
		if c.Field == DiffFieldEndpoint {
			out = append(out, c.Prefix)
		}
	}
	return out
}

// DiffDirectories compares two snapshots by prefix. For a prefix with
// several entries (merger history) the entry with the latest gueltig_ab
// (an open start counts as earliest) is compared. A nil Directory counts
// as empty. The endpoint compared is the normalised one, or the raw value
// when it is unusable.
func DiffDirectories(old, new *Directory) DirectoryDiff {
	o, n := dirLatestByPrefix(old), dirLatestByPrefix(new)
	var d DirectoryDiff
	for p := range n {
		if _, ok := o[p]; !ok {
			d.Added = append(d.Added, p)
		}
	}
	for p := range o {
		if _, ok := n[p]; !ok {
			d.Removed = append(d.Removed, p)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	var common []string
	for p := range o {
		if _, ok := n[p]; ok {
			common = append(common, p)
		}
	}
	slices.Sort(common)
	for _, p := range common {
		a, b := o[p], n[p]
		fa, fb := dirDiffFields(a), dirDiffFields(b)
		for i := range fa {
			if fa[i][1] != fb[i][1] {
				d.Changed = append(d.Changed, FieldChange{Prefix: p, Field: fa[i][0], Old: fa[i][1], New: fb[i][1]})
			}
		}
	}
	return d
}

func dirLatestByPrefix(d *Directory) map[string]Entry {
	m := map[string]Entry{}
	if d == nil {
		return m
	}
	for _, e := range d.entries {
		cur, ok := m[e.Prefix]
		if !ok || e.ValidFrom.After(cur.ValidFrom) {
			m[e.Prefix] = e
		}
	}
	return m
}

// DisplayEndpoint is the endpoint shown by the CLI and compared by
// DiffDirectories: the normalised value, or the raw value when unusable.
func (e Entry) DisplayEndpoint() string {
	if n := e.NormalizedEndpoint(); n != "" {
		return n
	}
	return e.Endpoint
}

func dirDiffFields(e Entry) [][2]string {
	return [][2]string{
		{DiffFieldIK, e.IK},
		{DiffFieldBillingIK, e.BillingIK},
		{DiffFieldClearingIK, e.ClearingIK},
		{DiffFieldEndpoint, e.DisplayEndpoint()},
		{DiffFieldDispatch, strconv.Itoa(int(e.Dispatch))},
		{DiffFieldName, e.Name},
		{DiffFieldInsolvent, strconv.FormatBool(e.Insolvent)},
		{DiffFieldValidFrom, e.ValidFrom.String()},
		{DiffFieldValidUntil, e.ValidUntil.String()},
		{DiffFieldSuccessor, e.SuccessorPrefix},
	}
}
