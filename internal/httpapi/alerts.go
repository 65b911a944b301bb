package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/fault"
)

// Alerts is what the REST API needs of the watches and alerts;
// *alert.Service implements it. Each method acts for one viewer's
// organisation and checks its role.
type Alerts interface {
	AddWatch(ctx context.Context, v access.Viewer, w alert.Watch) (alert.Watch, error)
	Watches(ctx context.Context, v access.Viewer) ([]alert.Watch, error)
	RemoveWatch(ctx context.Context, v access.Viewer, id string) error
	Alerts(ctx context.Context, v access.Viewer, f alert.Filter) ([]alert.Alert, error)
	Ack(ctx context.Context, v access.Viewer, id string) (alert.Alert, error)
	// Raised returns a channel closed when the next alert is raised.
	Raised() <-chan struct{}
}

// WatchRequest is the body of POST /api/v1/watches.
type WatchRequest struct {
	Chain     string   `json:"chain"`
	Addresses []string `json:"addresses,omitempty"`
	Label     string   `json:"label,omitempty"`
	Min       string   `json:"min,omitempty"`
	Webhook   string   `json:"webhook,omitempty"`
	Secret    string   `json:"secret,omitempty"`
}

func (s *Server) alerts() (Alerts, error) {
	if s.opts.Alerts == nil {
		return nil, fault.New(fault.Unavailable, "this node keeps no watches or alerts")
	}
	return s.opts.Alerts, nil
}

// listWatches lists the caller's organisation's watches.
func (s *Server) listWatches(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	ws, err := al.Watches(r.Context(), ViewerFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"watches": ws})
	return nil
}

// postWatch adds a watch for the caller's organisation.
func (s *Server) postWatch(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	var req WatchRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	watch, err := al.AddWatch(r.Context(), ViewerFrom(r.Context()), alert.Watch{
		Chain: req.Chain, Addresses: req.Addresses, Label: req.Label, Min: req.Min, Webhook: req.Webhook, Secret: req.Secret,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/watches/"+watch.ID)
	writeJSON(w, http.StatusCreated, watch)
	return nil
}

// deleteWatch removes one of the caller's organisation's watches.
func (s *Server) deleteWatch(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	if err := al.RemoveWatch(r.Context(), ViewerFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// alertFilter reads ?state=&after=&limit=.
func alertFilter(r *http.Request) (alert.Filter, error) {
	var f alert.Filter
	q := r.URL.Query()
	if st := q.Get("state"); st != "" {
		state, ok := alert.ParseState(st)
		if !ok {
			return f, fault.New(fault.Malformed, "state %q: want new or acknowledged", st)
		}
		f.State = state
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"after", &f.After}, {"limit", nil}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, fault.New(fault.Malformed, "%s %q is not a whole number", p.name, v)
		}
		if p.dst != nil {
			*p.dst = n
		} else {
			f.Limit = int(min(n, 1000))
		}
	}
	return f, nil
}

// listAlerts lists the caller's organisation's alerts, oldest first.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	f, err := alertFilter(r)
	if err != nil {
		return err
	}
	list, err := al.Alerts(r.Context(), ViewerFrom(r.Context()), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": list})
	return nil
}

// ackAlert acknowledges one of the caller's organisation's alerts.
func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	a, err := al.Ack(r.Context(), ViewerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// streamAlerts streams the caller's organisation's alerts as Server-Sent
// Events: each "id: <seq>", "event: alert", "data: <the alert>". A client
// that reconnects with Last-Event-ID (or ?after=) gets what it missed
// first; without it, the stream starts with the alerts to come. A comment
// every AlertKeepAlive keeps proxies from closing an idle stream.
func (s *Server) streamAlerts(w http.ResponseWriter, r *http.Request) error {
	al, err := s.alerts()
	if err != nil {
		return err
	}
	ctx, v := r.Context(), ViewerFrom(r.Context())
	after, resume, err := alert.LastEventID(r)
	if err != nil {
		return err
	}
	stream, err := alert.NewStream(ctx, al, v, after, !resume)
	if err != nil {
		return err
	}
	if err := stream.ServeEvents(ctx, w, s.opts.AlertKeepAlive, func(a alert.Alert) ([]byte, error) { return json.Marshal(a) }); err != nil {
		s.log.WarnContext(ctx, "alert stream ended", "err", err)
	}
	return nil
}
