package audit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Failure kinds reported by Verify (spec §3.9).
const (
	KindSeqGap             = "seq_gap"
	KindSeqDuplicate       = "seq_duplicate"
	KindNonCanonical       = "non_canonical_leaf"
	KindColumnMismatch     = "column_mismatch"
	KindPositionMismatch   = "position_mismatch"
	KindLeafHashMismatch   = "leaf_hash_mismatch"
	KindRootMismatch       = "root_mismatch"
	KindTSOrder            = "ts_order"
	KindHeadMismatch       = "head_mismatch"
	KindSignatureInvalid   = "checkpoint_signature_invalid"
	KindCheckpointRoot     = "checkpoint_root_mismatch"
	KindTruncated          = "truncated"
	KindMissingLocally     = "checkpoint_missing_locally"
	KindSegmentLink        = "segment_link_mismatch"
	KindUnjustifiedGap     = "unjustified_gap"
	WarningNoTrustedKey    = "no_trusted_key"
	WarningNoExternal      = "no_external_evidence"
	verifyPage             = 5000
	defaultVerifyBatchSize = verifyPage
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Verifiers are the trusted checkpoint keys; without any, signatures
	// are not checked and the report carries the warning no_trusted_key.
	Verifiers []note.Verifier
	// External holds the shipped checkpoint copies (ReadCheckpointDir);
	// without them, tail truncation cannot be detected (warning
	// no_external_evidence).
	External []SignedCheckpoint
	// OriginPrefix, when set, is checked against checkpoint origins.
	OriginPrefix string
	// Log and Seg restrict the scope when set.
	Log, Seg string
}

// VerifyFailure is the first failure of a segment.
type VerifyFailure struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
}

// SegmentReport is the verification result of one segment.
type SegmentReport struct {
	Log     string         `json:"log"`
	Seg     string         `json:"seg"`
	State   string         `json:"state"`
	Size    uint64         `json:"size"`
	Failure *VerifyFailure `json:"failure"`
}

// Report is the result of Verify; its first four JSON members are the CLI
// contract {"ok","events","firstBad","reason"}.
type Report struct {
	OK         bool            `json:"ok"`
	Events     int64           `json:"events"`
	FirstBad   *int64          `json:"firstBad"`
	Reason     *string         `json:"reason"`
	Segments   []SegmentReport `json:"segments"`
	Warnings   []string        `json:"warnings"`
	DurationMS int64           `json:"duration_ms"`
}

// Verify checks a store read-only (spec §3.9): per segment the rows (seq
// contiguous, canonical leaf, columns equal to the leaf, position, leaf
// hash, running root, ts order), the head row, local and external signed
// checkpoints, and the segment chain including dropped segments. Events
// are numbered in verification order (logs by name, segments in opening
// order, rows by seq); Report.FirstBad is the number of the earliest
// failing event. The error is non-nil only for I/O failures.
//
// REQ: ASVS5:16.4.2, audit-spec:3.9
func Verify(ctx context.Context, src Store, opt VerifyOptions) (Report, error) {
	start := time.Now()
	rep := Report{Segments: []SegmentReport{}, Warnings: []string{}}
	if len(opt.Verifiers) == 0 {
		rep.Warnings = append(rep.Warnings, WarningNoTrustedKey)
	}
	if len(opt.External) == 0 {
		rep.Warnings = append(rep.Warnings, WarningNoExternal)
	}
	logs, err := src.Logs(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	var bad *int64
	var reason string
	fail := func(sr *SegmentReport, n int64, seq uint64, kind string) {
		if sr.Failure == nil {
			sr.Failure = &VerifyFailure{Seq: seq, Kind: kind}
		}
		if bad == nil || n < *bad {
			v := n
			bad = &v
			reason = kind
		}
	}
	for _, log := range logs {
		if opt.Log != "" && log != opt.Log {
			continue
		}
		segs, err := src.Segments(ctx, log)
		if err != nil {
			return rep, fmt.Errorf("audit: verify: %w", err)
		}
		dropEvents := map[string]string{} // seg -> "size/root" from audit_segment_dropped
		type pending struct {
			idx  int
			seg  Segment
			base int64
		}
		var dropped []pending
		var prev *Segment
		for _, s := range segs {
			s := s
			if opt.Seg != "" && s.Seg != opt.Seg {
				prev = &s
				continue
			}
			rep.Segments = append(rep.Segments, SegmentReport{Log: log, Seg: s.Seg, State: s.State, Size: s.Size})
			sr := &rep.Segments[len(rep.Segments)-1]
			base := rep.Events
			if s.State == SegDropped {
				dropped = append(dropped, pending{len(rep.Segments) - 1, s, base})
				prev = &s
				continue
			}
			n, err := verifySegment(ctx, src, opt, s, prev, base, sr, fail, dropEvents)
			if err != nil {
				return rep, err
			}
			rep.Events += n
			prev = &s
		}
		for _, d := range dropped {
			want := fmt.Sprintf("%d/%s", d.seg.Size, b64(d.seg.Root))
			if dropEvents[d.seg.Seg] != want {
				fail(&rep.Segments[d.idx], d.base, 0, KindUnjustifiedGap)
			}
		}
	}
	rep.FirstBad = bad
	if bad != nil {
		rep.Reason = &reason
	}
	rep.OK = bad == nil
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, nil
}

// frontier is the verifier's own RFC 6962 running-root computation
// (independent of the tlog code used when appending): the roots of the
// perfect subtrees of the binary decomposition of the size, largest first.
type frontier struct {
	nodes []tlog.Hash
	size  uint64
}

// push appends a leaf hash and returns the root of the new tree.
func (f *frontier) push(leaf tlog.Hash) tlog.Hash {
	v := leaf
	for k := f.size; k&1 == 1; k >>= 1 {
		v = tlog.NodeHash(f.nodes[len(f.nodes)-1], v)
		f.nodes = f.nodes[:len(f.nodes)-1]
	}
	f.nodes = append(f.nodes, v)
	f.size++
	r := f.nodes[len(f.nodes)-1]
	for i := len(f.nodes) - 2; i >= 0; i-- {
		r = tlog.NodeHash(f.nodes[i], r)
	}
	return r
}

func verifySegment(ctx context.Context, src Store, opt VerifyOptions, s Segment, prev *Segment, base int64,
	sr *SegmentReport, fail func(*SegmentReport, int64, uint64, string), dropEvents map[string]string) (int64, error) {
	locals, err := src.Checkpoints(ctx, s.Log, s.Seg)
	if err != nil {
		return 0, fmt.Errorf("audit: verify: %w", err)
	}
	var externals []SignedCheckpoint
	for _, c := range opt.External {
		if c.Log == s.Log && c.Seg == s.Seg {
			externals = append(externals, c)
		}
	}
	need := map[uint64]bool{}
	for _, c := range locals {
		need[c.Size] = true
	}
	for _, c := range externals {
		need[c.Size] = true
	}
	roots := map[uint64]tlog.Hash{0: tlog.Hash(emptyRoot)}
	var fr frontier
	var expected uint64
	var lastTS string
	var lastRoot tlog.Hash
	broken := false
	var n int64
	pages, stop := prefetch(ctx, src, s.Log, s.Seg)
	defer stop()
	for pg := range pages {
		if pg.err != nil {
			return 0, fmt.Errorf("audit: verify: %w", pg.err)
		}
		recs := pg.recs
		for i := range recs {
			r := &recs[i]
			n++
			if broken {
				continue
			}
			at := base + int64(expected)
			if r.Seq != expected {
				kind := KindSeqGap
				if r.Seq < expected {
					kind = KindSeqDuplicate
				}
				fail(sr, at, expected, kind)
				broken = true
				continue
			}
			// The strict decoder accepts exactly the canonical encoding
			// (decode then encode reproduces the input; FuzzDecodeCanonical
			// checks this), so no re-encoding is needed here.
			m, err := pg.leaves[i], pg.errs[i]
			if err != nil {
				fail(sr, at, expected, KindNonCanonical)
				broken = true
				continue
			}
			if !columnsMatch(r, m) {
				fail(sr, at, expected, KindColumnMismatch)
				broken = true
				continue
			}
			if seq, _ := m["seq"].(int64); seq != int64(expected) || m["seg"] != s.Seg || m["log"] != s.Log {
				fail(sr, at, expected, KindPositionMismatch)
				broken = true
				continue
			}
			lh := tlog.RecordHash(r.Leaf)
			if !bytes.Equal(lh[:], r.LeafHash) {
				fail(sr, at, expected, KindLeafHashMismatch)
				broken = true
				continue
			}
			root := fr.push(lh)
			if !bytes.Equal(root[:], r.Root) {
				fail(sr, at, expected, KindRootMismatch)
				broken = true
				continue
			}
			if r.TS < lastTS {
				fail(sr, at, expected, KindTSOrder)
				broken = true
				continue
			}
			if expected == 0 && prev != nil {
				if !linkMatches(m, prev) {
					fail(sr, base, 0, KindSegmentLink)
					broken = true
					continue
				}
			}
			if m["type"] == string(AuditSegmentDropped) {
				if a, ok := m["attrs"].(map[string]any); ok {
					seg, _ := a["seg"].(string)
					size, _ := a["size"].(int64)
					root, _ := a["root"].(string)
					dropEvents[seg] = fmt.Sprintf("%d/%s", size, root)
				}
			}
			lastTS = r.TS
			lastRoot = root
			expected++
			if need[expected] {
				roots[expected] = root
			}
		}
	}
	if broken {
		return n, nil
	}
	if expected == 0 && prev != nil && s.Size == 0 {
		// An empty successor segment has no link leaf yet.
	} else if expected == 0 && prev != nil {
		fail(sr, base, 0, KindSegmentLink)
		return n, nil
	}
	if s.Size != expected || (expected > 0 && !bytes.Equal(s.Root, lastRoot[:])) {
		fail(sr, base+int64(min(s.Size, expected)), min(s.Size, expected), KindHeadMismatch)
		return n, nil
	}
	origin := ""
	if opt.OriginPrefix != "" {
		origin = opt.OriginPrefix + "/" + s.Log + "/" + s.Seg
	}
	check := func(c SignedCheckpoint) string {
		var cp Checkpoint
		var err error
		if len(opt.Verifiers) > 0 {
			cp, err = OpenCheckpoint(c.Note, opt.Verifiers)
		} else {
			cp, err = ParseCheckpoint(c.Note)
		}
		if err != nil {
			return KindSignatureInvalid
		}
		if cp.Size != c.Size || (origin != "" && cp.Origin != origin) ||
			(origin == "" && !strings.HasSuffix(cp.Origin, "/"+s.Log+"/"+s.Seg)) {
			return KindCheckpointRoot
		}
		if cp.Size > expected {
			return KindTruncated
		}
		if roots[cp.Size] != cp.Root {
			return KindCheckpointRoot
		}
		return ""
	}
	for _, c := range locals {
		if k := check(c); k != "" {
			if k == KindTruncated {
				fail(sr, base+int64(expected), expected, k)
			} else {
				fail(sr, base, 0, k)
			}
			return n, nil
		}
	}
	for _, c := range externals {
		if k := check(c); k != "" {
			if k == KindTruncated {
				fail(sr, base+int64(expected), expected, k)
			} else {
				fail(sr, base, 0, k)
			}
			return n, nil
		}
		found := false
		for _, l := range locals {
			if l.Size == c.Size && bytes.Equal(l.Note, c.Note) {
				found = true
			}
		}
		if !found {
			fail(sr, base, 0, KindMissingLocally)
			return n, nil
		}
	}
	if s.FinalCheckpoint != "" {
		if k := check(SignedCheckpoint{Log: s.Log, Seg: s.Seg, Size: s.Size, Note: []byte(s.FinalCheckpoint)}); k != "" {
			fail(sr, base, 0, k)
		}
	}
	return n, nil
}

func columnsMatch(r *Record, m map[string]any) bool {
	actor, _ := m["actor"].(map[string]any)
	if actor == nil {
		return false
	}
	kind, _ := actor["kind"].(string)
	id, _ := actor["id"].(string)
	subj, _ := m["subject"].(string)
	return m["id"] == r.ID && m["ts"] == r.TS && m["type"] == r.Type && kind+":"+id == r.Actor && subj == r.Subject
}

func linkMatches(m map[string]any, prev *Segment) bool {
	if m["type"] != string(AuditSegmentOpened) {
		return false
	}
	a, _ := m["attrs"].(map[string]any)
	if a == nil {
		return false
	}
	size, _ := a["prev_size"].(int64)
	return a["prev_seg"] == prev.Seg && size == int64(prev.Size) && a["prev_root"] == b64(prev.Root)
}

type page struct {
	recs   []Record
	leaves []map[string]any // decoded leaves (decoding runs in the prefetcher)
	errs   []error
	err    error
}

// prefetch reads and decodes the rows of a segment page by page in two
// goroutines (read, decode) so that reading, decoding and hashing overlap;
// stop ends them and waits for them.
func prefetch(ctx context.Context, src Store, log, seg string) (<-chan page, func()) {
	ctx, cancel := context.WithCancel(ctx)
	raw := make(chan page, 1)
	out := make(chan page, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(raw)
		for from := uint64(0); ; {
			recs, err := src.Records(ctx, log, seg, from, verifyPage)
			select {
			case raw <- page{recs: recs, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(recs) < verifyPage {
				return
			}
			from = recs[len(recs)-1].Seq + 1
		}
	}()
	go func() {
		defer wg.Done()
		defer close(out)
		for pg := range raw {
			pg.leaves = make([]map[string]any, len(pg.recs))
			pg.errs = make([]error, len(pg.recs))
			for i := range pg.recs {
				pg.leaves[i], pg.errs[i] = DecodeCanonical(pg.recs[i].Leaf)
			}
			select {
			case out <- pg:
			case <-ctx.Done():
				for range raw {
				}
				return
			}
		}
	}()
	return out, func() {
		cancel()
		for range out {
		}
		wg.Wait()
	}
}
