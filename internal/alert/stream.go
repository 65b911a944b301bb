package alert

import (
	"context"
	"time"

	"github.com/cointrail/cointrail/internal/access"
)

// Source is what a [Stream] reads: a viewer's alerts, and word of new ones.
// *Service is one.
type Source interface {
	Alerts(ctx context.Context, v access.Viewer, f Filter) ([]Alert, error)
	// Raised returns a channel closed when the next alert is raised.
	Raised() <-chan struct{}
}

// streamPage is how many alerts a stream reads at once.
const streamPage = 1000

// Stream follows a viewer's alerts in order, for Server-Sent Events: the
// REST API's and the web interface's streams both read through one.
type Stream struct {
	src     Source
	v       access.Viewer
	after   int64
	raised  <-chan struct{}
	pending []Alert
}

// NewStream starts following v's alerts after the one with Seq after; with
// fromNow, only the alerts raised from now on. Its first read checks the
// viewer, so a stream that cannot start fails before anything is sent.
func NewStream(ctx context.Context, src Source, v access.Viewer, after int64, fromNow bool) (*Stream, error) {
	s := &Stream{src: src, v: v, after: after, raised: src.Raised()}
	list, err := src.Alerts(ctx, v, Filter{After: after, Limit: streamPage})
	if err != nil {
		return nil, err
	}
	if fromNow {
		for len(list) > 0 {
			s.after = list[len(list)-1].Seq
			if list, err = src.Alerts(ctx, v, Filter{After: s.after, Limit: streamPage}); err != nil {
				return nil, err
			}
		}
	}
	s.pending = list
	return s, nil
}

// Next returns the next alerts in order, waiting for one to be raised. It
// returns none, and no error, when idle has passed without one (the caller
// sends a keep-alive), and ctx's error when ctx ends.
func (s *Stream) Next(ctx context.Context, idle time.Duration) ([]Alert, error) {
	for len(s.pending) == 0 {
		t := time.NewTimer(idle)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
			return nil, nil
		case <-s.raised:
			t.Stop()
		}
		// Take the channel before reading, so an alert raised during the
		// read wakes the next wait.
		s.raised = s.src.Raised()
		list, err := s.src.Alerts(ctx, s.v, Filter{After: s.after, Limit: streamPage})
		if err != nil {
			return nil, err
		}
		s.pending = list
	}
	out := s.pending
	s.pending = nil
	s.after = out[len(out)-1].Seq
	if len(out) == streamPage {
		// More may be waiting: read on without waiting for a raise.
		list, err := s.src.Alerts(ctx, s.v, Filter{After: s.after, Limit: streamPage})
		if err != nil {
			return out, nil
		}
		s.pending = list
	}
	return out, nil
}
