package alert

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
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

// LastEventID returns where a Server-Sent Events client resumes: the
// Last-Event-ID header (or, for clients that cannot set it, query
// parameter "after"), and whether it gave one. An id that is no alert's
// event id is [fault.Malformed].
func LastEventID(r *http.Request) (after int64, resume bool, err error) {
	last := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if last == "" {
		last = r.URL.Query().Get("after")
	}
	if last == "" {
		return 0, false, nil
	}
	after, err = strconv.ParseInt(last, 10, 64)
	if err != nil || after < 0 {
		return 0, false, fault.New(fault.Malformed, "Last-Event-ID %q is not an alert's event id", last)
	}
	return after, true, nil
}

// ServeEvents writes the stream as Server-Sent Events until the client
// goes or ctx ends: each alert as "id: <seq>", "event: alert" and
// "data: <data(alert)>" (one line), and a comment every keepAlive when
// idle so that proxies keep the stream open. The stream outlives the
// server's read and write timeouts. It returns the error that ended the
// stream other than the client going, for the log.
func (s *Stream) ServeEvents(ctx context.Context, w http.ResponseWriter, keepAlive time.Duration, data func(Alert) ([]byte, error)) error {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": cointrail alerts\nretry: 2000\n\n"); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	for {
		list, err := s.Next(ctx, keepAlive)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(list) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		}
		for _, a := range list {
			d, err := data(a)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", a.Seq, d); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
