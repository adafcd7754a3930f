package audit

import (
	"context"
	"fmt"
	"slices"
)

// DropBatch is the number of rows DropExpired deletes per statement.
const DropBatch = 10000

// DropExpired is the retention step (spec §3.2), run periodically: for
// every log with a Retention it drops whole closed segments that closed
// more than Retention ago, whose final checkpoint is signed and shipped
// to every checkpoint sink, and that the log's Droppable hook approves.
// The segment is marked dropping, its rows are deleted in batches, the
// segment row with its final checkpoint is kept (state dropped), and an
// audit_segment_dropped event with seg, size and root goes into the
// current segment of the same log. It returns the dropped segments.
//
// REQ: TR03161-3:O.Data_2, audit-spec:3.2
func (l *Log) DropExpired(ctx context.Context) ([]Segment, error) {
	now := l.now().UTC()
	var out []Segment
	names := make([]string, 0, len(l.cfg.Logs))
	for n := range l.cfg.Logs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		lc := l.cfg.Logs[name]
		if lc.Retention <= 0 {
			continue
		}
		segs, err := l.store.Segments(ctx, name)
		if err != nil {
			return out, fmt.Errorf("audit: retention: %w", err)
		}
		for _, s := range segs {
			if !(s.State == SegDropping || (s.State == SegClosed && now.Sub(s.ClosedAt) >= lc.Retention)) {
				continue
			}
			if ok, err := l.droppable(ctx, s, lc); err != nil {
				return out, err
			} else if !ok {
				continue
			}
			if err := l.drop(ctx, s); err != nil {
				return out, err
			}
			s.State = SegDropped
			out = append(out, s)
		}
	}
	return out, nil
}

func (l *Log) droppable(ctx context.Context, s Segment, lc LogConfig) (bool, error) {
	if s.State == SegDropping {
		return true, nil // resume an interrupted drop
	}
	if s.FinalCheckpoint == "" {
		return false, nil
	}
	cps, err := l.store.Checkpoints(ctx, s.Log, s.Seg)
	if err != nil {
		return false, fmt.Errorf("audit: retention: %w", err)
	}
	var final *SignedCheckpoint
	for i := range cps {
		if cps[i].Size == s.Size {
			final = &cps[i]
		}
	}
	if final == nil {
		return false, nil
	}
	for _, sink := range l.cfg.CheckpointSinks {
		if !slices.Contains(final.ShippedTo, sink.Name()) {
			return false, nil
		}
	}
	if lc.Droppable != nil {
		return lc.Droppable(ctx, s)
	}
	return true, nil
}

// Drop drops one segment regardless of its age (operator command `audit
// drop`); the segment must be closed with a signed and shipped final
// checkpoint, else ErrNotDroppable.
func (l *Log) Drop(ctx context.Context, log, seg string) error {
	segs, err := l.store.Segments(ctx, log)
	if err != nil {
		return fmt.Errorf("audit: drop: %w", err)
	}
	for _, s := range segs {
		if s.Seg != seg {
			continue
		}
		if s.State != SegClosed && s.State != SegDropping {
			return ErrNotDroppable
		}
		ok, err := l.droppable(ctx, s, LogConfig{})
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotDroppable
		}
		return l.drop(ctx, s)
	}
	return ErrNotFound
}

func (l *Log) drop(ctx context.Context, s Segment) error {
	if s.State != SegDropping {
		st, err := l.store.Begin(ctx)
		if err != nil {
			return fmt.Errorf("audit: drop: %w", err)
		}
		if _, _, err := st.LockHead(ctx, s.Log); err != nil {
			_ = st.Rollback()
			return fmt.Errorf("audit: drop: %w", err)
		}
		s.State = SegDropping
		if err := st.PutSegment(ctx, s); err != nil {
			_ = st.Rollback()
			return fmt.Errorf("audit: drop: %w", err)
		}
		if err := st.Commit(); err != nil {
			return fmt.Errorf("audit: drop: %w", err)
		}
	}
	for {
		n, err := l.store.DropRows(ctx, s.Log, s.Seg, DropBatch)
		if err != nil {
			return fmt.Errorf("audit: drop rows: %w", err)
		}
		if n == 0 {
			break
		}
	}
	ev := Event{Type: AuditSegmentDropped, Outcome: Success, Actor: Actor{Kind: ActorSystem, ID: "system"},
		Attrs: map[string]any{"seg": s.Seg, "size": int64(s.Size), "root": b64(s.Root)}}
	ps, err := l.prepare([]Event{ev})
	if err != nil {
		return err
	}
	ps[0].log = s.Log
	return l.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.appendPrepared(ctx, ps); err != nil {
			tx.failed = err
			return err
		}
		s.State = SegDropped
		s.DroppedAt = l.now().UTC()
		return tx.st.PutSegment(ctx, s)
	})
}
