package audit

import (
	"context"
	"io"
	"sync"
)

// WriterSink is an EventSink that writes each committed event's canonical
// JSON as one line to W (stdout, a file, a pipe to a log shipper). The
// shipped copy is the source for re-applying erasures after a backup
// restore. Writes are serialized.
type WriterSink struct {
	mu sync.Mutex
	W  io.Writer
}

// Write implements EventSink.
func (s *WriterSink) Write(_ context.Context, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := make([]byte, 0, 512*len(recs))
	for _, r := range recs {
		buf = append(buf, r.Leaf...)
		buf = append(buf, '\n')
	}
	_, err := s.W.Write(buf)
	return err
}
