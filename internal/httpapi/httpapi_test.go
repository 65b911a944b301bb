package httpapi_test

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
)

// fixture is a REST server on a real SQLite store, with tokens for two
// organisations.
type fixture struct {
	url     string
	store   intel.Store
	svc     *intel.Service
	now     *time.Time
	orgA    string
	orgB    string
	tokens  map[string]string // name -> secret
	adminOp string
}

func mustFixture(t *testing.T, opts httpapi.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	clock := func() time.Time { return now }
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Now: clock, Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	f := &fixture{store: st, svc: svc, now: &now, tokens: map[string]string{}}
	a, _ := svc.CreateOrg(ctx, opV, "alpha", "")
	b, _ := svc.CreateOrg(ctx, opV, "bravo", "")
	f.orgA, f.orgB = a.ID, b.ID
	mk := func(name, org string, role access.Role, ttl time.Duration) {
		_, secret, err := svc.CreateToken(ctx, opV, org, role, ttl)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[name] = secret
	}
	mk("operator", op.ID, access.Admin, 0)
	mk("a", a.ID, access.Contributor, 0)
	mk("a-reader", a.ID, access.Reader, 0)
	mk("b", b.ID, access.Contributor, 0)
	mk("short", a.ID, access.Contributor, time.Minute)
	mk("revoked", a.ID, access.Contributor, 0)
	id, _, _ := access.SplitToken(f.tokens["revoked"])
	if _, err := svc.RevokeToken(ctx, opV, id); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, opts).Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e httpapi.ErrorBody
	r.json(t, &e)
	if e.Error.Message == "" {
		t.Fatalf("error body without message: %s", r.body)
	}
	return string(e.Error.Code)
}

func (f *fixture) do(t *testing.T, method, path, token, ctype string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, data}
}

func bundle(objs ...string) []byte {
	return []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(objs, ",") + `]}`)
}

const ts = `"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z"`

func campaign(n int, marking string) string {
	return fmt.Sprintf(`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-%012d",%s,"name":"Campaign %d","object_marking_refs":[%q]}`, n, ts, n, marking)
}

// TestBadInput sends every kind of bad request the API must refuse: each
// gets its 4xx and a JSON error, and nothing is stored.
func TestBadInput(t *testing.T) {
	f := mustFixture(t, httpapi.Options{MaxBodyBytes: 64 << 10})
	ctx := context.Background()
	good := campaign(1, stix.TLPGreenID)
	big := bytes.Repeat([]byte(" "), 65<<10)
	tests := []struct {
		name   string
		token  string
		ctype  string
		body   []byte
		status int
		code   string
	}{
		{"malformed JSON", "a", "application/json", []byte(`{"type":"bundle",`), 400, "malformed"},
		{"not an object", "a", "application/json", []byte(`[1,2]`), 400, "malformed"},
		{"empty body", "a", "application/json", nil, 400, "malformed"},
		{"objects of the wrong type", "a", "application/json", []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":{"a":1}}`), 400, "malformed"},
		{"type not a string", "a", "application/json", bundle(`{"type":7,"id":"x"}`), 400, "malformed"},
		{"oversize body", "a", "application/json", append(bundle(good), big...), 413, "too_large"},
		{"wrong content type", "a", "text/plain", bundle(good), 415, "unsupported_media_type"},
		{"duplicate ids", "a", "application/json", bundle(good, good), 422, "invalid"},
		{"reference of the wrong type", "a", "application/json", bundle(fmt.Sprintf(`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-000000000002",%s,"name":"x","created_by_ref":"campaign--00000000-0000-4000-8000-000000000001"}`, ts)), 422, "invalid"},
		{"unknown marking", "a", "application/stix+json;version=2.1", bundle(campaign(3, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec")), 422, "invalid"},
		{"invalid STIX", "a", "application/json", bundle(fmt.Sprintf(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000004",%s,"pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z"}`, ts)), 422, "invalid"},
		{"reader writes", "a-reader", "application/json", bundle(good), 403, "forbidden"},
		{"forgery", "a", "application/json", bundle(fmt.Sprintf(`{"type":"campaign","id":"campaign--00000000-0000-4000-8000-000000000005",%s,"name":"x","created_by_ref":%q}`, ts, f.orgB)), 403, "forbidden"},
		{"no token", "", "application/json", bundle(good), 401, "unauthorized"},
		{"unknown token", "ct_000000000000_AAAA", "application/json", bundle(good), 401, "unauthorized"},
		{"revoked token", "revoked", "application/json", bundle(good), 401, "unauthorized"},
		{"stix version 2.0", "a", "application/stix+json;version=2.0", bundle(good), 415, "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.store.LastAdded(ctx)
			tok := f.tokens[tt.token]
			if tok == "" {
				tok = tt.token
			}
			r := f.do(t, "POST", "/api/v1/objects", tok, tt.ctype, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
			}
			if code := r.errorCode(t); code != tt.code {
				t.Errorf("code = %s, want %s", code, tt.code)
			}
			if after, _ := f.store.LastAdded(ctx); after != before {
				t.Error("a refused request stored something")
			}
		})
	}
	// An expired token.
	*f.now = f.now.Add(2 * time.Minute)
	r := f.do(t, "POST", "/api/v1/objects", f.tokens["short"], "application/json", bundle(good))
	if r.status != 401 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// The same bundle goes in once the input is right.
	if r := f.do(t, "POST", "/api/v1/objects", f.tokens["a"], "application/json", bundle(good)); r.status != 201 {
		t.Fatalf("good bundle: %d %s", r.status, r.body)
	}
}

func TestObjectsAPI(t *testing.T) {
	f := mustFixture(t, httpapi.Options{PublicRead: true})
	a, b := f.tokens["a"], f.tokens["b"]
	r := f.do(t, "POST", "/api/v1/objects", a, "application/stix+json; version=2.1",
		bundle(campaign(1, stix.TLPClearID), campaign(2, stix.TLPGreenID), campaign(3, stix.TLPAmberID)))
	if r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	var sub httpapi.SubmitBody
	r.json(t, &sub)
	if sub.Added != 3 || sub.Objects[0].DateAdded == "" {
		t.Errorf("submit body = %+v", sub)
	}
	// Resubmitting is idempotent: 200, unchanged.
	r = f.do(t, "POST", "/api/v1/objects", a, "application/json", bundle(campaign(1, stix.TLPClearID)))
	if r.status != 200 {
		t.Errorf("resubmit: %d %s", r.status, r.body)
	}
	count := func(token string) int {
		r := f.do(t, "GET", "/api/v1/objects?type=campaign", token, "", nil)
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var page httpapi.ListBody
		r.json(t, &page)
		return len(page.Objects)
	}
	if got := []int{count(a), count(b), count("")}; got[0] != 3 || got[1] != 2 || got[2] != 1 {
		t.Errorf("a, b, anonymous see %v campaigns; want 3, 2, 1", got)
	}
	// Basic auth with the token as password.
	req, _ := http.NewRequest("GET", f.url+"/api/v1/objects/campaign--00000000-0000-4000-8000-000000000003", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("anyone:"+a)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("basic auth: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if r := f.do(t, "GET", "/api/v1/objects/campaign--00000000-0000-4000-8000-000000000003", b, "", nil); r.status != 404 || r.errorCode(t) != "not_found" {
		t.Errorf("b reads a's AMBER object: %d", r.status)
	}
	if r := f.do(t, "GET", "/api/v1/objects/not-an-id", a, "", nil); r.status != 400 {
		t.Errorf("bad id: %d", r.status)
	}
	if r := f.do(t, "GET", "/api/v1/objects?limit=0", a, "", nil); r.status != 400 {
		t.Errorf("limit 0: %d", r.status)
	}
	if r := f.do(t, "GET", "/api/v1/objects?added_after=yesterday", a, "", nil); r.status != 400 {
		t.Errorf("bad added_after: %d", r.status)
	}
	// Paging with limit and next.
	r = f.do(t, "GET", "/api/v1/objects?type=campaign&limit=2", a, "", nil)
	var page httpapi.ListBody
	r.json(t, &page)
	if len(page.Objects) != 2 || !page.More || page.Next == "" || r.header.Get("X-Cointrail-Date-Added-Last") == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	r = f.do(t, "GET", "/api/v1/objects?type=campaign&limit=2&cursor="+page.Next, a, "", nil)
	r.json(t, &page)
	if len(page.Objects) != 1 || page.More {
		t.Errorf("page 2 = %+v", page)
	}
	// Revoke, then versions.
	if r := f.do(t, "POST", "/api/v1/objects/campaign--00000000-0000-4000-8000-000000000002/revoke", b, "", nil); r.status != 403 {
		t.Errorf("b revokes a's object: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/api/v1/objects/campaign--00000000-0000-4000-8000-000000000002/revoke", a, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"revoked":true`) {
		t.Errorf("revoke: %d %s", r.status, r.body)
	}
	r = f.do(t, "GET", "/api/v1/objects/campaign--00000000-0000-4000-8000-000000000002/versions", b, "", nil)
	var vs httpapi.VersionsBody
	r.json(t, &vs)
	if len(vs.Versions) != 2 {
		t.Errorf("versions: %s", r.body)
	}
	// Anonymous writes are refused even with public read.
	if r := f.do(t, "POST", "/api/v1/objects", "", "application/json", bundle(campaign(9, stix.TLPClearID))); r.status != 401 {
		t.Errorf("anonymous post: %d", r.status)
	}
	if r := f.do(t, "GET", "/api/v1/incidents", "", "", nil); r.status != 401 {
		t.Errorf("anonymous incidents: %d", r.status)
	}
	if r := f.do(t, "GET", "/api/v1/nothing", a, "", nil); r.status != 404 || r.errorCode(t) != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
}

func TestAdminAPI(t *testing.T) {
	f := mustFixture(t, httpapi.Options{})
	op, a := f.tokens["operator"], f.tokens["a"]
	r := f.do(t, "POST", "/api/v1/orgs", op, "application/json", []byte(`{"name":"charlie"}`))
	if r.status != 201 {
		t.Fatalf("create org: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/api/v1/orgs", op, "application/json", []byte(`{"name":"charlie"}`)); r.status != 409 {
		t.Errorf("duplicate org: %d", r.status)
	}
	if r := f.do(t, "POST", "/api/v1/orgs", a, "application/json", []byte(`{"name":"delta"}`)); r.status != 403 {
		t.Errorf("contributor creates org: %d", r.status)
	}
	if r := f.do(t, "POST", "/api/v1/orgs", op, "application/json", []byte(`{"name":"x","bogus":1}`)); r.status != 400 {
		t.Errorf("unknown field: %d", r.status)
	}
	r = f.do(t, "POST", "/api/v1/orgs/charlie/tokens", op, "application/json", []byte(`{"role":"reader","expires_in":"24h"}`))
	if r.status != 201 {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var tok httpapi.CreateTokenResponse
	r.json(t, &tok)
	if !strings.HasPrefix(tok.Secret, "ct_") || tok.Expires.IsZero() {
		t.Errorf("token = %+v", tok)
	}
	r = f.do(t, "GET", "/api/v1/whoami", tok.Secret, "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "charlie") {
		t.Errorf("whoami: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/api/v1/orgs/charlie/tokens", op, "application/json", []byte(`{"role":"king"}`)); r.status != 422 {
		t.Errorf("bad role: %d %s", r.status, r.body)
	}
	r = f.do(t, "GET", "/api/v1/orgs/charlie/tokens", op, "", nil)
	if r.status != 200 || strings.Contains(string(r.body), tok.Secret) || strings.Contains(string(r.body), "hash") {
		t.Errorf("list tokens: %d %s", r.status, r.body)
	}
	if r := f.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, op, "", nil); r.status != 200 {
		t.Errorf("revoke: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/api/v1/whoami", tok.Secret, "", nil); r.status != 401 {
		t.Errorf("revoked token: %d", r.status)
	}
	r = f.do(t, "GET", "/api/v1/audit?action=token.revoke", op, "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), tok.ID) {
		t.Errorf("audit: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/api/v1/audit", a, "", nil); r.status != 403 {
		t.Errorf("contributor reads audit: %d", r.status)
	}
}

func TestRateLimit(t *testing.T) {
	f := mustFixture(t, httpapi.Options{RatePerSecond: 1, RateBurst: 3})
	statuses := []int{}
	for range 5 {
		statuses = append(statuses, f.do(t, "GET", "/api/v1/whoami", f.tokens["a"], "", nil).status)
	}
	if statuses[0] != 200 || statuses[2] != 200 || statuses[4] != 429 {
		t.Errorf("statuses = %v; want three 200s then 429", statuses)
	}
	r := f.do(t, "GET", "/api/v1/whoami", f.tokens["a"], "", nil)
	if r.header.Get("Retry-After") == "" || r.errorCode(t) != "rate_limited" {
		t.Errorf("429 without Retry-After: %v %s", r.header, r.body)
	}
	// Another token has its own bucket.
	if r := f.do(t, "GET", "/api/v1/whoami", f.tokens["b"], "", nil); r.status != 200 {
		t.Errorf("b limited by a's use: %d", r.status)
	}
}

func TestHealthMetricsOpenAPI(t *testing.T) {
	f := mustFixture(t, httpapi.Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := f.do(t, "GET", p, "", "", nil); r.status != 200 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	f.do(t, "GET", "/api/v1/whoami", f.tokens["a"], "", nil)
	r := f.do(t, "GET", "/metrics", "", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `cointrail_http_requests_total{code="200",route="GET /api/v1/whoami"}`) {
		t.Errorf("metrics: %d %.500s", r.status, r.body)
	}
	r = f.do(t, "GET", "/api/v1/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	for _, route := range httpapi.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}
}

func TestUIBehindTheRateLimit(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "page") })
	f := mustFixture(t, httpapi.Options{RatePerSecond: 1, RateBurst: 2, UI: ui})
	for i, want := range []int{200, 200, 429} {
		resp, err := http.Get(f.url + "/incidents")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	// The API's own routes still answer as the API.
	resp, err := http.Get(f.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz beside the UI: %d", resp.StatusCode)
	}
}
