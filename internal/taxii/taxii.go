// Package taxii serves a node's intelligence over TAXII 2.1: discovery, an
// API root, collections, objects, manifests, versions and status.
//
// Every read goes through the intel service as the request's viewer, so
// two organisations reading the same collection see different objects.
// Collections are views of the node's store: each selects object types (or
// all) and says which roles may read and write it. Objects written through
// a collection are stored in the node like any other, each valid object
// stored and each invalid one named in the status resource, as the TAXII
// specification asks.
package taxii

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/intel"
)

// Anonymous is the pseudo-role of requests without a token, for
// [Collection.CanRead].
const Anonymous access.Role = "anonymous"

// DefaultCollectionID is the id of the collection a node serves when none
// is configured.
const DefaultCollectionID = "f834b955-44a0-464d-be32-75464ffbeefa"

// Collection configures one TAXII collection.
type Collection struct {
	// ID is the collection's UUID.
	ID string `json:"id"`
	// Title and Description describe it to clients.
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Alias is an optional short name clients may use instead of the id.
	Alias string `json:"alias,omitempty"`
	// Types restricts the collection to these object types; empty: all.
	Types []string `json:"types,omitempty"`
	// CanRead and CanWrite list the roles (and Anonymous) that may read
	// and write it.
	CanRead  []access.Role `json:"can_read"`
	CanWrite []access.Role `json:"can_write"`
}

// DefaultCollections returns the collection a node serves when none is
// configured: every object, readable by every role (and by anonymous
// requests when the node allows public reads), writable by contributors,
// admins and peer nodes.
func DefaultCollections() []Collection {
	return []Collection{{
		ID:          DefaultCollectionID,
		Title:       "cointrail",
		Description: "Every object this node holds that the requester may see: incidents, attributions, flagged addresses, labels.",
		Alias:       "cointrail",
		CanRead:     []access.Role{access.Reader, access.Contributor, access.Admin, access.Sync, Anonymous},
		CanWrite:    []access.Role{access.Contributor, access.Admin, access.Sync},
	}}
}

// Config configures a [Server]. The zero value serves the default
// collection with the defaults below.
type Config struct {
	// Title, Description and Contact describe the server in discovery.
	// Default title: "cointrail".
	Title, Description, Contact string
	// PublicURL is the base URL clients reach the node at, such as
	// "https://intel.example.org" behind a reverse proxy. Discovery's URLs
	// are absolute, built on it. Default: the scheme and Host of each
	// request.
	PublicURL string
	// Discovery is the path of the discovery resource. Default: "/taxii2/".
	Discovery string
	// APIRoot is the path of the API root. Default: "/taxii/". It is a
	// top-level path, not one under Discovery, because some clients (MISP)
	// keep only the last segment of an API root's URL and put it under the
	// server's base URL.
	APIRoot string
	// Collections are the collections served. Default: DefaultCollections.
	Collections []Collection
	// DefaultPageSize is the page size when a request gives no limit, and
	// MaxPageSize the largest a request may ask for (a larger limit is
	// lowered to it). Defaults: 1000 and 10000.
	DefaultPageSize, MaxPageSize int
	// MaxContentLength is the largest request body, announced in the API
	// root. Default: 32 MiB.
	MaxContentLength int64
	// StatusTTL is how long status resources are kept, and MaxStatuses how
	// many. Defaults: 24h and 10000.
	StatusTTL   time.Duration
	MaxStatuses int
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
}

// Validate fills in defaults and reports every problem of the
// configuration in one error.
func (c *Config) Validate() error {
	if c.Title == "" {
		c.Title = "cointrail"
	}
	if c.Discovery == "" {
		c.Discovery = "/taxii2/"
	}
	if c.APIRoot == "" {
		c.APIRoot = "/taxii/"
	}
	for _, p := range []string{c.Discovery, c.APIRoot} {
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || p == "/" {
			return fmt.Errorf("taxii: path %q must start and end with / and not be the root", p)
		}
	}
	if strings.HasPrefix(c.APIRoot, c.Discovery) || strings.HasPrefix(c.Discovery, c.APIRoot) {
		return fmt.Errorf("taxii: the discovery path %q and the API root %q must not contain each other", c.Discovery, c.APIRoot)
	}
	if c.Collections == nil {
		c.Collections = DefaultCollections()
	}
	if c.DefaultPageSize <= 0 {
		c.DefaultPageSize = 1000
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = intel.MaxPageSize
	}
	c.MaxPageSize = min(c.MaxPageSize, intel.MaxPageSize)
	c.DefaultPageSize = min(c.DefaultPageSize, c.MaxPageSize)
	if c.MaxContentLength <= 0 {
		c.MaxContentLength = 32 << 20
	}
	if c.StatusTTL <= 0 {
		c.StatusTTL = 24 * time.Hour
	}
	if c.MaxStatuses <= 0 {
		c.MaxStatuses = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	var problems []string
	seen := map[string]bool{}
	for i, col := range c.Collections {
		if !uuidLike(col.ID) {
			problems = append(problems, fmt.Sprintf("collection %d: id %q is not a UUID", i, col.ID))
		}
		if seen[col.ID] || (col.Alias != "" && seen[col.Alias]) {
			problems = append(problems, fmt.Sprintf("collection %d: id or alias used twice", i))
		}
		seen[col.ID] = true
		if col.Alias != "" {
			seen[col.Alias] = true
		}
		if col.Title == "" {
			problems = append(problems, fmt.Sprintf("collection %s: no title", col.ID))
		}
		for _, r := range append(slices.Clone(col.CanRead), col.CanWrite...) {
			if r == Anonymous {
				continue
			}
			if _, err := access.ParseRole(string(r)); err != nil {
				problems = append(problems, fmt.Sprintf("collection %s: %v", col.ID, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("taxii: %s", strings.Join(problems, "; "))
	}
	return nil
}

func uuidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// Server is the TAXII 2.1 interface of a node. It is safe for concurrent
// use.
type Server struct {
	svc      *intel.Service
	cfg      Config
	statuses *statusStore
}

// New returns a TAXII server over svc. Mount its handler at each of
// [Server.Paths] behind an authenticating front that puts the viewer in the
// request's context ([access.WithViewer]).
func New(svc *intel.Service, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{svc: svc, cfg: cfg, statuses: newStatusStore(cfg.MaxStatuses, cfg.StatusTTL, svc.Now)}, nil
}

// Paths returns the paths the server serves under: the discovery resource's
// and the API root's.
func (s *Server) Paths() []string { return []string{s.cfg.Discovery, s.cfg.APIRoot} }

// canRead and canWrite apply a collection's roles to a viewer.
func canRead(c *Collection, v access.Viewer) bool {
	if v.Anonymous() {
		return slices.Contains(c.CanRead, Anonymous)
	}
	return slices.Contains(c.CanRead, v.Role)
}

func canWrite(c *Collection, v access.Viewer) bool {
	return !v.Anonymous() && slices.Contains(c.CanWrite, v.Role)
}

func (s *Server) collection(idOrAlias string) *Collection {
	for i := range s.cfg.Collections {
		c := &s.cfg.Collections[i]
		if c.ID == idOrAlias || (c.Alias != "" && c.Alias == idOrAlias) {
			return c
		}
	}
	return nil
}

// baseURL returns the absolute base URL of the server for r, without a
// trailing slash.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	var err error
	switch {
	case path == s.cfg.Discovery:
		err = only(r, "GET", func() error { return s.discovery(w, r) })
	case strings.HasPrefix(path, s.cfg.APIRoot):
		parts := strings.FieldsFunc(path[len(s.cfg.APIRoot):], func(c rune) bool { return c == '/' })
		err = s.route(w, r, parts)
	default:
		err = errNotFound("no TAXII resource at %s", r.URL.Path)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// route routes a request under the API root; p are the path's segments
// after it.
func (s *Server) route(w http.ResponseWriter, r *http.Request, p []string) error {
	switch {
	case len(p) == 0:
		return only(r, "GET", func() error { return s.apiRoot(w, r) })
	case p[0] == "status" && len(p) == 2:
		return only(r, "GET", func() error { return s.status(w, r, p[1]) })
	case p[0] != "collections":
		return errNotFound("no resource %q in the API root", p[0])
	case len(p) == 1:
		return only(r, "GET", func() error { return s.collections(w, r) })
	}
	col := s.collection(p[1])
	if col == nil {
		return errNotFound("no collection %q", p[1])
	}
	v := access.ViewerFrom(r.Context())
	if !canRead(col, v) && !canWrite(col, v) {
		return denied(v, "collection %s", col.ID)
	}
	switch {
	case len(p) == 2:
		return only(r, "GET", func() error { return s.getCollection(w, r, col) })
	case p[2] == "manifest" && len(p) == 3:
		return only(r, "GET", func() error { return s.manifest(w, r, col) })
	case p[2] != "objects":
		return errNotFound("no resource %q in collection %s", p[2], col.ID)
	case len(p) == 3:
		switch r.Method {
		case "GET", "HEAD":
			return s.getObjects(w, r, col)
		case "POST":
			return s.addObjects(w, r, col)
		}
		return errMethod(r, "GET, POST")
	case len(p) == 4:
		switch r.Method {
		case "GET", "HEAD":
			return s.getObject(w, r, col, p[3])
		case "DELETE":
			return s.deleteObject(w, r, col, p[3])
		}
		return errMethod(r, "GET, DELETE")
	case len(p) == 5 && p[4] == "versions":
		return only(r, "GET", func() error { return s.versions(w, r, col, p[3]) })
	}
	return errNotFound("no TAXII resource at %s", r.URL.Path)
}

// only runs h for method (and HEAD, for GET), and refuses other methods.
func only(r *http.Request, method string, h func() error) error {
	if r.Method == method || (method == "GET" && r.Method == "HEAD") {
		return h()
	}
	return errMethod(r, method)
}
