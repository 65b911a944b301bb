package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// Media types the object endpoints accept.
var bundleMediaTypes = []string{"application/json", "application/stix+json"}

// checkContentType refuses a body that is not JSON or STIX JSON.
func checkContentType(r *http.Request, allowed ...string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return fault.New(fault.UnsupportedMedia, "missing Content-Type; send %s", strings.Join(allowed, " or "))
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fault.New(fault.UnsupportedMedia, "malformed Content-Type %q", ct)
	}
	for _, a := range allowed {
		if mt == a {
			if v, ok := params["version"]; ok && mt == "application/stix+json" && v != "2.1" {
				return fault.New(fault.UnsupportedMedia, "STIX version %q is not served; send version=2.1", v)
			}
			return nil
		}
	}
	return fault.New(fault.UnsupportedMedia, "Content-Type %s is not accepted; send %s", mt, strings.Join(allowed, " or "))
}

func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, fault.Wrap(fault.Malformed, err, "cannot read the request body")
	}
	return data, nil
}

// ParseObjects decodes a request body holding a STIX bundle or a single
// STIX object.
func ParseObjects(data []byte) ([]*stix.Object, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || len(strings.TrimSpace(string(data))) == 0 {
			return nil, fault.New(fault.Malformed, "the body is not JSON: %v", syntaxText(data, err))
		}
		return nil, fault.New(fault.Malformed, "the body is not a JSON object")
	}
	if head.Type == "bundle" {
		b, err := stix.ParseBundle(data)
		if err != nil {
			return nil, fault.New(fault.Malformed, "%v", err)
		}
		return b.Objects, nil
	}
	o, err := stix.Parse(data)
	if err != nil {
		return nil, fault.New(fault.Malformed, "%v", err)
	}
	return []*stix.Object{o}, nil
}

func syntaxText(data []byte, err error) string {
	if len(strings.TrimSpace(string(data))) == 0 {
		return "empty body"
	}
	return err.Error()
}

// postObjects stores a bundle all or nothing.
func (s *Server) postObjects(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r, bundleMediaTypes...); err != nil {
		return err
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	objs, err := ParseObjects(data)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return fault.New(fault.Invalid, "the bundle holds no objects")
	}
	res, err := s.svc.Submit(r.Context(), ViewerFrom(r.Context()), objs, intel.SubmitOptions{})
	if res != nil {
		s.metrics.objects.WithLabelValues("added").Add(float64(res.Added))
		s.metrics.objects.WithLabelValues("unchanged").Add(float64(res.Unchanged))
		s.metrics.objects.WithLabelValues("failed").Add(float64(res.Failed))
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Added > 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, submitBody(res))
	return nil
}

// SubmitBody is the response to a stored bundle.
type SubmitBody struct {
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Objects   []SubmitObject `json:"objects"`
}

// SubmitObject is the outcome for one object.
type SubmitObject struct {
	ID        string `json:"id"`
	Version   string `json:"version,omitempty"`
	Status    string `json:"status"`
	DateAdded string `json:"date_added,omitempty"`
}

func submitBody(res *intel.SubmitResult) SubmitBody {
	b := SubmitBody{Added: res.Added, Unchanged: res.Unchanged, Objects: make([]SubmitObject, len(res.Objects))}
	for i, o := range res.Objects {
		b.Objects[i] = SubmitObject{ID: o.ID, Version: o.Version, Status: string(o.Status)}
		if o.DateAdded > 0 {
			b.Objects[i].DateAdded = formatDateAdded(o.DateAdded)
		}
	}
	return b
}

// formatDateAdded writes a DateAdded with its full microsecond precision.
func formatDateAdded(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// ListBody is a page of objects.
type ListBody struct {
	Objects []json.RawMessage `json:"objects"`
	More    bool              `json:"more"`
	Next    string            `json:"next,omitempty"`
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) error {
	q, err := parseListQuery(r)
	if err != nil {
		return err
	}
	page, err := s.svc.List(r.Context(), ViewerFrom(r.Context()), q)
	if err != nil {
		return err
	}
	if n := len(page.Records); n > 0 {
		w.Header().Set("X-Cointrail-Date-Added-First", formatDateAdded(page.Records[0].DateAdded))
		w.Header().Set("X-Cointrail-Date-Added-Last", formatDateAdded(page.Records[n-1].DateAdded))
	}
	writePage(w, page)
	return nil
}

// writePage writes a [ListBody] by hand: the objects are stored as canonical
// JSON already, and encoding/json would check and copy each of them again.
func writePage(w http.ResponseWriter, page *intel.Page) {
	size := 64 + len(page.Next)
	for i := range page.Records {
		size += len(page.Records[i].Data) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"objects":[`...)
	for i := range page.Records {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, page.Records[i].Data...)
	}
	buf = append(buf, `],"more":`...)
	buf = strconv.AppendBool(buf, page.Next != "")
	if page.Next != "" {
		buf = append(buf, `,"next":`...)
		buf = strconv.AppendQuote(buf, page.Next)
	}
	buf = append(buf, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

func parseListQuery(r *http.Request) (intel.ListQuery, error) {
	v := r.URL.Query()
	var q intel.ListQuery
	for _, t := range v["type"] {
		for _, one := range strings.Split(t, ",") {
			if one = strings.TrimSpace(one); one != "" {
				q.Types = append(q.Types, one)
			}
		}
	}
	if s := v.Get("added_after"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, fault.New(fault.Malformed, "added_after %q is not an RFC 3339 timestamp", s)
		}
		q.AddedAfter = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, fault.New(fault.Malformed, "limit %q is not a positive integer", s)
		}
		q.Limit = n
	}
	q.Text = v.Get("q")
	q.Cursor = v.Get("cursor")
	var err error
	if q.AllVersions, err = boolParam(v.Get("all_versions"), "all_versions"); err != nil {
		return q, err
	}
	if q.IncludeRevoked, err = boolParam(v.Get("include_revoked"), "include_revoked"); err != nil {
		return q, err
	}
	return q, nil
}

func boolParam(s, name string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fault.New(fault.Malformed, "%s %q is not true or false", name, s)
	}
	return b, nil
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.svc.Get(r.Context(), ViewerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeRecord(w, rec)
	return nil
}

// writeRecord writes one object as stored, with what the node knows of it
// in headers.
func writeRecord(w http.ResponseWriter, rec *intel.Record) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Cointrail-Date-Added", formatDateAdded(rec.DateAdded))
	w.Header().Set("X-Cointrail-Owner", rec.Owner)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(rec.Data, '\n'))
}

// VersionsBody lists the versions of an object.
type VersionsBody struct {
	Versions []VersionInfo `json:"versions"`
}

// VersionInfo is one version of an object.
type VersionInfo struct {
	Modified  string          `json:"modified,omitempty"`
	DateAdded string          `json:"date_added"`
	Owner     string          `json:"owner"`
	Object    json.RawMessage `json:"object"`
}

func (s *Server) getVersions(w http.ResponseWriter, r *http.Request) error {
	recs, err := s.svc.Versions(r.Context(), ViewerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	body := VersionsBody{Versions: make([]VersionInfo, len(recs))}
	for i, rec := range recs {
		var m struct {
			Modified string `json:"modified"`
		}
		_ = json.Unmarshal(rec.Data, &m)
		body.Versions[i] = VersionInfo{Modified: m.Modified, DateAdded: formatDateAdded(rec.DateAdded), Owner: rec.Owner, Object: rec.Data}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) revokeObject(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.svc.Revoke(r.Context(), ViewerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeRecord(w, rec)
	return nil
}

func (s *Server) getFlags(w http.ResponseWriter, r *http.Request) error {
	q := intel.FlagQuery{Chain: r.URL.Query().Get("chain"), Address: r.URL.Query().Get("address")}
	flags, err := s.svc.Flags(r.Context(), ViewerFrom(r.Context()), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"addresses": flags})
	return nil
}

func (s *Server) getIncidents(w http.ResponseWriter, r *http.Request) error {
	incs, err := s.svc.Incidents(r.Context(), ViewerFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": incs})
	return nil
}
