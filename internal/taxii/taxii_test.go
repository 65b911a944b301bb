package taxii_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
	"github.com/cointrail/cointrail/internal/taxii"
)

// node is a TAXII server behind the REST front, on a real SQLite store.
type node struct {
	url    string
	svc    *intel.Service
	orgA   string
	orgB   string
	tokens map[string]string
}

func mustNode(t *testing.T, cfg taxii.Config, public bool) *node {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "taxii.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	n := &node{svc: svc, tokens: map[string]string{}}
	a, _ := svc.CreateOrg(ctx, opV, "alpha", "")
	b, _ := svc.CreateOrg(ctx, opV, "bravo", "")
	n.orgA, n.orgB = a.ID, b.ID
	for name, g := range map[string]struct {
		org  string
		role access.Role
	}{"a": {a.ID, access.Contributor}, "b": {b.ID, access.Contributor}, "a-reader": {a.ID, access.Reader}} {
		_, secret, err := svc.CreateToken(ctx, opV, g.org, g.role, 0)
		if err != nil {
			t.Fatal(err)
		}
		n.tokens[name] = secret
	}
	api := httpapi.New(svc, httpapi.Options{PublicRead: public, RatePerSecond: -1})
	tx, err := taxii.New(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tx.Paths() {
		api.Mount(p, tx, httpapi.MountOptions{Public: true, WriteError: taxii.WriteError})
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	n.url = srv.URL
	return n
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, r.body)
	}
}

const (
	taxiiType = "application/taxii+json;version=2.1"
	stixType  = "application/stix+json;version=2.1"
)

func (n *node) do(t *testing.T, method, path, token string, hdr map[string]string, body []byte) resp {
	t.Helper()
	req, _ := http.NewRequest(method, n.url+path, bytes.NewReader(body))
	req.Header.Set("Accept", taxiiType)
	if token != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("user:"+token)))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, data}
}

const collPath = "/taxii/collections/" + taxii.DefaultCollectionID + "/"

func campaign(n int, marking string, extra string) string {
	return fmt.Sprintf(`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-%012d","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","name":"Campaign %d","object_marking_refs":[%q]%s}`, n, n, marking, extra)
}

func envelope(objs ...string) []byte {
	return []byte(`{"objects":[` + strings.Join(objs, ",") + `]}`)
}

func wantTAXIIError(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != taxiiType {
		t.Errorf("error Content-Type %q", ct)
	}
	var e taxii.ErrorMessage
	r.json(t, &e)
	if e.Title == "" || e.HTTPStatus != fmt.Sprint(status) {
		t.Errorf("error message %+v", e)
	}
}

func TestDiscoveryAndCollections(t *testing.T) {
	n := mustNode(t, taxii.Config{PublicURL: "https://intel.example.org/"}, false)
	r := n.do(t, "GET", "/taxii2/", n.tokens["a"], nil, nil)
	if r.status != 200 || r.header.Get("Content-Type") != taxiiType {
		t.Fatalf("discovery: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var d taxii.Discovery
	r.json(t, &d)
	if d.Default != "https://intel.example.org/taxii/" || len(d.APIRoots) != 1 || d.APIRoots[0] != d.Default {
		t.Errorf("discovery = %+v", d)
	}
	// Without a public URL, the request's host.
	n2 := mustNode(t, taxii.Config{}, false)
	n2.do(t, "GET", "/taxii2", n2.tokens["a"], nil, nil).json(t, &d)
	if d.Default != n2.url+"/taxii/" {
		t.Errorf("default = %s, want %s/taxii/", d.Default, n2.url)
	}
	var root taxii.APIRoot
	n.do(t, "GET", "/taxii/", n.tokens["a"], nil, nil).json(t, &root)
	if len(root.Versions) != 1 || root.Versions[0] != taxiiType || root.MaxContentLength <= 0 {
		t.Errorf("api root = %+v", root)
	}
	var cols struct{ Collections []taxii.CollectionInfo }
	n.do(t, "GET", "/taxii/collections/", n.tokens["a-reader"], nil, nil).json(t, &cols)
	if len(cols.Collections) != 1 || !cols.Collections[0].CanRead || cols.Collections[0].CanWrite {
		t.Errorf("reader's collections = %+v", cols)
	}
	var c taxii.CollectionInfo
	n.do(t, "GET", collPath, n.tokens["a"], nil, nil).json(t, &c)
	if !c.CanWrite || c.MediaTypes[0] != stixType {
		t.Errorf("collection = %+v", c)
	}
	// By alias too.
	if r := n.do(t, "GET", "/taxii/collections/cointrail/", n.tokens["a"], nil, nil); r.status != 200 {
		t.Errorf("alias: %d", r.status)
	}
	wantTAXIIError(t, n.do(t, "GET", "/taxii/collections/00000000-0000-4000-8000-000000000000/", n.tokens["a"], nil, nil), 404)
	wantTAXIIError(t, n.do(t, "GET", "/taxii2/nope/", n.tokens["a"], nil, nil), 404)
	wantTAXIIError(t, n.do(t, "GET", "/taxii/nope/", n.tokens["a"], nil, nil), 404)
	wantTAXIIError(t, n.do(t, "GET", "/taxii2/", "", nil, nil), 401)
	wantTAXIIError(t, n.do(t, "GET", "/taxii2/", "ct_000000000000_x", nil, nil), 401)
	wantTAXIIError(t, n.do(t, "GET", "/taxii2/", n.tokens["a"], map[string]string{"Accept": "application/taxii+json;version=2.0"}, nil), 406)
	wantTAXIIError(t, n.do(t, "GET", "/taxii2/", n.tokens["a"], map[string]string{"Accept": "text/html"}, nil), 406)
	wantTAXIIError(t, n.do(t, "PUT", collPath, n.tokens["a"], nil, nil), 405)
	for _, accept := range []string{"", "*/*", "application/taxii+json", "application/json, application/taxii+json;version=2.1"} {
		if r := n.do(t, "GET", "/taxii2/", n.tokens["a"], map[string]string{"Accept": accept}, nil); r.status != 200 {
			t.Errorf("Accept %q: %d", accept, r.status)
		}
	}
}

func TestAddAndGetObjects(t *testing.T) {
	n := mustNode(t, taxii.Config{}, true)
	a, b := n.tokens["a"], n.tokens["b"]
	post := func(token, ctype string, body []byte) resp {
		return n.do(t, "POST", collPath+"objects/", token, map[string]string{"Content-Type": ctype}, body)
	}
	wantTAXIIError(t, post(a, "application/json", envelope(campaign(1, stix.TLPGreenID, ""))), 415)
	wantTAXIIError(t, post(a, "application/taxii+json;version=2.0", envelope(campaign(1, stix.TLPGreenID, ""))), 415)
	wantTAXIIError(t, post(a, taxiiType, []byte(`{"objects":[`)), 400)
	wantTAXIIError(t, post(n.tokens["a-reader"], taxiiType, envelope(campaign(1, stix.TLPGreenID, ""))), 403)
	wantTAXIIError(t, post("", taxiiType, envelope(campaign(1, stix.TLPGreenID, ""))), 401)

	bad := `{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000099","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`
	r := post(a, taxiiType, envelope(campaign(1, stix.TLPClearID, ""), campaign(2, stix.TLPGreenID, ""), campaign(3, stix.TLPAmberID, ""), bad))
	if r.status != 202 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	var st taxii.Status
	r.json(t, &st)
	if st.Status != "complete" || st.TotalCount != 4 || st.SuccessCount != 3 || st.FailureCount != 1 || st.Failures[0].ID != "indicator--00000000-0000-4000-8000-000000000099" ||
		!strings.Contains(st.Failures[0].Message, "pattern") || st.PendingCount != 0 {
		t.Errorf("status = %+v", st)
	}
	var again taxii.Status
	n.do(t, "GET", "/taxii/status/"+st.ID+"/", a, nil, nil).json(t, &again)
	if again.ID != st.ID || again.SuccessCount != 3 {
		t.Errorf("GET status = %+v", again)
	}
	wantTAXIIError(t, n.do(t, "GET", "/taxii/status/"+st.ID+"/", b, nil, nil), 404)
	// A STIX bundle is accepted too.
	r = post(b, stixType, []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[`+campaign(4, stix.TLPAmberID, "")+`]}`))
	if r.status != 202 {
		t.Fatalf("bundle: %d %s", r.status, r.body)
	}

	list := func(token, query string) (env struct {
		More    bool
		Next    string
		Objects []map[string]any
	}, h http.Header) {
		r := n.do(t, "GET", collPath+"objects/"+query, token, nil, nil)
		if r.status != 200 {
			t.Fatalf("GET objects%s: %d %s", query, r.status, r.body)
		}
		r.json(t, &env)
		return env, r.header
	}
	count := func(token string) int {
		env, _ := list(token, "?match[type]=campaign")
		return len(env.Objects)
	}
	if got := []int{count(a), count(b), count("")}; got[0] != 3 || got[1] != 3 || got[2] != 1 {
		t.Errorf("a, b, anonymous see %v campaigns; want 3 (clear, green, own amber), 3, 1", got)
	}
	// Paging: limit 1, follow next, date_added strictly increasing.
	var last string
	seen := 0
	q := "?match[type]=campaign&limit=1"
	for {
		env, h := list(a, q)
		seen += len(env.Objects)
		first := h.Get("X-TAXII-Date-Added-First")
		if first == "" || h.Get("X-TAXII-Date-Added-Last") != first || first <= last {
			t.Fatalf("page headers %q %q after %q", first, h.Get("X-TAXII-Date-Added-Last"), last)
		}
		last = first
		if !env.More {
			break
		}
		q = "?match[type]=campaign&limit=1&next=" + env.Next
	}
	if seen != 3 {
		t.Errorf("paged through %d", seen)
	}
	// added_after the last page: nothing.
	env, h := list(a, "?match[type]=campaign&added_after="+last)
	if len(env.Objects) != 0 || env.More || h.Get("X-TAXII-Date-Added-First") != "" {
		t.Errorf("added_after last: %+v", env)
	}
	env, _ = list(a, "?match[id]=campaign--00000000-0000-4000-8000-000000000002")
	if len(env.Objects) != 1 {
		t.Errorf("match[id]: %d", len(env.Objects))
	}
	env, _ = list(a, "?match[type]=campaign&match[spec_version]=2.0")
	if len(env.Objects) != 0 {
		t.Errorf("spec_version 2.0: %d", len(env.Objects))
	}
	wantTAXIIError(t, n.do(t, "GET", collPath+"objects/?limit=x", a, nil, nil), 400)
	wantTAXIIError(t, n.do(t, "GET", collPath+"objects/?added_after=yesterday", a, nil, nil), 400)
	wantTAXIIError(t, n.do(t, "GET", collPath+"objects/?match[version]=sometimes", a, nil, nil), 400)
	// STIX media type on object endpoints.
	if r := n.do(t, "GET", collPath+"objects/", a, map[string]string{"Accept": stixType}, nil); r.status != 200 || r.header.Get("Content-Type") != stixType {
		t.Errorf("stix accept: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestVersionsManifestDelete(t *testing.T) {
	n := mustNode(t, taxii.Config{}, false)
	a, b := n.tokens["a"], n.tokens["b"]
	v1 := campaign(1, stix.TLPGreenID, "")
	v2 := strings.Replace(strings.Replace(v1, `"modified":"2018-01-26T00:00:00.000Z"`, `"modified":"2018-02-01T00:00:00.000Z"`, 1), "Campaign 1", "Campaign one", 1)
	v3 := strings.Replace(v2, `2018-02-01`, `2018-03-01`, 1)
	for _, v := range []string{v1, v2, v3} {
		if r := n.do(t, "POST", collPath+"objects/", a, map[string]string{"Content-Type": taxiiType}, envelope(v)); r.status != 202 {
			t.Fatal(r.status)
		}
	}
	id := "campaign--00000000-0000-4000-8000-000000000001"
	var vs struct {
		More     bool
		Versions []string
	}
	n.do(t, "GET", collPath+"objects/"+id+"/versions/", b, nil, nil).json(t, &vs)
	if len(vs.Versions) != 3 || vs.Versions[0] != "2018-01-26T00:00:00.000Z" || vs.Versions[2] != "2018-03-01T00:00:00.000Z" {
		t.Errorf("versions = %+v", vs)
	}
	objects := func(query string) []map[string]any {
		var env struct{ Objects []map[string]any }
		r := n.do(t, "GET", collPath+"objects/"+id+"/"+query, b, nil, nil)
		if r.status != 200 {
			t.Fatalf("GET object %s: %d %s", query, r.status, r.body)
		}
		r.json(t, &env)
		return env.Objects
	}
	if o := objects(""); len(o) != 1 || o[0]["modified"] != "2018-03-01T00:00:00.000Z" {
		t.Errorf("last = %v", o)
	}
	if o := objects("?match[version]=first"); len(o) != 1 || o[0]["modified"] != "2018-01-26T00:00:00.000Z" {
		t.Errorf("first = %v", o)
	}
	if o := objects("?match[version]=all"); len(o) != 3 {
		t.Errorf("all = %d", len(o))
	}
	if o := objects("?match[version]=2018-02-01T00:00:00.000Z"); len(o) != 1 || o[0]["name"] != "Campaign one" {
		t.Errorf("explicit = %v", o)
	}
	if o := objects("?match[version]=first,last"); len(o) != 2 {
		t.Errorf("first,last = %d", len(o))
	}
	var man struct {
		Objects []taxii.ManifestRecord
	}
	n.do(t, "GET", collPath+"manifest/?match[id]="+id+"&match[version]=all", b, nil, nil).json(t, &man)
	if len(man.Objects) != 3 || man.Objects[0].MediaType != stixType || !strings.HasSuffix(man.Objects[0].DateAdded, "Z") || len(man.Objects[0].DateAdded) != 27 {
		t.Errorf("manifest = %+v", man)
	}
	wantTAXIIError(t, n.do(t, "GET", collPath+"objects/campaign--00000000-0000-4000-8000-000000000777/", b, nil, nil), 404)
	wantTAXIIError(t, n.do(t, "DELETE", collPath+"objects/"+id+"/", b, nil, nil), 403)
	if r := n.do(t, "DELETE", collPath+"objects/"+id+"/?match[version]=first", a, nil, nil); r.status != 200 {
		t.Fatalf("delete first: %d %s", r.status, r.body)
	}
	n.do(t, "GET", collPath+"objects/"+id+"/versions/", b, nil, nil).json(t, &vs)
	if len(vs.Versions) != 2 {
		t.Errorf("after deleting the first version: %v", vs.Versions)
	}
	if r := n.do(t, "DELETE", collPath+"objects/"+id+"/", a, nil, nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantTAXIIError(t, n.do(t, "GET", collPath+"objects/"+id+"/", a, nil, nil), 404)
}

// TestConfiguredCollections: a collection restricted to types and roles.
func TestConfiguredCollections(t *testing.T) {
	cols := append(taxii.DefaultCollections(), taxii.Collection{
		ID: "9b2f0c1e-6f0a-4e1b-8a3d-2c4b5d6e7f80", Title: "wallets", Types: []string{"cryptocurrency-wallet", "indicator"},
		CanRead: []access.Role{access.Admin, access.Contributor}, CanWrite: []access.Role{access.Admin},
	})
	n := mustNode(t, taxii.Config{Collections: cols}, false)
	p := "/taxii/collections/9b2f0c1e-6f0a-4e1b-8a3d-2c4b5d6e7f80/"
	wantTAXIIError(t, n.do(t, "GET", p+"objects/", n.tokens["a-reader"], nil, nil), 403)
	wantTAXIIError(t, n.do(t, "POST", p+"objects/", n.tokens["a"], map[string]string{"Content-Type": taxiiType}, envelope(campaign(1, stix.TLPGreenID, ""))), 403)
	n.do(t, "POST", collPath+"objects/", n.tokens["a"], map[string]string{"Content-Type": taxiiType}, envelope(campaign(1, stix.TLPGreenID, "")))
	var env struct{ Objects []any }
	n.do(t, "GET", p+"objects/", n.tokens["a"], nil, nil).json(t, &env)
	if len(env.Objects) != 0 {
		t.Errorf("wallet collection serves a campaign")
	}
	if err := (&taxii.Config{Collections: []taxii.Collection{{ID: "x", Title: "t"}}}).Validate(); err == nil {
		t.Error("a collection id that is not a UUID was accepted")
	}
	_ = time.Now
}
