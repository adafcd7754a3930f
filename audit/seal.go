package audit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func gcm(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// sealKID returns the key id that seals values of ev: the subject key
// ("subj:<pseudonym>") or the day key ("period:YYYY-MM-DD").
func sealKID(ev *Event, ts time.Time) string {
	if ev.Subject != "" {
		return "subj:" + ev.Subject
	}
	return "period:" + ts.UTC().Format("2006-01-02")
}

func (l *Log) cachedKey(kid string) []byte {
	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	return l.keys[kid]
}

func (l *Log) unwrap(k WrappedKey) ([]byte, error) {
	if k.Wrapped == nil || !k.DestroyedAt.IsZero() {
		return nil, ErrKeyDestroyed
	}
	a, err := gcm(l.cfg.KEK)
	if err != nil {
		return nil, err
	}
	if len(k.Wrapped) < a.NonceSize() {
		return nil, fmt.Errorf("%w: wrapped key too short", ErrKeyDestroyed)
	}
	key, err := a.Open(nil, k.Wrapped[:a.NonceSize()], k.Wrapped[a.NonceSize():], []byte(k.KID))
	if err != nil {
		return nil, errors.New("audit: unwrap seal key: authentication failed")
	}
	return key, nil
}

// seal encrypts ev.Sealed under the subject or day key (created on first
// use) with the event id as AAD (spec §3.5).
func (tx *Tx) seal(ctx context.Context, ev *Event, id string, ts time.Time) (map[string]any, error) {
	l := tx.l
	kid := sealKID(ev, ts)
	key := l.cachedKey(kid)
	if key == nil {
		wk, err := tx.st.Key(ctx, kid)
		switch {
		case errors.Is(err, ErrNotFound):
			key = make([]byte, 32)
			if _, err := io.ReadFull(l.rand, key); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
			}
			a, err := gcm(l.cfg.KEK)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
			}
			nonce := make([]byte, a.NonceSize())
			if _, err := io.ReadFull(l.rand, nonce); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
			}
			kind, _, _ := strings.Cut(kid, ":")
			wrapped := a.Seal(nonce, nonce, key, []byte(kid))
			if err := tx.st.PutKey(ctx, WrappedKey{KID: kid, Kind: kind, Wrapped: wrapped, CreatedAt: ts}); err != nil {
				return nil, fmt.Errorf("%w: store seal key: %w", ErrAuditWriteFailed, err)
			}
		case err != nil:
			return nil, fmt.Errorf("%w: seal key: %w", ErrAuditWriteFailed, err)
		default:
			if key, err = l.unwrap(wk); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
			}
		}
		tx.AfterCommit(func() {
			l.cacheMu.Lock()
			l.keys[kid] = key
			l.cacheMu.Unlock()
		})
	}
	plain := make(map[string]any, len(ev.Sealed))
	for k, v := range ev.Sealed {
		if !reAttrKey.MatchString(k) {
			return nil, fmt.Errorf("%w: sealed name does not match its pattern", ErrForbiddenContent)
		}
		plain[k] = v
	}
	pt, err := AppendCanonical(nil, plain)
	if err != nil {
		return nil, err
	}
	a, err := gcm(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := io.ReadFull(l.rand, nonce); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuditWriteFailed, err)
	}
	ct := a.Seal(nil, nonce, pt, []byte(id))
	return map[string]any{"kid": kid, "n": b64(nonce), "ct": b64(ct)}, nil
}

// Unseal decrypts the sealed values of a stored record. It returns
// ErrKeyDestroyed after the key was destroyed (crypto-shredded) and
// ErrNotFound when the record has no sealed values.
func (l *Log) Unseal(ctx context.Context, rec Record) (map[string]string, error) {
	if l.cfg.KEK == nil {
		return nil, errors.New("audit: Config.KEK is not set")
	}
	m, err := DecodeCanonical(rec.Leaf)
	if err != nil {
		return nil, err
	}
	s, ok := m["sealed"].(map[string]any)
	if !ok {
		return nil, ErrNotFound
	}
	kid, _ := s["kid"].(string)
	ns, _ := s["n"].(string)
	cts, _ := s["ct"].(string)
	nonce, err1 := base64.StdEncoding.DecodeString(ns)
	ct, err2 := base64.StdEncoding.DecodeString(cts)
	if err1 != nil || err2 != nil || len(nonce) != 12 {
		return nil, fmt.Errorf("%w: sealed member", ErrNonCanonical)
	}
	wk, err := l.store.Key(ctx, kid)
	if err != nil {
		return nil, err
	}
	key, err := l.unwrap(wk)
	if err != nil {
		return nil, err
	}
	a, err := gcm(key)
	if err != nil {
		return nil, err
	}
	id, _ := m["id"].(string)
	pt, err := a.Open(nil, nonce, ct, []byte(id))
	if err != nil {
		return nil, errors.New("audit: sealed values: authentication failed")
	}
	pm, err := DecodeCanonical(pt)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(pm))
	for k, v := range pm {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, nil
}

// Shred crypto-shreds the personal values of a subject: it destroys the
// subject's seal key and records key_destroyed (spec §3.5). The audit rows
// stay untouched, so the log still verifies. Shredding a subject without
// key only records the event.
//
// REQ: TR03161-3:O.Data_7, audit-spec:3.5
func (l *Log) Shred(ctx context.Context, subject string) error {
	if !rePseudonym.MatchString(subject) {
		return fmt.Errorf("%w: subject is not a pseudonym", ErrForbiddenContent)
	}
	kid := "subj:" + subject
	if err := l.store.DestroyKey(ctx, kid, l.now().UTC()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("audit: destroy key: %w", err)
	}
	l.cacheMu.Lock()
	delete(l.keys, kid)
	l.cacheMu.Unlock()
	_, err := l.Record(ctx, Event{Type: KeyDestroyed, Outcome: Success, Actor: Actor{Kind: ActorSystem, ID: "system"},
		Subject: subject, Attrs: map[string]any{"kid": kid, "kind": "subj"}})
	return err
}

// DestroyPeriodKey destroys the day seal key of day (retention of sealed
// IP addresses, spec §3.5) and records key_destroyed.
func (l *Log) DestroyPeriodKey(ctx context.Context, day time.Time) error {
	kid := "period:" + day.UTC().Format("2006-01-02")
	if err := l.store.DestroyKey(ctx, kid, l.now().UTC()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("audit: destroy key: %w", err)
	}
	l.cacheMu.Lock()
	delete(l.keys, kid)
	l.cacheMu.Unlock()
	_, err := l.Record(ctx, Event{Type: KeyDestroyed, Outcome: Success, Actor: Actor{Kind: ActorSystem, ID: "system"},
		Attrs: map[string]any{"kid": kid, "kind": "period"}})
	return err
}
