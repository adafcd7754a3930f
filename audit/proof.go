package audit

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof proves that the leaf at Index is in the tree of TreeSize
// leaves of one segment (RFC 6962 audit path).
type InclusionProof struct {
	Log, Seg string
	Index    uint64
	TreeSize uint64
	LeafHash tlog.Hash
	Proof    tlog.RecordProof
}

// ConsistencyProof proves that the tree of OldSize leaves is a prefix of the
// tree of NewSize leaves of one segment.
type ConsistencyProof struct {
	Log, Seg string
	OldSize  uint64
	NewSize  uint64
	Proof    tlog.TreeProof
}

type storeReader struct {
	ctx      context.Context
	s        Store
	log, seg string
}

func (r storeReader) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	h, err := r.s.Hashes(r.ctx, r.log, r.seg, idx)
	if err != nil {
		return nil, err
	}
	if len(h) != len(idx) {
		return nil, ErrNotFound
	}
	return h, nil
}

func (l *Log) segmentSize(ctx context.Context, log, seg string) (uint64, error) {
	segs, err := l.store.Segments(ctx, log)
	if err != nil {
		return 0, err
	}
	for _, s := range segs {
		if s.Seg == seg {
			if s.State == SegDropped || s.State == SegDropping {
				return 0, fmt.Errorf("%w: segment dropped", ErrNotFound)
			}
			return s.Size, nil
		}
	}
	return 0, ErrNotFound
}

// Prove returns the inclusion proof of the event of r in the tree of
// treeSize leaves of its segment (0 means the current size).
func (l *Log) Prove(ctx context.Context, r Receipt, treeSize uint64) (InclusionProof, error) {
	size, err := l.segmentSize(ctx, r.Log, r.Seg)
	if err != nil {
		return InclusionProof{}, err
	}
	if treeSize == 0 {
		treeSize = size
	}
	if r.Seq >= treeSize || treeSize > size {
		return InclusionProof{}, fmt.Errorf("%w: index or tree size out of range", ErrNotFound)
	}
	p, err := tlog.ProveRecord(int64(treeSize), int64(r.Seq), storeReader{ctx, l.store, r.Log, r.Seg})
	if err != nil {
		return InclusionProof{}, fmt.Errorf("audit: prove: %w", err)
	}
	return InclusionProof{Log: r.Log, Seg: r.Seg, Index: r.Seq, TreeSize: treeSize, LeafHash: r.LeafHash, Proof: p}, nil
}

// Verify checks the proof against the root of a tree of p.TreeSize leaves
// (for example from a verified checkpoint).
func (p InclusionProof) Verify(root tlog.Hash) error {
	if err := tlog.CheckRecord(p.Proof, int64(p.TreeSize), root, int64(p.Index), p.LeafHash); err != nil {
		return fmt.Errorf("audit: inclusion proof invalid")
	}
	return nil
}

// ProveConsistency returns the proof that the segment's tree of oldSize
// leaves is a prefix of its tree of newSize leaves, so that a holder of an
// old checkpoint can check a newer one.
func (l *Log) ProveConsistency(ctx context.Context, log, seg string, oldSize, newSize uint64) (ConsistencyProof, error) {
	size, err := l.segmentSize(ctx, log, seg)
	if err != nil {
		return ConsistencyProof{}, err
	}
	if oldSize > newSize || newSize > size || newSize == 0 {
		return ConsistencyProof{}, fmt.Errorf("%w: tree sizes out of range", ErrNotFound)
	}
	if oldSize == 0 || oldSize == newSize {
		return ConsistencyProof{Log: log, Seg: seg, OldSize: oldSize, NewSize: newSize}, nil
	}
	p, err := tlog.ProveTree(int64(newSize), int64(oldSize), storeReader{ctx, l.store, log, seg})
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("audit: prove consistency: %w", err)
	}
	return ConsistencyProof{Log: log, Seg: seg, OldSize: oldSize, NewSize: newSize, Proof: p}, nil
}

// Verify checks the proof against the old and the new root.
func (p ConsistencyProof) Verify(oldRoot, newRoot tlog.Hash) error {
	switch {
	case p.OldSize == 0 && len(p.Proof) == 0:
		if oldRoot != tlog.Hash(emptyRoot) {
			return fmt.Errorf("audit: consistency proof invalid")
		}
		return nil
	case p.OldSize == p.NewSize && len(p.Proof) == 0:
		if oldRoot != newRoot {
			return fmt.Errorf("audit: consistency proof invalid")
		}
		return nil
	}
	if err := tlog.CheckTree(p.Proof, int64(p.NewSize), newRoot, int64(p.OldSize), oldRoot); err != nil {
		return fmt.Errorf("audit: consistency proof invalid")
	}
	return nil
}
