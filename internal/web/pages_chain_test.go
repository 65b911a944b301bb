package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/trace"
)

// traceURL is the trace page (or, with format, the export) of the
// fixture's incident under model.
func (f *fixture) traceURL(model, format string) string {
	q := url.Values{"chain": {f.chainID}, "incident": {f.incident}, "model": {model}}
	if format == "" {
		return "/trace?" + q.Encode()
	}
	q.Set("format", format)
	return "/trace/export?" + q.Encode()
}

// mustTraceJSON fetches the JSON export of the fixture's incident's trace
// under model.
func mustTraceJSON(t *testing.T, c *client, model string) *trace.Result {
	t.Helper()
	res, body := c.get(c.f.traceURL(model, "json"))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export json: %s\n%s", res.Status, body)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("export json: Content-Disposition %q, want an attachment", cd)
	}
	var out trace.Result
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("export json: %v", err)
	}
	return &out
}

// between returns the part of s from the first start to the next end,
// end included ("" when either is missing).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return ""
	}
	return s[i : i+j+len(end)]
}

func incidentName(t *testing.T, f *fixture) string {
	t.Helper()
	incs, err := f.svc.Incidents(context.Background(), f.viewers["operator"])
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		if inc.ID == f.incident {
			return inc.Name
		}
	}
	t.Fatalf("no incident %s", f.incident)
	return ""
}

func TestTracePageDrawsTheFlowToTheExchanges(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	page := c.page(f.traceURL("fifo", ""))
	res := mustTraceJSON(t, c, "fifo")
	if len(res.Endpoints) == 0 {
		t.Fatal("the trace reaches no endpoint")
	}
	svg := between(page, "<svg", "</svg>")
	if svg == "" {
		t.Fatal("trace page has no SVG")
	}
	entities := map[string]bool{}
	for _, e := range res.Endpoints {
		entities[e.Entity] = true
		if href := `href="/address/` + f.chainID + "/" + e.Address + `"`; !strings.Contains(page, href) {
			t.Errorf("trace page does not link endpoint %s to its address page (%s)", e.Address, href)
		}
	}
	for _, want := range []string{"Exchange A", "Exchange B"} {
		if !entities[want] {
			t.Errorf("trace reaches no %q: %v", want, entities)
		}
	}
	for e := range entities {
		if !strings.Contains(svg, e) {
			t.Errorf("flow diagram does not name %q", e)
		}
	}
	for _, want := range []string{incidentName(t, f), `aria-current="true">fifo<`, `id="bars-chart"><svg`, "Where it stopped short", "unspent", "/trace/export?", "format=stix"} {
		if !strings.Contains(page, want) {
			t.Errorf("trace page lacks %q", want)
		}
	}
	// The strict CSP: nothing inline.
	for _, bad := range []string{"style=", "<script", " onclick=", " onload="} {
		if strings.Contains(page, bad) {
			t.Errorf("trace page contains %q", bad)
		}
	}
}

func TestTraceModelSwitchChangesTheFigures(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "exchange")
	fifo, haircut := c.page(f.traceURL("fifo", "")), c.page(f.traceURL("haircut", ""))
	if !strings.Contains(haircut, `aria-current="true">haircut<`) || strings.Contains(haircut, `aria-current="true">fifo<`) {
		t.Error("the haircut page does not mark haircut as the current model")
	}
	table := func(p string) string { return between(p, `<table id="endpoints">`, "</table>") }
	if table(fifo) == "" || table(fifo) == table(haircut) {
		t.Error("the endpoint tables of fifo and haircut are the same")
	}
	a, b := mustTraceJSON(t, c, "fifo"), mustTraceJSON(t, c, "haircut")
	if a.Model != trace.FIFO || b.Model != trace.Haircut {
		t.Errorf("exports have models %s and %s", a.Model, b.Model)
	}
	for _, e := range b.Endpoints {
		if !strings.Contains(table(haircut), e.Address) {
			t.Errorf("haircut page lacks endpoint %s", e.Address)
		}
	}
}

func TestTraceExportJSONMatchesThePage(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	ctx := context.Background()
	v := f.viewers["fiu"]
	seeds, err := trace.IncidentSeeds(ctx, f.svc, v, f.incident, f.chainID)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := trace.LabelsFor(ctx, f.svc, v, f.chainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := trace.New(f.chain).Trace(ctx, f.chainID, seeds, trace.Options{Model: trace.FIFO, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	got := mustTraceJSON(t, c, "fifo")
	if len(got.Endpoints) != len(want.Endpoints) {
		t.Fatalf("export has %d endpoints, the tracer %d", len(got.Endpoints), len(want.Endpoints))
	}
	for i, e := range want.Endpoints {
		g := got.Endpoints[i]
		if g.Address != e.Address || g.Entity != e.Entity || g.Amount.Cmp(e.Amount.Int) != 0 || g.Hops != e.Hops {
			t.Errorf("endpoint %d: export %s %s %s %d, tracer %s %s %s %d", i, g.Address, g.Entity, g.Amount, g.Hops, e.Address, e.Entity, e.Amount, e.Hops)
		}
	}
}

func TestTraceExportSTIXHasAReport(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	for _, tc := range []struct {
		tlp  string
		want stix.TLP
	}{{"", stix.TLPGreen}, {"amber", stix.TLPAmber}} {
		u := f.traceURL("fifo", "stix")
		if tc.tlp != "" {
			u += "&tlp=" + tc.tlp
		}
		res, body := c.get(u)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("export stix: %s, Content-Disposition %q\n%s", res.Status, res.Header.Get("Content-Disposition"), body)
		}
		b, err := stix.ParseBundle([]byte(body))
		if err != nil {
			t.Fatalf("export stix: %v", err)
		}
		reports := 0
		for _, o := range b.Objects {
			if o.Type == "report" {
				reports++
			}
			if refs := o.MarkingRefs(); len(refs) != 1 || refs[0] != tc.want.ID() {
				t.Errorf("tlp %q: %s %s marked %v, want %s", tc.tlp, o.Type, o.ID, refs, tc.want.ID())
			}
		}
		if reports != 1 {
			t.Errorf("tlp %q: %d reports in the bundle, want 1", tc.tlp, reports)
		}
	}
	if res, body := c.get(f.traceURL("fifo", "stix") + "&tlp=purple"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "purple") {
		t.Errorf("tlp=purple: %s", res.Status)
	}
}

func TestAddressPageOfAnEndpoint(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	res := mustTraceJSON(t, c, "fifo")
	if len(res.Endpoints) == 0 {
		t.Fatal("no endpoint")
	}
	ep := res.Endpoints[0]
	page := c.page("/address/" + f.chainID + "/" + ep.Address)
	for _, want := range []string{
		ep.Entity, ep.Category, `class="level level-`, "score ",
		`href="/incidents/` + url.PathEscape(f.incident) + `"`, incidentName(t, f),
		`id="balances"`, `id="history"`, "Received",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("address page of %s lacks %q", ep.Address, want)
		}
	}
	if strings.Contains(page, `class="level level-none"`) {
		t.Errorf("an endpoint of stolen funds screens as none")
	}
	// Each step of the path but the last goes to an address, linked.
	ind := between(page, `id="indirect"`, "</table>")
	if len(ep.Via) > 0 && !strings.Contains(ind, `href="/address/`+f.chainID+"/"+ep.Via[0]+`"`) {
		t.Errorf("indirect evidence does not link the first address on the way, %s", ep.Via[0])
	}
	if strings.Contains(page, "style=") || strings.Contains(page, "<script") {
		t.Error("address page has inline style or script")
	}
}

func TestAddressPageClusterAndHistoryPaging(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "exchange")
	// A seed address of the theft: the thief spends from it with others.
	seeds, err := trace.IncidentSeeds(context.Background(), f.svc, f.viewers["exchange"], f.incident, f.chainID)
	if err != nil {
		t.Fatal(err)
	}
	page := c.page("/address/" + f.chainID + "/" + seeds[0].Address)
	if !strings.Contains(page, `id="cluster"`) {
		t.Errorf("address page of %s has no cluster section", seeds[0].Address)
	}
	// The address paid most often has more history than a page holds.
	g := f.chain.Graph(f.chainID)
	paid := map[uint32]int{}
	g.RLock()
	for o := range g.NumOutputs() {
		if a := g.Output(o).Addr; a != chainstore.NoAddr {
			paid[a]++
		}
	}
	g.RUnlock()
	var num uint32
	for a, n := range paid {
		if n > paid[num] || (n == paid[num] && a < num) {
			num = a
		}
	}
	busiest, err := g.AddrKey(num)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.chain.Address(context.Background(), f.chainID, busiest)
	if err != nil {
		t.Fatal(err)
	}
	if v.TxCount <= historyPageSize {
		t.Fatalf("the busiest address, %s, has %d transactions: no second page", busiest, v.TxCount)
	}
	first := c.page("/address/" + f.chainID + "/" + busiest)
	next := between(first, `<a href="/address/`, `" rel="next"`)
	if next == "" {
		t.Fatalf("address page of %s (%d transactions) has no next page link", busiest, v.TxCount)
	}
	next = strings.TrimSuffix(strings.TrimPrefix(next, `<a href="`), `" rel="next"`)
	second := c.page(strings.ReplaceAll(next, "&amp;", "&"))
	if !strings.Contains(second, "First page") || between(second, `<h3 id="history">`, "</table>") == between(first, `<h3 id="history">`, "</table>") {
		t.Error("the second page of history is the first")
	}
	if res, _ := c.get("/address/" + f.chainID + "/" + busiest + "?after=zz"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("after=zz: %s, want 400", res.Status)
	}
}

func TestAddressPageOfAnUnseenAddress(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	// BIP 173's regtest P2WPKH address: valid, and never on this chain.
	page := c.page("/address/" + f.chainID + "/bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
	for _, want := range []string{"no transaction of this address", `class="level level-none"`, "No object you may see flags this address"} {
		if !strings.Contains(page, want) {
			t.Errorf("page of an unseen address lacks %q", want)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/address/nochain/abc", http.StatusNotFound, `unknown chain &#34;nochain&#34;`},
		{"/address/" + f.chainID + "/notanaddress", http.StatusBadRequest, "notanaddress"},
	} {
		res, body := c.get(tc.path)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("GET %s: %s, want %d with %q", tc.path, res.Status, tc.status, tc.msg)
		}
	}
}

func TestTraceFormAndBadParams(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	form := c.page("/trace")
	for _, want := range []string{`action="/trace"`, `<option value="` + f.chainID + `">`, `<option value="` + f.incident + `">`, `<option value="haircut">`} {
		if !strings.Contains(form, want) {
			t.Errorf("trace form lacks %q", want)
		}
	}
	base := "/trace?chain=" + f.chainID + "&incident=" + url.QueryEscape(f.incident)
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{base + "&model=nope", http.StatusBadRequest, "unknown model &#34;nope&#34;"},
		{"/trace?chain=" + f.chainID + "&from=nope:x", http.StatusBadRequest, "nope:x"},
		{"/trace?chain=" + f.chainID + "&from=zz", http.StatusBadRequest, "not a transaction hash"},
		{base + "&from=" + strings.Repeat("ab", 32) + ":0", http.StatusBadRequest, "not both"},
		{base + "&max_hops=-1", http.StatusBadRequest, "max_hops"},
		{"/trace?chain=nochain&incident=" + url.QueryEscape(f.incident), http.StatusNotFound, "unknown chain"},
		{"/trace?chain=" + f.chainID + "&incident=incident--00000000-0000-4000-8000-000000000000", http.StatusNotFound, "no incident"},
		{f.traceURL("fifo", "xml"), http.StatusBadRequest, "export as json or stix"},
	} {
		res, body := c.get(tc.path)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("GET %s: %s, want %d with %q\n%s", tc.path, res.Status, tc.status, tc.msg, between(body, "<main", "</main>"))
		}
	}
}

func TestTraceOfAnIncidentHiddenFromAnonymousVisitors(t *testing.T) {
	f := newFixture(t)
	anon := f.client(t)
	name := incidentName(t, f)
	for _, path := range []string{f.traceURL("fifo", ""), f.traceURL("fifo", "json"), f.traceURL("fifo", "stix")} {
		res, body := anon.get(path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("anonymous GET %s: %s, want 404", path, res.Status)
		}
		for _, leak := range []string{name, "Exchange A", "Exchange B", "<svg"} {
			if strings.Contains(body, leak) {
				t.Errorf("anonymous GET %s shows %q", path, leak)
			}
		}
	}
	if form := anon.page("/trace"); strings.Contains(form, f.incident) || strings.Contains(form, name) {
		t.Error("the trace form offers the TLP:GREEN incident to an anonymous visitor")
	}
	// Nor does an endpoint's address page show the incident's evidence.
	res := mustTraceJSON(t, f.signedIn(t, "fiu"), "fifo")
	page := anon.page("/address/" + f.chainID + "/" + res.Endpoints[0].Address)
	if !strings.Contains(page, `class="level level-none"`) {
		t.Error("an anonymous visitor sees a risk from the TLP:GREEN incident")
	}
	for _, leak := range []string{name, f.incident} {
		if strings.Contains(page, leak) {
			t.Errorf("anonymous address page shows %q", leak)
		}
	}
}

func TestChainPagesWithoutAChainIndex(t *testing.T) {
	f := newFixture(t)
	web, err := New(f.svc, Options{PublicRead: true, Operator: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	bare := *f
	bare.web, bare.srv = web, httptest.NewServer(web.Handler())
	t.Cleanup(bare.srv.Close)
	c := bare.signedIn(t, "fiu")
	if page := c.page("/address/" + f.chainID + "/bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"); !strings.Contains(page, "This node indexes no chain") {
		t.Error("address page without a chain index does not say so")
	}
	if page := c.page("/trace"); !strings.Contains(page, "This node indexes no chain") {
		t.Error("trace form without a chain index does not say so")
	}
	if res, body := c.get(f.traceURL("fifo", "")); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "indexes no chain") {
		t.Errorf("trace without a chain index: %s", res.Status)
	}
}
