package taxii_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/taxii"
)

// fixture is the request sequence of one real TAXII client, written down
// from its source (see testdata/clients/README.md).
type fixture struct {
	Client   string           `json:"client"`
	Requests []fixtureRequest `json:"requests"`
}

type fixtureRequest struct {
	Name     string            `json:"name"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RawQuery string            `json:"raw_query"`
	Headers  map[string]string `json:"headers"`
	Auth     string            `json:"auth"`
	Body     json.RawMessage   `json:"body"`
	BodyRaw  string            `json:"body_raw"`
	Expect   struct {
		Status      int      `json:"status"`
		ContentType string   `json:"content_type"`
		JSONHas     []string `json:"json_has"`
		HeadersHas  []string `json:"headers_has"`
	} `json:"expect"`
	Follow json.RawMessage `json:"follow"`
	Repeat *struct {
		While string `json:"while"`
	} `json:"repeat"`
	Template bool `json:"template"`
	Error    bool `json:"error"`
}

type follow struct {
	From string `json:"from"`
	As   string `json:"as"`
	When string `json:"when"`
}

func (r *fixtureRequest) follows() []follow {
	if len(r.Follow) == 0 || string(r.Follow) == "null" {
		return nil
	}
	var one follow
	if json.Unmarshal(r.Follow, &one) == nil && one.From != "" {
		return []follow{one}
	}
	var many []follow
	_ = json.Unmarshal(r.Follow, &many)
	return many
}

var placeholderRE = regexp.MustCompile(`\{[a-z0-9_]+\}`)

// TestReferenceClients replays, against a real node, the requests each
// client makes, in order, following values from response to request as the
// client does, and checks what each client needs of every response.
func TestReferenceClients(t *testing.T) {
	files, err := filepath.Glob("testdata/clients/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("client fixtures: %v %v", files, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(data, &fx); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(fx.Client, func(t *testing.T) { replay(t, fx) })
	}
}

func replay(t *testing.T, fx fixture) {
	// A small default page, so that clients that send no limit page too.
	n := mustNode(t, taxii.Config{DefaultPageSize: 50}, true)
	a := n.tokens["a"]
	// 120 campaigns and their indicators and relationships, so that pages
	// of 2, 50 and 100 take several requests, and a versioned campaign.
	var objs []string
	for i := 1; i <= 120; i++ {
		objs = append(objs, campaign(i, stix.TLPGreenID, ""))
	}
	for i := 1; i <= 3; i++ {
		ind := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		objs = append(objs,
			fmt.Sprintf(`{"type":"indicator","id":%q,"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","pattern":"[cryptocurrency-wallet:value = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","object_marking_refs":[%q]}`, ind, stix.TLPGreenID),
			fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-%012d","spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z","relationship_type":"indicates","source_ref":%q,"target_ref":"campaign--00000000-0000-4000-8000-%012d","object_marking_refs":[%q]}`, i, ind, i, stix.TLPGreenID))
	}
	objs = append(objs, strings.Replace(campaign(1, stix.TLPGreenID, ""), `"modified":"2018-01-26T00:00:00.000Z"`, `"modified":"2018-02-01T00:00:00.000Z"`, 1))
	if r := n.do(t, "POST", collPath+"objects/", a, map[string]string{"Content-Type": taxiiType}, envelope(objs...)); r.status != 202 {
		t.Fatalf("seed: %d %s", r.status, r.body)
	}
	vals := map[string]string{
		"{discovery}":      "/taxii2/",
		"{base_path}":      "",
		"{api_root}":       "/taxii/",
		"{api_root_name}":  "taxii",
		"{collection_id}":  taxii.DefaultCollectionID,
		"{object_id}":      "campaign--00000000-0000-4000-8000-000000000001",
		"{last_object_id}": "campaign--00000000-0000-4000-8000-000000000006",
		"{token}":          a,
		"{bad_token}":      "ct_000000000000_bad",
		"{basic_b64}":      base64.StdEncoding.EncodeToString([]byte("user:" + a)),
		"{bad_basic_b64}":  base64.StdEncoding.EncodeToString([]byte("user:ct_000000000000_bad")),
		"{per_request}":    "2",
		"{added_after}":    "2000-01-01T00:00:00.000Z",
	}
	deleted := false
	for i, req := range fx.Requests {
		name := fmt.Sprintf("%02d-%s", i, req.Name)
		switch {
		case req.Template:
			t.Logf("%s: described, not replayable (template)", name)
			continue
		case req.Auth == "mtls" || req.Auth == "apikey":
			t.Logf("%s: auth %q is not a scheme cointrail serves (tokens go in Authorization)", name, req.Auth)
			continue
		case req.Method == "DELETE":
			deleted = true
		case deleted && strings.Contains(req.Path, "{object_id}") && req.Method == "GET":
			vals["{object_id}"] = "campaign--00000000-0000-4000-8000-000000000002"
		}
		for round := 0; ; round++ {
			more := run(t, name, n.url, req, vals)
			if req.Repeat == nil || !strings.Contains(req.Repeat.While, "more") || !more || round > 100 {
				break
			}
		}
	}
}

// run makes one request, checks the response, applies the request's
// follows, and reports the response's "more".
func run(t *testing.T, name, base string, req fixtureRequest, vals map[string]string) bool {
	t.Helper()
	subst := func(s string) (string, bool) {
		ok := true
		out := placeholderRE.ReplaceAllStringFunc(s, func(p string) string {
			v, found := vals[p]
			if !found {
				ok = false
			}
			return v
		})
		return out, ok
	}
	path, ok1 := subst(req.Path)
	query, ok2 := subst(req.RawQuery)
	if !ok1 || !ok2 {
		t.Logf("%s: skipped, a placeholder has no value yet (%s?%s)", name, req.Path, req.RawQuery)
		return false
	}
	u := base + path
	if query != "" {
		u += "?" + query
	}
	var body io.Reader
	switch {
	case req.BodyRaw != "":
		body = strings.NewReader(req.BodyRaw)
	case len(req.Body) > 0 && string(req.Body) != "null":
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequest(req.Method, u, body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for k, v := range req.Headers {
		v, _ = subst(v)
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := req.Expect.Status
	if want == 0 {
		want = 200
	}
	if res.StatusCode != want {
		t.Errorf("%s: %s %s: status %d, want %d: %s", name, req.Method, u, res.StatusCode, want, data)
		return false
	}
	if ct := req.Expect.ContentType; ct != "" && res.StatusCode != http.StatusOK || req.Method == "GET" {
		// taxii2-client's rule: the first token is exactly the TAXII media
		// type and version=2.1 is among the parameters.
		got := res.Header.Get("Content-Type")
		mt, params, err := mime.ParseMediaType(got)
		if req.Expect.ContentType != "" && (err != nil || mt != "application/taxii+json" || params["version"] != "2.1") {
			t.Errorf("%s: Content-Type %q, want %s", name, got, req.Expect.ContentType)
		}
	}
	for _, h := range req.Expect.HeadersHas {
		if res.Header.Get(h) == "" {
			t.Errorf("%s: response lacks header %s", name, h)
		}
	}
	var doc map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: response is not JSON: %s", name, data)
			return false
		}
	}
	for _, k := range req.Expect.JSONHas {
		if _, ok := doc[k]; !ok && !(k == "objects" && doc["more"] == false) {
			t.Errorf("%s: response lacks %q: %s", name, k, data)
		}
	}
	if fc, ok := doc["failure_count"].(float64); ok && fc > 0 {
		t.Errorf("%s: the client's objects were refused: %s", name, data)
	}
	if st, ok := doc["total_count"].(float64); ok {
		sum := doc["success_count"].(float64) + doc["failure_count"].(float64) + doc["pending_count"].(float64)
		if sum != st {
			t.Errorf("%s: status counts do not add up: %s", name, data)
		}
	}
	more, _ := doc["more"].(bool)
	for _, f := range req.follows() {
		if strings.Contains(f.When, "more == true") && !more {
			continue
		}
		switch {
		case f.From == "api_roots[0]" || f.From == "api_roots[*]":
			roots, _ := doc["api_roots"].([]any)
			if len(roots) == 0 {
				t.Fatalf("%s: no api_roots", name)
			}
			ru, err := url.Parse(roots[0].(string))
			if err != nil || !ru.IsAbs() {
				t.Fatalf("%s: api_roots[0] %v is not an absolute URL", name, roots[0])
			}
			p := ru.Path
			if !strings.HasSuffix(p, "/") {
				p += "/"
			}
			vals["{api_root}"] = p
			segs := strings.Split(strings.Trim(p, "/"), "/")
			vals["{api_root_name}"] = segs[len(segs)-1]
		case f.From == "default":
			roots, _ := doc["api_roots"].([]any)
			if len(roots) == 0 || doc["default"] != roots[0] {
				t.Errorf("%s: default %v is not byte-identical to an api_roots entry", name, doc["default"])
			}
		case f.From == "next":
			if next, _ := doc["next"].(string); next != "" {
				if vals["{next}"] != "" {
					vals["{stale_next}"] = vals["{next}"]
				}
				vals["{next}"] = next
			} else if more {
				t.Errorf("%s: more is true without next", name)
			}
		case strings.HasPrefix(f.From, "collections["):
			cols, _ := doc["collections"].([]any)
			if len(cols) == 0 {
				t.Fatalf("%s: no collections", name)
			}
			id := cols[0].(map[string]any)["id"].(string)
			if !strings.Contains(u, "/collections/") && id != taxii.DefaultCollectionID {
				t.Errorf("%s: collection id %s", name, id)
			}
			vals["{collection_id}"] = id
		case f.From == "id":
			vals["{status_id}"], _ = doc["id"].(string)
		case f.From == "header:X-TAXII-Date-Added-Last":
			h := res.Header.Get("X-TAXII-Date-Added-Last")
			if h == "" {
				continue
			}
			// OpenCTI keeps it at millisecond precision.
			tm, err := time.Parse(time.RFC3339Nano, h)
			if err != nil {
				t.Errorf("%s: X-TAXII-Date-Added-Last %q: %v", name, h, err)
				continue
			}
			vals["{added_after}"] = tm.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		case f.From == "len(objects)":
			objs, _ := doc["objects"].([]any)
			if more && len(objs) > 0 {
				vals["{per_request}"] = strconv.Itoa(len(objs))
			}
		}
	}
	return more
}
