package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the parsed body of a C2SP tlog-checkpoint note.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
}

// Text returns the note text of c: origin, size and base64 root, each
// line ending in a newline, no extension lines.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

const maxSignatures = 100

// ParseCheckpoint parses a signed checkpoint note strictly without
// checking signatures: valid UTF-8 without control characters other than
// newline, exactly three body lines (no extensions), a size without
// leading zero or sign, a padded base64 root of 32 bytes, one blank line
// and 1 to 100 well-formed signature lines. Errors wrap ErrBadCheckpoint.
//
// REQ: audit-spec:2.3
func ParseCheckpoint(msg []byte) (Checkpoint, error) {
	var c Checkpoint
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrBadCheckpoint, what)
	}
	if len(msg) > 1<<16 {
		return bad("note too large")
	}
	if !utf8.Valid(msg) {
		return bad("not UTF-8")
	}
	for _, r := range string(msg) {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return bad("control character")
		}
	}
	text, sigs, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		return bad("no signature block")
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 3 {
		return bad("want exactly origin, size and root lines")
	}
	c.Origin = lines[0]
	if c.Origin == "" || strings.ContainsAny(c.Origin, " +") {
		return bad("bad origin")
	}
	sz := lines[1]
	if sz == "" || len(sz) > 20 || (len(sz) > 1 && sz[0] == '0') || strings.TrimLeft(sz, "0123456789") != "" {
		return bad("bad tree size")
	}
	n, err := strconv.ParseUint(sz, 10, 64)
	if err != nil {
		return bad("bad tree size")
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != 32 || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return bad("bad root hash")
	}
	copy(c.Root[:], root)
	if !strings.HasSuffix(sigs, "\n") {
		return bad("signature block must end in newline")
	}
	sl := strings.Split(strings.TrimSuffix(sigs, "\n"), "\n")
	if len(sl) == 0 || len(sl) > maxSignatures {
		return bad("signature count")
	}
	for _, s := range sl {
		rest, ok := strings.CutPrefix(s, "\u2014 ")
		if !ok {
			return bad("bad signature line")
		}
		name, sig, ok := strings.Cut(rest, " ")
		if !ok || name == "" || strings.ContainsAny(name, " +") {
			return bad("bad signature line")
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) < 5 {
			return bad("bad signature line")
		}
	}
	return c, nil
}

// OpenCheckpoint parses msg (ParseCheckpoint) and verifies it with the
// trusted verifiers: signatures by unknown keys are ignored, at least one
// known key must verify, and a failing known signature rejects the note.
func OpenCheckpoint(msg []byte, verifiers []note.Verifier) (Checkpoint, error) {
	c, err := ParseCheckpoint(msg)
	if err != nil {
		return c, err
	}
	if _, err := note.Open(msg, note.VerifierList(verifiers...)); err != nil {
		var unv *note.UnverifiedNoteError
		if errors.As(err, &unv) {
			return c, fmt.Errorf("%w: no trusted signature", ErrBadCheckpoint)
		}
		return c, fmt.Errorf("%w: signature invalid", ErrBadCheckpoint)
	}
	return c, nil
}

// SignCheckpoint signs c with signer and returns the note.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, signer)
}

// Origin returns the checkpoint origin of a segment.
func (l *Log) Origin(log, seg string) string { return l.cfg.OriginPrefix + "/" + log + "/" + seg }

// CheckpointSink ships signed checkpoints to a separate system (O.Arch_11).
type CheckpointSink interface {
	// Name identifies the sink in the shipment records.
	Name() string
	// Ship stores the checkpoint; the same content again is a success,
	// different content for the same (log, seg, size) ErrCheckpointConflict.
	Ship(ctx context.Context, cp SignedCheckpoint) error
}

// Checkpoint is the checkpoint step (spec §3.4), run periodically (every
// 5 s, River job in the refserver) and at shutdown: per log with a signer
// it signs a checkpoint of the open segment when it grew by CheckpointEvery
// leaves or CheckpointAge passed since the last one, and the final
// checkpoint of every closed segment; signing and saving happen in one
// transaction under the head lock. After commit it ships every checkpoint
// that a sink has not accepted yet. It returns the newly signed
// checkpoints. It is idempotent and safe to run concurrently.
//
// REQ: TR03161-3:O.Arch_11, ASVS5:16.4.3, audit-spec:3.4
func (l *Log) Checkpoint(ctx context.Context) ([]SignedCheckpoint, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	logs := make([]string, 0, len(l.cfg.Signers))
	for name := range l.cfg.Signers {
		logs = append(logs, name)
	}
	slices.Sort(logs)
	var signed []SignedCheckpoint
	var errs []error
	for _, name := range logs {
		cps, err := l.checkpointLog(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		signed = append(signed, cps...)
		if err := l.ship(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return signed, errors.Join(errs...)
}

func (l *Log) checkpointLog(ctx context.Context, name string) ([]SignedCheckpoint, error) {
	signer := l.cfg.Signers[name]
	st, err := l.store.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	defer func() { _ = st.Rollback() }()
	if _, _, err := st.LockHead(ctx, name); err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	segs, err := st.Segments(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	now := l.now().UTC()
	var out []SignedCheckpoint
	for _, s := range segs {
		if s.State != SegOpen && (s.State != SegClosed || s.FinalCheckpoint != "") {
			continue
		}
		cps, err := st.Checkpoints(ctx, s.Log, s.Seg)
		if err != nil {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		var last *SignedCheckpoint
		if len(cps) > 0 {
			last = &cps[len(cps)-1]
		}
		final := s.State == SegClosed
		if !final {
			if s.Size == 0 || (last != nil && last.Size >= s.Size) {
				continue
			}
			since, base := s.OpenedAt, uint64(0)
			if last != nil {
				since, base = last.SignedAt, last.Size
			}
			if s.Size-base < l.cfg.CheckpointEvery && now.Sub(since) < l.cfg.CheckpointAge {
				continue
			}
		}
		var root tlog.Hash
		copy(root[:], s.Root)
		if s.Size == 0 {
			root = tlog.Hash(emptyRoot)
		}
		var cp SignedCheckpoint
		if last != nil && last.Size == s.Size {
			cp = *last
		} else {
			msg, err := SignCheckpoint(Checkpoint{Origin: l.Origin(s.Log, s.Seg), Size: s.Size, Root: root}, signer)
			if err != nil {
				return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
			}
			cp = SignedCheckpoint{Log: s.Log, Seg: s.Seg, Size: s.Size, Root: root, Note: msg, SignedAt: now, Final: final}
			if err := st.SaveCheckpoint(ctx, cp); err != nil {
				return nil, fmt.Errorf("audit: save checkpoint: %w", err)
			}
			out = append(out, cp)
		}
		if final {
			s.FinalCheckpoint = string(cp.Note)
			if err := st.PutSegment(ctx, s); err != nil {
				return nil, fmt.Errorf("audit: checkpoint: %w", err)
			}
		}
	}
	if err := st.Commit(); err != nil {
		return nil, fmt.Errorf("audit: checkpoint commit: %w", err)
	}
	return out, nil
}

// emptyRoot is SHA-256("") (RFC 6962 root of the empty tree).
var emptyRoot = [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

// ship hands every unshipped checkpoint of the live segments to every sink.
func (l *Log) ship(ctx context.Context, name string) error {
	if len(l.cfg.CheckpointSinks) == 0 {
		return nil
	}
	segs, err := l.store.Segments(ctx, name)
	if err != nil {
		return fmt.Errorf("audit: ship: %w", err)
	}
	var errs []error
	for _, s := range segs {
		if s.State == SegDropped || s.State == SegDropping {
			continue
		}
		cps, err := l.store.Checkpoints(ctx, s.Log, s.Seg)
		if err != nil {
			return fmt.Errorf("audit: ship: %w", err)
		}
		for _, cp := range cps {
			for _, sink := range l.cfg.CheckpointSinks {
				if slices.Contains(cp.ShippedTo, sink.Name()) {
					continue
				}
				if err := sink.Ship(ctx, cp); err != nil {
					errs = append(errs, fmt.Errorf("audit: ship to %s: %w", sink.Name(), err))
					if errors.Is(err, ErrCheckpointConflict) {
						_, _ = l.Record(ctx, Event{Type: AuditCheckpointShipFail, Outcome: Failure, Reason: "conflict",
							Actor: Actor{Kind: ActorSystem, ID: "system"},
							Attrs: map[string]any{"sink": sinkKind(sink.Name()), "seg": cp.Seg, "size": int64(cp.Size)}})
					}
					continue
				}
				if err := l.store.MarkShipped(ctx, cp.Log, cp.Seg, cp.Size, sink.Name(), l.now().UTC()); err != nil {
					errs = append(errs, fmt.Errorf("audit: mark shipped: %w", err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// FileSink writes checkpoints to <Dir>/<log>/<seg>/<size>.cp, never
// overwriting: equal content is accepted, different content is
// ErrCheckpointConflict.
type FileSink struct {
	Dir string
}

// Name returns "file:" and the directory.
func (f FileSink) Name() string { return "file:" + f.Dir }

// Ship implements CheckpointSink.
func (f FileSink) Ship(_ context.Context, cp SignedCheckpoint) error {
	dir := filepath.Join(f.Dir, cp.Log, cp.Seg)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("audit: file sink: %w", err)
	}
	p := filepath.Join(dir, strconv.FormatUint(cp.Size, 10)+".cp")
	fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := os.ReadFile(p)
		if rerr != nil {
			return fmt.Errorf("audit: file sink: %w", rerr)
		}
		if bytes.Equal(old, cp.Note) {
			return nil
		}
		return ErrCheckpointConflict
	}
	if err != nil {
		return fmt.Errorf("audit: file sink: %w", err)
	}
	if _, err := fh.Write(cp.Note); err != nil {
		_ = fh.Close()
		return fmt.Errorf("audit: file sink: %w", err)
	}
	if err := fh.Sync(); err != nil {
		_ = fh.Close()
		return fmt.Errorf("audit: file sink: %w", err)
	}
	return fh.Close()
}

// ReadCheckpointDir reads the checkpoints a FileSink wrote under dir (the
// external copy for Verify). Files that do not parse are returned with
// an empty note and reported by Verify.
func ReadCheckpointDir(dir string) ([]SignedCheckpoint, error) {
	var out []SignedCheckpoint
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".cp") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return nil
		}
		size, err := strconv.ParseUint(strings.TrimSuffix(parts[2], ".cp"), 10, 64)
		if err != nil {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, SignedCheckpoint{Log: parts[0], Seg: parts[1], Size: size, Note: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	return out, nil
}

// HTTPSink POSTs checkpoint notes as text/plain to URL. 2xx is success,
// 409 ErrCheckpointConflict, anything else is retried with capped backoff
// (and again by the next Checkpoint run).
type HTTPSink struct {
	URL         string
	BearerToken string       // optional; never logged
	Client      *http.Client // nil: a client with a 10 s timeout
	Retries     int          // attempts per Ship; 0 means 3
}

// Name returns "http:" and the URL without query.
func (h HTTPSink) Name() string {
	u, _, _ := strings.Cut(h.URL, "?")
	return "http:" + u
}

// Ship implements CheckpointSink.
func (h HTTPSink) Ship(ctx context.Context, cp SignedCheckpoint) error {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	n := h.Retries
	if n <= 0 {
		n = 3
	}
	var last error
	backoff := 100 * time.Millisecond
	for i := 0; i < n; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(cp.Note))
		if err != nil {
			return fmt.Errorf("audit: http sink: bad URL")
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		req.Header.Set("X-Audit-Log", cp.Log)
		req.Header.Set("X-Audit-Segment", cp.Seg)
		if h.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+h.BearerToken)
		}
		resp, err := c.Do(req)
		if err != nil {
			last = fmt.Errorf("audit: http sink: transport error")
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			return nil
		case resp.StatusCode == http.StatusConflict:
			return ErrCheckpointConflict
		default:
			last = fmt.Errorf("audit: http sink: status %d", resp.StatusCode)
		}
	}
	return last
}

// sinkKind is the loggable kind of a sink name ("file", "http").
func sinkKind(name string) string {
	k, _, _ := strings.Cut(name, ":")
	if !reReason.MatchString(k) {
		return "other"
	}
	return k
}
