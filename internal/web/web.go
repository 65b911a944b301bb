// Package web serves the node's user interface: server-rendered pages over
// the intelligence, the chain index, traces, screening, alerts and sharing,
// for analysts, compliance officers and the panel's report.
//
// Pages are Go html/template files and static assets embedded with go:embed;
// every page reads without JavaScript (the one script only keeps the alert
// list live). A visitor signs in with an API token, which the page keeps in
// an HttpOnly, SameSite=Strict cookie (Secure on HTTPS); every form that
// changes something carries a CSRF token bound to that cookie (the sign-in
// form's, to a cookie of its own), and every response a strict
// Content-Security-Policy. Every page acts as the viewer the token stands
// for and reads through the intel service, which applies the access rules:
// no page filters by itself.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/trace"
)

//go:embed templates static
var files embed.FS

// ChainIndex is the chain index the pages read.
type ChainIndex interface {
	Chains() []string
	Status(chainID string) (*chainstore.Status, error)
	Tx(ctx context.Context, chainID, hash string) (*chainstore.TxView, error)
	Address(ctx context.Context, chainID, addr string) (*chainstore.AddressView, error)
	History(ctx context.Context, chainID, addr, after string, limit int) (*chainstore.HistoryPage, error)
}

// Screener screens an address as a viewer.
type Screener interface {
	Screen(ctx context.Context, v access.Viewer, chainID, addr string) (*screen.Result, error)
}

// Alerts is an organisation's alerts and watches.
type Alerts interface {
	Alerts(ctx context.Context, v access.Viewer, f alert.Filter) ([]alert.Alert, error)
	Ack(ctx context.Context, v access.Viewer, id string) (alert.Alert, error)
	Watches(ctx context.Context, v access.Viewer) ([]alert.Watch, error)
	// Raised returns a channel closed when the next alert is raised.
	Raised() <-chan struct{}
}

// Options configure a [Server]. Parts left nil leave their pages saying the
// node does not have them.
type Options struct {
	// Logger receives errors the pages hide from visitors. Default: discard.
	Logger *slog.Logger
	// PublicRead lets visitors who have not signed in read TLP:CLEAR
	// intelligence, as the REST API's option of that name does.
	PublicRead bool
	Chain      ChainIndex
	Screener   Screener
	Tracer     *trace.Tracer
	Clusters   *cluster.Index
	Alerts     Alerts
	// Operator is the node's operator organisation (its identity id, or
	// its name), whose admins see the peers on the sharing page.
	Operator string
	// PublicURL is the base URL visitors reach the node at, when a proxy
	// stands in front of it; an https:// URL makes the session cookie
	// Secure even though the proxy speaks plain HTTP to the node.
	PublicURL string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Server is the user interface. It is safe for concurrent use.
type Server struct {
	svc   *intel.Service
	log   *slog.Logger
	opts  Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	// csrfKey signs CSRF tokens. It is made at start: a form older than
	// the process asks to be sent again.
	csrfKey []byte
	static  http.Handler
	// traces keeps what the trace and incident pages traced, until the
	// intelligence or the chain changes.
	traces memo[traceKey, *trace.Result]
}

// New returns the interface over svc.
func New(svc *intel.Service, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc:     svc,
		log:     opts.Logger,
		opts:    opts,
		mux:     http.NewServeMux(),
		pages:   pages,
		csrfKey: make([]byte, 32),
		static:  http.StripPrefix("/static/", http.FileServerFS(static)),
	}
	if _, err := rand.Read(s.csrfKey); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the interface's HTTP handler, to be served at "/".
func (s *Server) Handler() http.Handler { return s.mux }

// handler is a page: it writes a response or returns an error, which the
// server shows as an error page with the status the error's code maps to.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes() {
	s.mux.Handle("GET /static/", s.secure(http.HandlerFunc(s.staticFiles)))
	for _, rt := range s.pageRoutes() {
		s.mux.Handle(rt.pattern, s.secure(s.page(rt.h, rt.signedIn)))
	}
	s.mux.Handle("/", s.secure(s.page(func(w http.ResponseWriter, r *http.Request) error {
		return fault.New(fault.NotFound, "no page at %s", r.URL.Path)
	}, false)))
}

// route is one page. Pages with signedIn need a token; the others show an
// anonymous visitor what it may see (TLP:CLEAR) when PublicRead is on, and
// send it to the sign-in form when it is off.
type route struct {
	pattern  string
	signedIn bool
	h        handler
}

func (s *Server) pageRoutes() []route {
	return []route{
		{"GET /{$}", false, s.home},
		{"GET /signin", false, s.signinForm},
		{"POST /signin", false, s.signin},
		{"POST /signout", false, s.signout},
		{"GET /incidents", false, s.incidents},
		{"GET /incidents/new", true, s.incidentNew},
		{"POST /incidents", true, s.incidentCreate},
		{"GET /incidents/{id}", false, s.incident},
		{"GET /incidents/{id}/edit", true, s.incidentEdit},
		{"POST /incidents/{id}", true, s.incidentUpdate},
		{"GET /actors", false, s.actors},
		{"GET /actors/{id}", false, s.actor},
		{"GET /address/{chain}/{address}", false, s.address},
		{"GET /trace", false, s.traceView},
		{"GET /trace/export", false, s.traceExport},
		{"GET /report", false, s.report},
		{"GET /alerts", true, s.alerts},
		{"GET /alerts/stream", true, s.alertStream},
		{"POST /alerts/{id}/ack", true, s.ackAlert},
		{"GET /sharing", true, s.sharing},
		{"GET /orgs", true, s.orgs},
		{"POST /orgs", true, s.createOrg},
		{"POST /orgs/{org}/tokens", true, s.createToken},
		{"POST /tokens/{id}/revoke", true, s.revokeToken},
	}
}

// PagePatterns lists the interface's pages as "METHOD /path" patterns.
func PagePatterns() []string {
	var s Server
	var out []string
	for _, rt := range s.pageRoutes() {
		out = append(out, rt.pattern)
	}
	return out
}

// secure sets the headers every response carries: a strict
// Content-Security-Policy (no inline script or style, nothing from
// elsewhere), no framing, no sniffing, no referrer.
func (s *Server) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) staticFiles(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.static.ServeHTTP(w, r)
}

// page runs h as the request's viewer, after the session and CSRF checks.
func (s *Server) page(h handler, signedIn bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			// A revoked or expired token: forget it and say so.
			s.clearCookie(w, r)
			s.fail(w, r, &session{}, err)
			return
		}
		ctx := withSession(r.Context(), sess)
		r = r.WithContext(access.WithViewer(ctx, sess.viewer))
		if sess.viewer.Anonymous() && (signedIn || !s.opts.PublicRead) && !openPage(r) {
			http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := s.checkCSRF(r, sess); err != nil {
				s.fail(w, r, sess, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, sess, err)
		}
	})
}

// openPage says whether anyone may see r's page: the home page (which
// invites to sign in) and the sign-in form itself.
func openPage(r *http.Request) bool {
	switch r.URL.Path {
	case "/", "/signin", "/signout":
		return true
	}
	return false
}

// fail shows err as an error page. Errors without a code are internal:
// logged, and shown as such without their details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := fault.HTTPStatus(err)
	msg := fault.MessageOf(err)
	if fault.CodeOf(err) == "" {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	}
	s.renderStatus(w, r, sess, status, "error", "Error", errorPage{Status: status, StatusText: http.StatusText(status), Message: msg})
}

type errorPage struct {
	Status     int
	StatusText string
	Message    string
}

// view is what every page template gets: the page's own data in Data,
// and the frame (who is signed in, the CSRF token for forms, the nav).
type view struct {
	Title    string
	Nav      string
	Org      string
	Role     string
	SignedIn bool
	Admin    bool
	Operator bool
	CSRF     string
	Data     any
}

// render writes page name with data, status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) error {
	s.renderStatus(w, r, sessionFrom(r.Context()), http.StatusOK, name, title, data)
	return nil
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, sess *session, status int, name, title string, data any) {
	t, ok := s.pages[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Nav: navOf(r.URL.Path), Data: data}
	if sess != nil && !sess.viewer.Anonymous() {
		v.SignedIn = true
		v.Org = sess.orgName
		v.Role = string(sess.viewer.Role)
		v.Admin = sess.viewer.Role == access.Admin
		v.Operator = v.Admin && (sess.viewer.Org == s.opts.Operator || sess.orgName == s.opts.Operator)
		v.CSRF = s.csrfToken(sess)
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// navOf names the navigation entry a path belongs to.
func navOf(p string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return first
}

// parsePages parses each page under templates/pages with the layout and
// the shared partials.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, fmt.Errorf("web template %s: %w", n, err)
		}
		pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return pages, nil
}
