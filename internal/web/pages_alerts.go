package web

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
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
	after, resume, err := alert.LastEventID(r)
	if err != nil {
		return err
	}
	stream, err := alert.NewStream(ctx, al, v, after, !resume)
	if err != nil {
		return err
	}
	csrf := s.csrfToken(sessionFrom(ctx))
	t := s.pages["alerts"]
	// Each row on one line: an event's data is one line.
	row := func(a alert.Alert) ([]byte, error) {
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "alertrow", alertRow{Alert: a, CSRF: csrf}); err != nil {
			return nil, err
		}
		return []byte(strings.ReplaceAll(strings.ReplaceAll(buf.String(), "\r", ""), "\n", " ")), nil
	}
	if err := stream.ServeEvents(ctx, w, alertKeepAlive, row); err != nil {
		s.log.WarnContext(ctx, "alert stream ended", "err", err)
	}
	return nil
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
