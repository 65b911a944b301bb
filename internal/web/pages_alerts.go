package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/fault"
)

type alertsPage struct {
	State   string
	Alerts  []alertRow
	Watches []alert.Watch
	New     int
}

// alertRow is one alert as the list shows it; CSRF is for its ack form,
// so that a row sent over the stream can be acknowledged too.
type alertRow struct {
	alert.Alert
	CSRF string
}

// alertKeepAlive is how often an idle alert stream gets a comment, so
// that proxies keep it open.
const alertKeepAlive = 15 * time.Second

func (s *Server) alertService() (Alerts, error) {
	if s.opts.Alerts == nil {
		return nil, fault.New(fault.Unavailable, "this node keeps no alerts")
	}
	return s.opts.Alerts, nil
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alertService()
	if err != nil {
		return err
	}
	ctx, v := r.Context(), viewerOf(r)
	p := alertsPage{State: r.URL.Query().Get("state")}
	f := alert.Filter{Org: v.Org}
	if p.State != "" {
		st, ok := alert.ParseState(p.State)
		if !ok {
			return fault.New(fault.Invalid, "unknown alert state %q: want new or acknowledged", p.State)
		}
		f.State = st
	}
	csrf := s.csrfToken(sessionFrom(ctx))
	// Newest first; the list reads every page, as an organisation's
	// alerts are few (one per arrival at its own addresses).
	for {
		list, err := al.Alerts(ctx, v, f)
		if err != nil {
			return err
		}
		for _, a := range list {
			p.Alerts = append(p.Alerts, alertRow{Alert: a, CSRF: csrf})
			if a.State == alert.StateNew {
				p.New++
			}
		}
		if len(list) < 1000 {
			break
		}
		f.After = list[len(list)-1].Seq
	}
	slices.Reverse(p.Alerts)
	if p.Watches, err = al.Watches(ctx, v); err != nil {
		return err
	}
	return s.render(w, r, "alerts", "Alerts", p)
}

// alertStream sends the organisation's new alerts as Server-Sent Events,
// each an "alert" event whose data is the list's row for it, rendered and
// escaped here, on one line.
func (s *Server) alertStream(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alertService()
	if err != nil {
		return err
	}
	ctx, v := r.Context(), viewerOf(r)
	var after int64
	last := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if last != "" {
		if after, err = strconv.ParseInt(last, 10, 64); err != nil || after < 0 {
			return fault.New(fault.Malformed, "Last-Event-ID %q is not an alert's event id", last)
		}
	}
	stream, err := alert.NewStream(ctx, al, v, after, last == "")
	if err != nil {
		return err
	}
	csrf := s.csrfToken(sessionFrom(ctx))
	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts.
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
	_ = rc.Flush()
	t := s.pages["alerts"]
	var buf bytes.Buffer
	for {
		list, err := stream.Next(ctx, alertKeepAlive)
		if err != nil {
			return nil
		}
		if len(list) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		}
		for _, a := range list {
			if a.Org != v.Org {
				continue
			}
			buf.Reset()
			if err := t.ExecuteTemplate(&buf, "alertrow", alertRow{Alert: a, CSRF: csrf}); err != nil {
				s.log.ErrorContext(ctx, "render alert row", "err", err)
				return nil
			}
			row := strings.ReplaceAll(strings.ReplaceAll(buf.String(), "\r", ""), "\n", " ")
			if _, err := fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", a.Seq, row); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alertService()
	if err != nil {
		return err
	}
	if _, err := al.Ack(r.Context(), viewerOf(r), r.PathValue("id")); err != nil {
		return err
	}
	next := "/alerts"
	if st := r.PostFormValue("state"); st != "" {
		next += "?" + url.Values{"state": {st}}.Encode()
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}
