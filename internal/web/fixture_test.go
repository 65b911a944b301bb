package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/demo"
	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/ingest"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/simulate"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
	"github.com/cointrail/cointrail/internal/trace"
)

// fixture is a node loaded as the demo loads it: the Panel's findings
// owned by the FIU and the exchange, and a simulated theft on
// bitcoin-regtest with its blocks indexed, its exchanges labelled and its
// incident recorded by the operator (TLP:GREEN).
type fixture struct {
	svc      *intel.Service
	chain    *chainstore.Store
	alerts   *alert.Service
	web      *Server
	srv      *httptest.Server
	orgs     map[string]access.Org    // by name: fiu, exchange, operator
	tokens   map[string]string        // by organisation name
	viewers  map[string]access.Viewer // by organisation name
	sim      *simulate.Summary
	chainID  string
	incident string // the simulated theft
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "cointrail.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	operator := access.Viewer{Org: op.ID, Role: access.Admin}
	f := &fixture{svc: svc, orgs: map[string]access.Org{"operator": op}, tokens: map[string]string{}, viewers: map[string]access.Viewer{}}
	orgs, err := demo.Load(ctx, svc, operator)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		f.orgs[o.Name] = o
	}
	for name, o := range f.orgs {
		role := access.Contributor
		if name == "operator" {
			role = access.Admin
		}
		_, secret, err := svc.CreateToken(ctx, operator, o.ID, role, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[name] = secret
		f.viewers[name] = access.Viewer{Org: o.ID, Role: role}
	}

	// The simulated theft, small enough to load in a second.
	simDir := filepath.Join(dir, "scenario")
	f.sim, err = simulate.Generate(ctx, simDir, simulate.Options{Seed: 2018, Txs: 1500})
	if err != nil {
		t.Fatal(err)
	}
	f.chainID, f.incident = f.sim.Truth.Chain, f.sim.Truth.Incident
	f.chain, err = chainstore.Open(filepath.Join(dir, "chain"), chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.chain.Close() })
	if err := ingest.FromFiles(ctx, f.chain, bitcoin.Regtest, []string{filepath.Join(simDir, simulate.BlocksFile)}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	tp, err := os.Open(filepath.Join(simDir, simulate.TagPackFile))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	pack, err := tagpack.Parse(tp, tagpack.Options{Chain: f.chainID, TLP: stix.TLPGreen})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, operator, pack.Objects, intel.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(simDir, simulate.IncidentFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := stix.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, operator, b.Objects, intel.SubmitOptions{DefaultTLP: stix.TLPGreen}); err != nil {
		t.Fatal(err)
	}

	ast, err := alert.OpenStore(ctx, alert.Memory, alert.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ast.Close() })
	f.alerts = alert.NewService(ast, svc, alert.Options{Operator: op.ID})
	clusters := cluster.NewIndex(f.chain)
	f.web, err = New(svc, Options{
		PublicRead: true,
		Chain:      f.chain,
		Screener:   screen.New(svc, f.chain, screen.Options{Clusters: clusters}),
		Tracer:     trace.New(f.chain),
		Clusters:   clusters,
		Alerts:     f.alerts,
		Operator:   op.ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.web.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser-like HTTP client with its own cookies, that does not
// follow redirects (tests check them).
type client struct {
	t    testing.TB
	f    *fixture
	http *http.Client
}

func (f *fixture) client(t testing.TB) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, f: f, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a client signed in as the named organisation.
func (f *fixture) signedIn(t testing.TB, org string) *client {
	t.Helper()
	c := f.client(t)
	res, _ := c.signin(f.tokens[org], "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %s", org, res.Status)
	}
	return c
}

// get fetches path and returns the response and its body.
func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	res, err := c.http.Get(c.f.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(body)
}

// page fetches path, fails the test unless it answers 200, and returns the
// body.
func (c *client) page(path string) string {
	c.t.Helper()
	res, body := c.get(path)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s\n%s", path, res.Status, body)
	}
	return body
}

// signin sends the sign-in form, as a browser does: it loads the form
// (which sets its pre-session cookie) and posts it with its CSRF token.
func (c *client) signin(token, next string) (*http.Response, string) {
	c.t.Helper()
	form := url.Values{"token": {token}, "csrf": {formCSRF(c.t, c.page("/signin"))}}
	if next != "" {
		form.Set("next", next)
	}
	return c.post("/signin", form)
}

// csrf returns the CSRF token the pages give this client's session.
func (c *client) csrf() string {
	c.t.Helper()
	return formCSRF(c.t, c.page("/"))
}

// formCSRF returns the first CSRF token of a page's forms.
func formCSRF(t testing.TB, body string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatal("no CSRF token on the page: not signed in?")
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// post sends a form (with the session's CSRF token when signed in and the
// form has none) and returns the response and its body.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	res, err := c.http.PostForm(c.f.srv.URL+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(body)
}

// submit posts a form with the session's CSRF token.
func (c *client) submit(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf())
	return c.post(path, form)
}
