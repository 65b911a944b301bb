package web

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/federation"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/node"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// peerToken is the token the test peers issued to the fixture's node; no
// page may show it.
const peerToken = "ct_peer_alpha_secret_do_not_show"

// MustPeerDocument makes another node, with one organisation named org,
// and returns its signed node document and public key.
func MustPeerDocument(tb testing.TB, org string) ([]byte, ed25519.PublicKey) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	if err := node.Create(dir); err != nil {
		tb.Fatal(err)
	}
	keys, err := node.Keys(dir)
	if err != nil {
		tb.Fatal(err)
	}
	priv, err := node.LoadKey(dir)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	signer := intel.Ed25519Signer{Key: priv, ID: keys[0].ID}
	svc, op, err := intel.Bootstrap(ctx, st, org, intel.Options{Signer: signer})
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := federation.BuildDocument(ctx, svc, access.Viewer{Org: op.ID, Role: access.Admin}, keys, signer, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return doc, keys[0].Public
}

// MustAddPeers adds two peers to the fixture's node as `peer add` does,
// from their documents (so without reaching them): alpha, which this node
// pulls from and pushes to and whose sync state is recorded as the syncer
// records it, and beta, which it has never synced with. It fixes the
// pages' clock and returns it.
func MustAddPeers(tb testing.TB, f *fixture) time.Time {
	tb.Helper()
	ctx := context.Background()
	op := f.viewers["operator"]
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	f.web.opts.Now = func() time.Time { return now }
	for _, p := range []struct {
		name, url string
		opts      federation.AddOptions
	}{
		{"alpha", "https://alpha.example/taxii2/", federation.AddOptions{Push: true, PushCollection: "alpha-inbox"}},
		{"beta", "https://beta.example/", federation.AddOptions{Collections: []string{"beta-public"}}},
	} {
		doc, key := MustPeerDocument(tb, p.name+"-fiu")
		p.opts.Document, p.opts.Now = doc, now.Add(-72*time.Hour)
		if _, err := federation.AddPeer(ctx, f.svc, op, p.name, p.url, peerToken, key, nil, p.opts); err != nil {
			tb.Fatalf("add peer %s: %v", p.name, err)
		}
	}
	st := federation.Status{
		Peer:          "alpha",
		LastSuccess:   now.Add(-3*time.Minute - 12*time.Second),
		CaughtUp:      now.Add(-3*time.Minute - 12*time.Second),
		LastError:     "pull alpha: 503 Service Unavailable",
		LastErrorAt:   now.Add(-time.Minute),
		Pulled:        1234,
		Pushed:        56,
		Rejected:      7,
		LastRejection: "indicator--0f6b: signature does not verify",
	}
	data, err := json.Marshal(st)
	if err != nil {
		tb.Fatal(err)
	}
	// The key the syncer keeps a peer's status under.
	if err := f.svc.SetState(ctx, op, "peerstatus/alpha", string(data)); err != nil {
		tb.Fatal(err)
	}
	return now
}

func TestSharingPeersForTheOperator(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "operator")
	if body := c.page("/sharing"); !strings.Contains(body, `id="no-peers"`) {
		t.Errorf("sharing page without peers does not say so")
	}
	MustAddPeers(t, f)
	body := c.page("/sharing")
	alpha := section(t, body, `id="peer-alpha"`, "</section>")
	for _, want := range []string{
		"https://alpha.example/taxii2/",
		"pushes its own objects to the peer&#39;s collection alpha-inbox",
		"3m 12s", "(caught up 2026-03-02 11:56 UTC)",
		"Last success</dt><dd>2026-03-02 11:56 UTC",
		`<span class="error">pull alpha: 503 Service Unavailable</span>, 2026-03-02 11:59 UTC`,
		"1234 objects", "56 objects", "7 objects",
		"indicator--0f6b: signature does not verify",
		"alpha/alpha-fiu",
		"every collection this node may read",
	} {
		if !strings.Contains(alpha, want) {
			t.Errorf("peer alpha lacks %q", want)
		}
	}
	beta := section(t, body, `id="peer-beta"`, "</section>")
	for _, want := range []string{"https://beta.example/", "never caught up", "Last success</dt><dd>never", "Last error</dt><dd>none", "0 objects", "beta-public", "Pushes</dt><dd>no"} {
		if !strings.Contains(beta, want) {
			t.Errorf("peer beta lacks %q", want)
		}
	}
	if strings.Contains(body, peerToken) {
		t.Errorf("the sharing page shows a peer's token")
	}
	// The operator sees what its own organisation shares too.
	if !strings.Contains(body, "What operator shares") || shareCount(t, body, "total") == 0 {
		t.Errorf("the operator's sharing page lacks its own counts")
	}
}

func TestSharingOwnCountsForMembers(t *testing.T) {
	f := newFixture(t)
	MustAddPeers(t, f)
	fiu, exchange := f.signedIn(t, "fiu"), f.signedIn(t, "exchange")
	before, exBefore := fiu.page("/sharing"), exchange.page("/sharing")
	for _, name := range []string{"peer-alpha", "peer-beta", "alpha.example", "beta.example", peerToken} {
		if strings.Contains(before, name) {
			t.Errorf("the FIU's sharing page shows %q", name)
		}
	}
	if !strings.Contains(before, "What fiu shares") || !strings.Contains(before, "configured by the node's operator (operator)") {
		t.Errorf("the FIU's sharing page does not explain what it shares")
	}
	if shareCount(t, before, "total") == 0 {
		t.Errorf("the FIU owns demo objects, the page counts none")
	}

	// Three objects more: two RED (one shared with the exchange), one AMBER.
	ex := f.orgs["exchange"].ID
	objs := []string{
		threatActor(t, stix.TLPRedID, ex),
		threatActor(t, stix.TLPRedID, ""),
		threatActor(t, stix.TLPAmberID, ""),
	}
	b, err := stix.ParseBundle([]byte(`{"type":"bundle","id":"` + stix.NewID("bundle") + `","objects":[` + strings.Join(objs, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(context.Background(), f.viewers["fiu"], b.Objects, intel.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	after := fiu.page("/sharing")
	for _, tc := range []struct {
		key  string
		more int
	}{{"red", 2}, {"recipients-red", 1}, {"amber", 1}, {"recipients-amber", 0}, {"green", 0}, {"clear", 0}, {"total", 3}} {
		if got := shareCount(t, after, tc.key) - shareCount(t, before, tc.key); got != tc.more {
			t.Errorf("%s: %d more, want %d", tc.key, got, tc.more)
		}
	}
	// The exchange owns none of them, though it may see one.
	if exAfter := exchange.page("/sharing"); shareCount(t, exAfter, "total") != shareCount(t, exBefore, "total") || shareCount(t, exAfter, "red") != shareCount(t, exBefore, "red") {
		t.Errorf("the exchange's counts changed with the FIU's objects")
	}
}

func TestOrgsCreateIssueRevokeToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.signedIn(t, "operator")
	body := c.page("/orgs")
	for _, name := range []string{"operator", "fiu", "exchange"} {
		if !strings.Contains(body, `id="org-`+f.orgs[name].ID+`"`) {
			t.Errorf("/orgs lacks organisation %s", name)
		}
	}
	if !strings.Contains(body, "you are signed in with it") {
		t.Errorf("/orgs does not mark the token in use")
	}

	res, _ := c.submit("/orgs", url.Values{"name": {"Chainalysis Ltd."}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/orgs" {
		t.Fatalf("create organisation: %s to %q", res.Status, res.Header.Get("Location"))
	}
	org, err := f.svc.Org(ctx, f.viewers["operator"], "Chainalysis Ltd.")
	if err != nil {
		t.Fatalf("the new organisation: %v", err)
	}
	if !strings.Contains(c.page("/orgs"), `id="org-`+org.ID+`"`) {
		t.Errorf("/orgs lacks the new organisation")
	}

	res, body = c.submit("/orgs/"+org.ID+"/tokens", url.Values{"role": {"contributor"}, "days": {"30"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("issue token: %s\n%s", res.Status, body)
	}
	m := regexp.MustCompile(`<code id="secret">([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the issued token's secret is not shown:\n%s", body)
	}
	secret := m[1]
	v, err := f.svc.Authenticate(ctx, secret)
	if err != nil || v.Org != org.ID || v.Role != access.Contributor {
		t.Fatalf("the shown secret authenticates as %+v, %v", v, err)
	}
	toks, err := f.svc.Tokens(ctx, f.viewers["operator"], org.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens of the new organisation: %v, %v", toks, err)
	}
	tok := toks[0]
	if want := f.web.opts.Now().AddDate(0, 0, 30); tok.Expires.Sub(want).Abs() > time.Minute {
		t.Errorf("token expires %s, want about %s", tok.Expires, want)
	}
	if !strings.Contains(body, "Token "+tok.ID+" issued to Chainalysis Ltd.") || !strings.Contains(body, "will not be shown again") {
		t.Errorf("the issue notice does not name the token and its organisation")
	}
	list := c.page("/orgs")
	if strings.Contains(list, secret) || strings.Contains(list, `id="secret"`) {
		t.Errorf("/orgs shows the secret again")
	}
	if !strings.Contains(section(t, list, `id="token-`+tok.ID+`"`, "</tr>"), "active") {
		t.Errorf("/orgs does not list the token as active")
	}

	res, _ = c.submit("/tokens/"+tok.ID+"/revoke", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/orgs" {
		t.Fatalf("revoke token: %s to %q", res.Status, res.Header.Get("Location"))
	}
	if _, err := f.svc.Authenticate(ctx, secret); err == nil {
		t.Errorf("a revoked token still authenticates")
	}
	list = c.page("/orgs")
	if row := section(t, list, `id="token-`+tok.ID+`"`, "</tr>"); !strings.Contains(row, "revoked 20") || strings.Contains(row, "/revoke") {
		t.Errorf("/orgs does not show the token revoked: %s", row)
	}
	if strings.Contains(list, secret) {
		t.Errorf("/orgs shows the secret after revoking")
	}
}

func TestOrgsBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op := f.viewers["operator"]
	fiu := f.orgs["fiu"].ID
	c := f.signedIn(t, "operator")
	count := func() (orgs, tokens int) {
		t.Helper()
		all, err := f.svc.Orgs(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := f.svc.Tokens(ctx, op, fiu)
		if err != nil {
			t.Fatal(err)
		}
		return len(all), len(toks)
	}
	orgs, tokens := count()
	for _, tc := range []struct {
		name    string
		path    string
		form    url.Values
		status  int
		field   string
		message string
	}{
		{"empty name", "/orgs", url.Values{"name": {"  "}}, http.StatusBadRequest, `id="name"`, "Enter a name for the organisation."},
		{"invalid name", "/orgs", url.Values{"name": {"<script>x</script>"}}, http.StatusBadRequest, `id="name"`, "must be 1 to 64 letters"},
		{"taken name", "/orgs", url.Values{"name": {"exchange"}}, http.StatusConflict, `id="name"`, "exists already"},
		{"unknown role", "/orgs/" + fiu + "/tokens", url.Values{"role": {"root"}}, http.StatusBadRequest, `id="role-` + fiu + `"`, "Choose a role"},
		{"negative expiry", "/orgs/" + fiu + "/tokens", url.Values{"role": {"reader"}, "days": {"-3"}}, http.StatusBadRequest, `id="days-` + fiu + `"`, "cannot be negative"},
		{"expiry not a number", "/orgs/" + fiu + "/tokens", url.Values{"role": {"reader"}, "days": {"soon"}}, http.StatusBadRequest, `id="days-` + fiu + `"`, "whole number of days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := c.submit(tc.path, tc.form)
			if res.StatusCode != tc.status {
				t.Fatalf("%s: %s, want %d", tc.path, res.Status, tc.status)
			}
			if !strings.Contains(body, tc.message) || !strings.Contains(body, `role="alert"`) {
				t.Errorf("the page does not show %q", tc.message)
			}
			if !strings.Contains(section(t, body, tc.field, ">"), `aria-invalid="true"`) {
				t.Errorf("field %s is not marked invalid", tc.field)
			}
			if strings.Contains(body, "<script>x") {
				t.Errorf("the refused name is not escaped")
			}
			if o, tk := count(); o != orgs || tk != tokens {
				t.Errorf("organisations %d -> %d, FIU tokens %d -> %d", orgs, o, tokens, tk)
			}
		})
	}
	// The refused form keeps what was typed.
	_, body := c.submit("/orgs/"+fiu+"/tokens", url.Values{"role": {"admin"}, "days": {"-3"}})
	if !strings.Contains(section(t, body, `id="role-`+fiu+`"`, "</select>"), `<option value="admin" selected>`) {
		t.Errorf("the refused token form forgets the role chosen")
	}
	// An organisation the node does not have.
	if res, _ := c.submit("/orgs/identity--00000000-0000-4000-8000-000000000000/tokens", url.Values{"role": {"reader"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("token for an unknown organisation: %s", res.Status)
	}
}

func TestOrgsRefusedToNonAdmins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	op := f.viewers["operator"]
	c := f.signedIn(t, "fiu")
	before, err := f.svc.Orgs(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	opToks, err := f.svc.Tokens(ctx, op, f.orgs["operator"].ID)
	if err != nil {
		t.Fatal(err)
	}
	fiuToks, err := f.svc.Tokens(ctx, op, f.orgs["fiu"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if home := c.page("/"); strings.Contains(home, `href="/orgs"`) {
		t.Errorf("a contributor's navigation links to /orgs")
	}
	res, body := c.get("/orgs")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "managed by admins") || !strings.Contains(body, "contributor") {
		t.Errorf("GET /orgs as a contributor: %s", res.Status)
	}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/orgs", url.Values{"name": {"sneaky"}}},
		{"/orgs", url.Values{"name": {""}}},
		{"/orgs/" + f.orgs["fiu"].ID + "/tokens", url.Values{"role": {"admin"}}},
		{"/orgs/" + f.orgs["fiu"].ID + "/tokens", url.Values{"role": {"admin"}, "days": {"-1"}}},
		{"/tokens/" + opToks[0].ID + "/revoke", nil},
	} {
		res, body := c.submit(tc.path, tc.form)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "managed by admins") {
			t.Errorf("POST %s %v as a contributor: %s", tc.path, tc.form, res.Status)
		}
		if strings.Contains(body, `id="secret"`) {
			t.Errorf("POST %s as a contributor shows a secret", tc.path)
		}
	}
	after, err := f.svc.Orgs(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("organisations %d -> %d after a contributor's forms", len(before), len(after))
	}
	if toks, _ := f.svc.Tokens(ctx, op, f.orgs["fiu"].ID); len(toks) != len(fiuToks) {
		t.Errorf("FIU tokens %d -> %d after a contributor's forms", len(fiuToks), len(toks))
	}
	if _, err := f.svc.Authenticate(ctx, f.tokens["operator"]); err != nil {
		t.Errorf("a contributor revoked the operator's token: %v", err)
	}
}

// section returns the part of body from attr to the next end, to look
// for text that belongs to one element: a peer's section, a token's row.
func section(tb testing.TB, body, attr, end string) string {
	tb.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		tb.Fatalf("page lacks %s", attr)
	}
	rest := body[i:]
	if j := strings.Index(rest, end); j >= 0 {
		return rest[:j]
	}
	return rest
}

// shareCount reads a count off the sharing page: "red", "total",
// "recipients-amber".
func shareCount(tb testing.TB, body, key string) int {
	tb.Helper()
	id := "count-" + key
	if strings.HasPrefix(key, "recipients-") {
		id = key
	}
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `">(\d+)<`).FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("sharing page lacks the count %s", id)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// threatActor is a threat-actor object marked with tlp, shared with
// recipient if not "".
func threatActor(tb testing.TB, tlp, recipient string) string {
	tb.Helper()
	o := map[string]any{
		"type": "threat-actor", "spec_version": "2.1", "id": stix.NewID("threat-actor"),
		"created": "2026-01-05T10:00:00.000Z", "modified": "2026-01-05T10:00:00.000Z",
		"name": fmt.Sprintf("Test actor %s", stix.NewID("x")), "object_marking_refs": []string{tlp},
	}
	if recipient != "" {
		o["extensions"] = map[string]any{stix.SharingExtensionID: map[string]any{"extension_type": "property-extension", "recipients": []string{recipient}}}
	}
	data, err := json.Marshal(o)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}
