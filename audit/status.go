package audit

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// SegmentStatus is the operator view of one live segment (no event
// content): its size, the last signed checkpoint, how old it is and how
// many checkpoints a sink has not accepted yet.
type SegmentStatus struct {
	Log, Seg       string
	State          string
	Size           uint64
	CheckpointSize uint64        // size of the newest signed checkpoint (0: none)
	CheckpointAge  time.Duration // now − signing time of the newest checkpoint; 0 without one
	Grown          bool          // Size > CheckpointSize: the log grew since the last checkpoint
	Unshipped      int           // checkpoints not yet accepted by every sink
}

// Status reports the checkpoint state of every open or closed segment. The
// refserver exports it as digakit_audit_checkpoint_age_seconds and raises
// D9 (RB-AUDIT-02) when Grown and CheckpointAge exceeds 5 minutes.
func (l *Log) Status(ctx context.Context) ([]SegmentStatus, error) {
	logs, err := l.store.Logs(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: status: %w", err)
	}
	now := l.now().UTC()
	var out []SegmentStatus
	for _, name := range logs {
		segs, err := l.store.Segments(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("audit: status: %w", err)
		}
		for _, s := range segs {
			if s.State != SegOpen && s.State != SegClosed {
				continue
			}
			cps, err := l.store.Checkpoints(ctx, s.Log, s.Seg)
			if err != nil {
				return nil, fmt.Errorf("audit: status: %w", err)
			}
			st := SegmentStatus{Log: s.Log, Seg: s.Seg, State: s.State, Size: s.Size}
			if len(cps) > 0 {
				last := cps[len(cps)-1]
				st.CheckpointSize = last.Size
				st.CheckpointAge = now.Sub(last.SignedAt)
			} else if s.Size > 0 {
				st.CheckpointAge = now.Sub(s.OpenedAt)
			}
			st.Grown = s.Size > st.CheckpointSize
			for _, c := range cps {
				for _, sink := range l.cfg.CheckpointSinks {
					if !slices.Contains(c.ShippedTo, sink.Name()) {
						st.Unshipped++
						break
					}
				}
			}
			out = append(out, st)
		}
	}
	return out, nil
}
