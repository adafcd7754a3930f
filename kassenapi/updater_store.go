package kassenapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Snapshot is a persisted last-known-good copy of an accepted file.
type Snapshot struct {
	Payload      []byte    // unpacked payload (the directory XML)
	SHA256       string    // hex SHA-256 of Payload
	ETag         string    // validators of the download
	LastModified string    //
	FetchedAt    time.Time // when it was accepted
}

// SnapshotStore persists the last-known-good snapshot (files or a database
// row). Load returns (nil, nil) when there is none.
type SnapshotStore interface {
	Load(ctx context.Context) (*Snapshot, error)
	Save(ctx context.Context, s *Snapshot) error
}

// FileSnapshotStore keeps the snapshot as two files in Dir: Name (the
// payload, e.g. "Krankenkassenverzeichnis_DiGA.xml") and Name+".json" (the
// metadata with the SHA-256). Both are written to a temporary file,
// synced and renamed, so a crash leaves either the old or the new copy.
type FileSnapshotStore struct {
	Dir  string // required; created with mode 0700 when missing
	Name string // file name; empty: "directory.xml"
}

type fileSnapshotMeta struct {
	SHA256       string    `json:"sha256"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	FetchedAt    time.Time `json:"fetchedAt"`
}

func (s FileSnapshotStore) paths() (payload, meta string) {
	name := s.Name
	if name == "" {
		name = "directory.xml"
	}
	p := filepath.Join(s.Dir, filepath.Base(name))
	return p, p + ".json"
}

// Load reads the snapshot. A missing snapshot is (nil, nil); a payload
// whose SHA-256 does not match the metadata is an error (a torn or edited
// copy is not trusted).
func (s FileSnapshotStore) Load(context.Context) (*Snapshot, error) {
	pp, mp := s.paths()
	mb, err := os.ReadFile(mp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kassenapi: read snapshot: %w", err)
	}
	var m fileSnapshotMeta
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("kassenapi: snapshot metadata %s: %w", mp, err)
	}
	payload, err := os.ReadFile(pp)
	if err != nil {
		return nil, fmt.Errorf("kassenapi: read snapshot: %w", err)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, fmt.Errorf("kassenapi: snapshot %s does not match its SHA-256", pp)
	}
	return &Snapshot{Payload: payload, SHA256: m.SHA256, ETag: m.ETag, LastModified: m.LastModified, FetchedAt: m.FetchedAt}, nil
}

// Save writes the snapshot atomically (payload first, then metadata).
func (s FileSnapshotStore) Save(_ context.Context, snap *Snapshot) error {
	if s.Dir == "" {
		return errors.New("kassenapi: FileSnapshotStore.Dir is empty")
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("kassenapi: snapshot dir: %w", err)
	}
	pp, mp := s.paths()
	mb, err := json.Marshal(fileSnapshotMeta{SHA256: snap.SHA256, ETag: snap.ETag, LastModified: snap.LastModified, FetchedAt: snap.FetchedAt.UTC()})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(pp, snap.Payload); err != nil {
		return err
	}
	return writeFileAtomic(mp, mb)
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("kassenapi: write snapshot: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("kassenapi: write snapshot: %w", werr)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
