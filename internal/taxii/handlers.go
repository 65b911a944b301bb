package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// timeLayout writes TAXII timestamps (date_added, versions of observables)
// with the microseconds a node's date_added carries.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatAdded(us int64) string { return time.UnixMicro(us).UTC().Format(timeLayout) }

// Discovery is the discovery resource.
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots"`
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) error {
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	root := s.baseURL(r) + s.cfg.APIRoot
	writeJSONAs(w, http.StatusOK, mt, Discovery{
		Title: s.cfg.Title, Description: s.cfg.Description, Contact: s.cfg.Contact,
		Default: root, APIRoots: []string{root},
	})
	return nil
}

// APIRoot is the API root resource.
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) error {
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	writeJSONAs(w, http.StatusOK, mt, APIRoot{
		Title: s.cfg.Title, Description: s.cfg.Description,
		Versions: []string{mediaTAXII}, MaxContentLength: s.cfg.MaxContentLength,
	})
	return nil
}

// CollectionInfo is the collection resource.
type CollectionInfo struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

func info(c *Collection, v access.Viewer) CollectionInfo {
	return CollectionInfo{
		ID: c.ID, Title: c.Title, Description: c.Description, Alias: c.Alias,
		CanRead: canRead(c, v), CanWrite: canWrite(c, v), MediaTypes: []string{mediaSTIX},
	}
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) error {
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	v := access.ViewerFrom(r.Context())
	var out struct {
		Collections []CollectionInfo `json:"collections,omitempty"`
	}
	for i := range s.cfg.Collections {
		c := &s.cfg.Collections[i]
		if canRead(c, v) || canWrite(c, v) {
			out.Collections = append(out.Collections, info(c, v))
		}
	}
	writeJSONAs(w, http.StatusOK, mt, out)
	return nil
}

func (s *Server) getCollection(w http.ResponseWriter, r *http.Request, c *Collection) error {
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	writeJSONAs(w, http.StatusOK, mt, info(c, access.ViewerFrom(r.Context())))
	return nil
}

// filter is what a request's query parameters select.
type filter struct {
	q     intel.ListQuery
	limit int
}

// parseFilter reads added_after, limit, next and the match[] parameters.
func (s *Server) parseFilter(r *http.Request, c *Collection, allowed ...string) (filter, error) {
	vals := r.URL.Query()
	f := filter{limit: s.cfg.DefaultPageSize}
	f.q.IncludeRevoked = true
	for name := range vals {
		if strings.HasPrefix(name, "match[") && !slices.Contains(allowed, name) {
			return f, fault.New(fault.Malformed, "parameter %s is not supported here", name)
		}
	}
	if a := vals.Get("added_after"); a != "" {
		t, err := time.Parse(time.RFC3339Nano, a)
		if err != nil {
			return f, fault.New(fault.Malformed, "added_after %q is not a timestamp", a)
		}
		f.q.AddedAfter = t
	}
	if l := vals.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return f, fault.New(fault.Malformed, "limit %q is not a positive integer", l)
		}
		f.limit = min(n, s.cfg.MaxPageSize)
	}
	f.q.Limit = f.limit
	// A next this server did not make (a client may keep one from another
	// server, or a stale one) is ignored rather than refused.
	if next := vals.Get("next"); next != "" {
		if _, err := intel.DecodeCursor(next); err == nil {
			f.q.Cursor = next
		}
	}
	f.q.IDs = splitList(vals.Get("match[id]"))
	for _, id := range f.q.IDs {
		if !stix.IsID(id) {
			return f, fault.New(fault.Malformed, "match[id] %q is not a STIX identifier", id)
		}
	}
	types := splitList(vals.Get("match[type]"))
	switch {
	case len(c.Types) == 0:
		f.q.Types = types
	case len(types) == 0:
		f.q.Types = c.Types
	default:
		for _, t := range types {
			if slices.Contains(c.Types, t) {
				f.q.Types = append(f.q.Types, t)
			}
		}
		if len(f.q.Types) == 0 {
			f.q.Types = []string{"-"} // the collection holds none of the types asked for
		}
	}
	vm, err := intel.ParseVersionMatch(vals.Get("match[version]"))
	if err != nil {
		return f, err
	}
	f.q.Versions = vm
	f.q.SpecVersions = splitList(vals.Get("match[spec_version]"))
	return f, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var objectsMatch = []string{"match[id]", "match[type]", "match[version]", "match[spec_version]"}

// page lists one page for f as r's viewer, and sets the TAXII date headers.
func (s *Server) page(w http.ResponseWriter, r *http.Request, f filter) (*intel.Page, error) {
	page, err := s.svc.List(r.Context(), access.ViewerFrom(r.Context()), f.q)
	if err != nil {
		return nil, err
	}
	if n := len(page.Records); n > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", formatAdded(page.Records[0].DateAdded))
		w.Header().Set("X-TAXII-Date-Added-Last", formatAdded(page.Records[n-1].DateAdded))
	}
	return page, nil
}

// writeEnvelope writes a TAXII envelope around stored objects, by hand:
// they are canonical JSON already.
func writeEnvelope(w http.ResponseWriter, mt string, page *intel.Page) {
	var buf bytes.Buffer
	buf.WriteString(`{"more":`)
	buf.WriteString(strconv.FormatBool(page.Next != ""))
	if page.Next != "" {
		buf.WriteString(`,"next":`)
		buf.WriteString(strconv.Quote(page.Next))
	}
	if len(page.Records) > 0 {
		buf.WriteString(`,"objects":[`)
		for i := range page.Records {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(page.Records[i].Data)
		}
		buf.WriteByte(']')
	}
	buf.WriteString("}")
	w.Header().Set("Content-Type", mt)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// readable checks that r's viewer may read collection c and picks the
// response's media type (stix: an object endpoint, which may answer STIX's).
func (s *Server) readable(r *http.Request, c *Collection, stix bool) (string, error) {
	v := access.ViewerFrom(r.Context())
	if !canRead(c, v) {
		return "", denied(v, "reading collection %s", c.ID)
	}
	return negotiate(r, stix)
}

func (s *Server) getObjects(w http.ResponseWriter, r *http.Request, c *Collection) error {
	mt, err := s.readable(r, c, true)
	if err != nil {
		return err
	}
	f, err := s.parseFilter(r, c, objectsMatch...)
	if err != nil {
		return err
	}
	page, err := s.page(w, r, f)
	if err != nil {
		return err
	}
	writeEnvelope(w, mt, page)
	return nil
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, c *Collection, id string) error {
	mt, err := s.readable(r, c, true)
	if err != nil {
		return err
	}
	if !stix.IsID(id) {
		return fault.New(fault.Malformed, "%q is not a STIX identifier", id)
	}
	if len(c.Types) > 0 && !slices.Contains(c.Types, stix.TypeOf(id)) {
		return errNotFound("no object %s in collection %s", id, c.ID)
	}
	f, err := s.parseFilter(r, c, "match[version]", "match[spec_version]")
	if err != nil {
		return err
	}
	f.q.IDs, f.q.Types = []string{id}, nil
	page, err := s.page(w, r, f)
	if err != nil {
		return err
	}
	if len(page.Records) == 0 && f.q.Cursor == "" && f.q.AddedAfter.IsZero() {
		return errNotFound("no object %s in collection %s", id, c.ID)
	}
	writeEnvelope(w, mt, page)
	return nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, c *Collection, id string) error {
	v := access.ViewerFrom(r.Context())
	if !canWrite(c, v) {
		return denied(v, "deleting from collection %s", c.ID)
	}
	if _, err := negotiate(r, false); err != nil {
		return err
	}
	if !stix.IsID(id) {
		return fault.New(fault.Malformed, "%q is not a STIX identifier", id)
	}
	// Without match[version] every version goes; "all" too; "first" and
	// "last" name the oldest and newest version the viewer holds.
	var versions []string
	if raw := r.URL.Query().Get("match[version]"); raw != "" {
		vm, err := intel.ParseVersionMatch(raw)
		if err != nil {
			return err
		}
		if !vm.All {
			versions = vm.At
			if vm.First || vm.Last {
				held, err := s.svc.Versions(r.Context(), v, id)
				if err != nil {
					return err
				}
				var own []string
				for _, h := range held {
					if h.Owner == v.Org && h.Version != "" {
						own = append(own, h.Version)
					}
				}
				if len(own) > 0 {
					slices.Sort(own)
					if vm.First {
						versions = append(versions, own[0])
					}
					if vm.Last {
						versions = append(versions, own[len(own)-1])
					}
				}
			}
			if len(versions) == 0 {
				return errNotFound("no version of %s matches %q", id, raw)
			}
		}
	}
	if _, err := s.svc.Delete(r.Context(), v, id, versions); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// versionOf returns the TAXII version of a stored object: "modified",
// else "created", else the node's date_added.
func versionOf(rec *intel.Record) string {
	var o struct {
		Modified string `json:"modified"`
		Created  string `json:"created"`
	}
	_ = json.Unmarshal(rec.Data, &o)
	switch {
	case o.Modified != "":
		return o.Modified
	case o.Created != "":
		return o.Created
	}
	return formatAdded(rec.DateAdded)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, c *Collection, id string) error {
	mt, err := s.readable(r, c, false)
	if err != nil {
		return err
	}
	if !stix.IsID(id) {
		return fault.New(fault.Malformed, "%q is not a STIX identifier", id)
	}
	f, err := s.parseFilter(r, c, "match[spec_version]")
	if err != nil {
		return err
	}
	f.q.IDs, f.q.Types, f.q.Versions = []string{id}, nil, intel.VersionMatch{All: true}
	page, err := s.page(w, r, f)
	if err != nil {
		return err
	}
	if len(page.Records) == 0 && f.q.Cursor == "" && f.q.AddedAfter.IsZero() {
		return errNotFound("no object %s in collection %s", id, c.ID)
	}
	out := struct {
		More     bool     `json:"more"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}{More: page.Next != "", Next: page.Next}
	for i := range page.Records {
		out.Versions = append(out.Versions, versionOf(&page.Records[i]))
	}
	writeJSONAs(w, http.StatusOK, mt, out)
	return nil
}

// ManifestRecord describes one object version in a manifest.
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type"`
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, c *Collection) error {
	mt, err := s.readable(r, c, false)
	if err != nil {
		return err
	}
	f, err := s.parseFilter(r, c, objectsMatch...)
	if err != nil {
		return err
	}
	page, err := s.page(w, r, f)
	if err != nil {
		return err
	}
	out := struct {
		More    bool             `json:"more"`
		Next    string           `json:"next,omitempty"`
		Objects []ManifestRecord `json:"objects,omitempty"`
	}{More: page.Next != "", Next: page.Next}
	for i := range page.Records {
		rec := &page.Records[i]
		out.Objects = append(out.Objects, ManifestRecord{
			ID: rec.ID, DateAdded: formatAdded(rec.DateAdded), Version: versionOf(rec), MediaType: mediaSTIX,
		})
	}
	writeJSONAs(w, http.StatusOK, mt, out)
	return nil
}

// readObjects decodes an add-objects body: a TAXII envelope, or a STIX
// bundle (clients send both).
func readObjects(body []byte) ([]*stix.Object, error) {
	var head struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, fault.New(fault.Malformed, "the body is not a TAXII envelope or a STIX bundle: %v", err)
	}
	if head.Type == "bundle" {
		b, err := stix.ParseBundle(body)
		if err != nil {
			return nil, fault.New(fault.Malformed, "%v", err)
		}
		return b.Objects, nil
	}
	if head.Type != "" {
		return nil, fault.New(fault.Malformed, "the body is a %q, not a TAXII envelope or a STIX bundle", head.Type)
	}
	objs := make([]*stix.Object, 0, len(head.Objects))
	for i, raw := range head.Objects {
		o, err := stix.Parse(raw)
		if err != nil {
			return nil, fault.New(fault.Malformed, "objects[%d]: %v", i, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func (s *Server) addObjects(w http.ResponseWriter, r *http.Request, c *Collection) error {
	v := access.ViewerFrom(r.Context())
	if !canWrite(c, v) {
		return denied(v, "writing to collection %s", c.ID)
	}
	if err := checkContentType(r); err != nil {
		return err
	}
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxContentLength+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fault.Wrap(fault.Malformed, err, "cannot read the request body")
	}
	if int64(len(body)) > s.cfg.MaxContentLength {
		return fault.New(fault.TooLarge, "request body is over max_content_length, %d bytes", s.cfg.MaxContentLength)
	}
	objs, err := readObjects(body)
	if err != nil {
		return err
	}
	requested := s.svc.Now()
	st := &Status{ID: newStatusID(), Status: "complete", RequestTimestamp: requested.UTC().Format(timeLayout)}
	var accepted []*stix.Object
	for _, o := range objs {
		if len(c.Types) > 0 && !slices.Contains(c.Types, o.Type) {
			st.Failures = append(st.Failures, StatusDetail{ID: o.ID, Version: o.Modified(), Message: "collection " + c.ID + " does not hold objects of type " + o.Type})
			continue
		}
		accepted = append(accepted, o)
	}
	if len(accepted) > 0 && v.Role == access.Sync {
		// A peer node pushing: its objects keep their owners and must carry
		// their owner's node's signature.
		res, err := s.svc.Receive(r.Context(), v, accepted, intel.ReceiveOptions{From: "push by " + v.Org})
		if err != nil {
			return err
		}
		failed := map[string]string{}
		for _, rj := range res.Rejections {
			failed[rj.ID+"|"+rj.Version] = rj.Error
			st.Failures = append(st.Failures, StatusDetail{ID: rj.ID, Version: rj.Version, Message: rj.Error})
		}
		for _, o := range accepted {
			if _, bad := failed[o.ID+"|"+o.Modified()]; !bad {
				st.Successes = append(st.Successes, StatusDetail{ID: o.ID, Version: o.Modified(), Message: "received"})
			}
		}
		accepted = nil
	}
	if len(accepted) > 0 {
		res, err := s.svc.Submit(r.Context(), v, accepted, intel.SubmitOptions{Partial: true})
		if err != nil {
			return err
		}
		for _, o := range res.Objects {
			d := StatusDetail{ID: o.ID, Version: o.Version}
			switch o.Status {
			case intel.Added:
				d.Message = "added"
				st.Successes = append(st.Successes, d)
			case intel.Unchanged:
				d.Message = "already held"
				st.Successes = append(st.Successes, d)
			default:
				d.Message = o.Error
				st.Failures = append(st.Failures, d)
			}
		}
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	st.TotalCount = len(objs)
	s.statuses.put(st, v.Org)
	writeJSONAs(w, http.StatusAccepted, mt, st)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, id string) error {
	mt, err := negotiate(r, false)
	if err != nil {
		return err
	}
	v := access.ViewerFrom(r.Context())
	if v.Anonymous() {
		return denied(v, "status %s", id)
	}
	st := s.statuses.get(id, v.Org)
	if st == nil {
		return errNotFound("no status %s", url.PathEscape(id))
	}
	writeJSONAs(w, http.StatusOK, mt, st)
	return nil
}
