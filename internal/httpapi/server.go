// Package httpapi serves a node's REST API under /api/v1/, its health
// checks and its Prometheus metrics.
//
// Every handler acts as the [access.Viewer] the request's token stands for
// and goes through the intel service, which applies the access rules; no
// handler filters by itself. Errors are JSON objects
// {"error": {"code", "message"}} with the status their code maps to.
package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// Options configure a [Server]. The zero value is valid.
type Options struct {
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
	// MaxBodyBytes caps a request body. Default: 32 MiB.
	MaxBodyBytes int64
	// RatePerSecond is each token's sustained request rate (anonymous
	// requests are limited per client address). 0 means the default of 50;
	// a negative value turns limiting off.
	RatePerSecond float64
	// RateBurst is how many requests a token may make at once. Default: 100.
	RateBurst int
	// PublicRead lets requests without a token read TLP:CLEAR objects.
	// Default: false.
	PublicRead bool
	// Registry receives the server's metrics. Default: a new registry with
	// the Go and process collectors.
	Registry *prometheus.Registry
	// Version is reported by /healthz. Default: "dev".
	Version string
	// NodeDocument returns the node's signed document (its keys and
	// organisations) that peers bind to; served at /api/v1/node when set.
	NodeDocument func(ctx context.Context) ([]byte, error)
	// Chain, if set, serves the chain index under /api/v1/chains/.
	Chain ChainReader
	// Screener, if set, screens addresses: /api/v1/screen.
	Screener Screener
	// Tracer, if set, runs traces: POST /api/v1/traces.
	Tracer *trace.Tracer
	// TraceWait is how long POST /api/v1/traces waits for a trace before
	// it answers with a job. Default: 2s.
	TraceWait time.Duration
	// Alerts, if set, serves watches and alerts under /api/v1/watches and
	// /api/v1/alerts.
	Alerts Alerts
	// AlertKeepAlive is how often an idle alert stream gets a comment.
	// Default: 15s.
	AlertKeepAlive time.Duration
	// UI, if set, serves every path the API does not: the web interface.
	// It does its own authentication (a session cookie, not a header).
	UI http.Handler
}

// Server is the REST API. It is safe for concurrent use.
type Server struct {
	svc     *intel.Service
	log     *slog.Logger
	opts    Options
	mux     *http.ServeMux
	limiter *limiter
	metrics *metrics
	reg     *prometheus.Registry
	traces  traceJobs
}

// New returns a server over svc.
func New(svc *intel.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.TraceWait <= 0 {
		opts.TraceWait = 2 * time.Second
	}
	if opts.AlertKeepAlive <= 0 {
		opts.AlertKeepAlive = 15 * time.Second
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond = 50
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = 100
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{
		svc:     svc,
		log:     opts.Logger,
		opts:    opts,
		mux:     http.NewServeMux(),
		metrics: newMetrics(reg),
		reg:     reg,
	}
	if opts.RatePerSecond > 0 {
		s.limiter = newLimiter(opts.RatePerSecond, opts.RateBurst, svc.Now)
	}
	s.routes()
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// MountOptions configure a handler mounted beside the REST API.
type MountOptions struct {
	// Public lets anonymous requests through when PublicRead is on.
	Public bool
	// WriteError writes the errors the front raises (authentication, rate
	// limit, body size) in the mounted interface's own format. Default: the
	// REST API's JSON errors.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
}

// Mount serves h under pattern behind the server's authentication, rate
// limit, body limit and metrics, for interfaces served beside the REST API
// (TAXII). h finds its viewer with [access.ViewerFrom].
func (s *Server) Mount(pattern string, h http.Handler, o MountOptions) {
	writeErr := o.WriteError
	if writeErr == nil {
		writeErr = func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, s.log, err) }
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		err := s.serve(sw, r, o.Public, func(w http.ResponseWriter, r *http.Request) error {
			h.ServeHTTP(w, r)
			return nil
		})
		if err != nil {
			writeErr(sw, r, normalize(err))
		}
		s.metrics.observe(pattern, sw.status, time.Since(start))
	})
}

// Routes lists the REST endpoints as "METHOD /path" patterns.
func Routes() []string {
	var s Server
	var out []string
	for _, rt := range s.apiRoutes() {
		out = append(out, rt.pattern)
	}
	return out
}

// route is one REST endpoint. Public routes serve anonymous requests when
// PublicRead is on; the rest need a token.
type route struct {
	pattern string
	public  bool
	h       func(http.ResponseWriter, *http.Request) error
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	s.mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	for _, rt := range s.apiRoutes() {
		s.handle(rt.pattern, rt.public, rt.h)
	}
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, notFoundRoute(r))
	})
	if s.opts.UI != nil {
		s.mux.Handle("/", s.ui(s.opts.UI))
	}
}

func (s *Server) apiRoutes() []route {
	return []route{
		{"POST /api/v1/objects", false, s.postObjects},
		{"GET /api/v1/objects", true, s.listObjects},
		{"GET /api/v1/objects/{id}", true, s.getObject},
		{"GET /api/v1/objects/{id}/versions", true, s.getVersions},
		{"POST /api/v1/objects/{id}/revoke", false, s.revokeObject},
		{"GET /api/v1/flags", false, s.getFlags},
		{"GET /api/v1/incidents", false, s.getIncidents},
		{"GET /api/v1/report", false, s.getReport},
		{"GET /api/v1/whoami", false, s.whoami},
		{"GET /api/v1/orgs", false, s.listOrgs},
		{"POST /api/v1/orgs", false, s.createOrg},
		{"GET /api/v1/orgs/{org}/tokens", false, s.listTokens},
		{"POST /api/v1/orgs/{org}/tokens", false, s.createToken},
		{"DELETE /api/v1/tokens/{id}", false, s.revokeToken},
		{"GET /api/v1/audit", false, s.getAudit},
		{"GET /api/v1/node", false, s.getNode},
		{"GET /api/v1/chains/{chain}/tx/{hash}", true, s.getChainTx},
		{"GET /api/v1/chains/{chain}/address/{address}", true, s.getChainAddress},
		{"GET /api/v1/chains/{chain}/status", true, s.getChainStatus},
		{"POST /api/v1/traces", false, s.postTrace},
		{"GET /api/v1/screen/{chain}/{address}", false, s.getScreen},
		{"POST /api/v1/screen", false, s.postScreen},
		{"GET /api/v1/traces/{id}", false, s.getTrace},
		{"DELETE /api/v1/traces/{id}", false, s.deleteTrace},
		{"GET /api/v1/watches", false, s.listWatches},
		{"POST /api/v1/watches", false, s.postWatch},
		{"DELETE /api/v1/watches/{id}", false, s.deleteWatch},
		{"GET /api/v1/alerts", false, s.listAlerts},
		{"GET /api/v1/alerts/stream", false, s.streamAlerts},
		{"POST /api/v1/alerts/{id}/ack", false, s.ackAlert},
	}
}

// ui serves the web interface behind the rate limit (per client address:
// its visitors sign in with a cookie the API does not read) and the
// metrics, under the route "/". A visitor over the limit gets a plain
// 429 with Retry-After.
func (s *Server) ui(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.metrics.observe("/", sw.status, time.Since(start)) }()
		if s.limiter != nil {
			if wait, ok := s.limiter.allow("ui:" + clientAddr(r)); !ok {
				sw.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				http.Error(sw, "too many requests: try again in a moment", http.StatusTooManyRequests)
				return
			}
		}
		h.ServeHTTP(sw, r)
	})
}

// ViewerFrom returns the viewer a request acts as.
func ViewerFrom(ctx context.Context) access.Viewer { return access.ViewerFrom(ctx) }

// handle registers h behind authentication, rate limiting, the body limit,
// metrics and error mapping.
func (s *Server) handle(pattern string, public bool, h func(http.ResponseWriter, *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		err := s.serve(sw, r, public, h)
		if err != nil {
			writeError(sw, r, s.log, err)
		}
		s.metrics.observe(pattern, sw.status, time.Since(start))
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, public bool, h func(http.ResponseWriter, *http.Request) error) error {
	v, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if v.Anonymous() && !(public && s.opts.PublicRead) {
		return errNoToken
	}
	if s.limiter != nil {
		key := "token:" + v.TokenID
		if v.Anonymous() {
			key = "addr:" + clientAddr(r)
		}
		if wait, ok := s.limiter.allow(key); !ok {
			return rateLimited(wait)
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	return h(w, r.WithContext(access.WithViewer(r.Context(), v)))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.svc.Store().LastAdded(ctx); err != nil {
		s.log.ErrorContext(ctx, "readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through, for streaming responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// getNode serves the node's signed document to any token holder (a peer
// node adding this one uses its sync token).
func (s *Server) getNode(w http.ResponseWriter, r *http.Request) error {
	if s.opts.NodeDocument == nil {
		return notFoundRoute(r)
	}
	doc, err := s.opts.NodeDocument(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(doc)
	return nil
}
