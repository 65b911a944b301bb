package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestHomeSaysWhatTheNodeHolds(t *testing.T) {
	f := newFixture(t)
	fiu := f.signedIn(t, "fiu").page("/")
	incs, err := f.svc.Incidents(context.Background(), f.viewers["fiu"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"This node holds " + strconv.Itoa(len(incs)) + " incidents you may see",
		"transactions in", "blocks of bitcoin-regtest",
		`href="/report"`, "The Coincheck incident", `href="/trace?chain=bitcoin-regtest&amp;incident=` + url.QueryEscape(f.incident),
	} {
		if !strings.Contains(fiu, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	// Anonymous visitors see TLP:CLEAR only: fewer incidents.
	anon := f.client(t).page("/")
	if strings.Contains(anon, "This node holds "+strconv.Itoa(len(incs))+" incidents") || !strings.Contains(anon, "You are not signed in") {
		t.Errorf("anonymous home page shows what the FIU sees")
	}
}

func TestSignInCookieAndHeaders(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	res, body := c.signin(f.tokens["exchange"], "/incidents")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/incidents" {
		t.Fatalf("sign in: %s to %q\n%s", res.Status, res.Header.Get("Location"), body)
	}
	var got *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == cookieName {
			got = ck
		}
	}
	if got == nil || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode || got.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	home := c.page("/")
	if !strings.Contains(home, "exchange") || !strings.Contains(home, "Sign out") {
		t.Errorf("home page after sign-in does not name the organisation")
	}
	// Sign out: the cookie goes, and the pages that need a token ask for one.
	c.submit("/signout", nil)
	if res, _ := c.get("/alerts"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Errorf("after sign-out /alerts: %s to %q", res.Status, res.Header.Get("Location"))
	}
}

func TestSignInRefusesBadTokensAndForeignRedirects(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	for _, tc := range []struct {
		token  string
		status int
		msg    string
	}{
		{"", http.StatusBadRequest, "Enter the token"},
		{"ct_nope_nope", http.StatusUnauthorized, "not valid on this node"},
	} {
		res, body := c.signin(tc.token, "")
		if res.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("token %q: %s, body lacks %q", tc.token, res.Status, tc.msg)
		}
	}
	res, _ := c.signin(f.tokens["fiu"], "//evil.example/x")
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("next=//evil.example/x redirected to %q", loc)
	}
}

// TestSignInNeedsItsForm: a sign-in posted without the form's token (from
// another site, or a script) signs nobody in.
func TestSignInNeedsItsForm(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	for _, form := range []url.Values{
		{"token": {f.tokens["fiu"]}},
		{"token": {f.tokens["fiu"]}, "csrf": {"forged"}},
	} {
		res, body := c.post("/signin", form)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "reload it") {
			t.Errorf("sign-in with csrf %q: %s", form.Get("csrf"), res.Status)
		}
		for _, ck := range res.Cookies() {
			if ck.Name == cookieName && ck.Value != "" {
				t.Error("a refused sign-in set the session cookie")
			}
		}
	}
	// With another visitor's form token, too.
	other := formCSRF(t, f.client(t).page("/signin"))
	c.page("/signin")
	if res, _ := c.post("/signin", url.Values{"token": {f.tokens["fiu"]}, "csrf": {other}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in with another visitor's form token: %s", res.Status)
	}
}

func TestFormsNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "operator")
	before, err := f.svc.Orgs(context.Background(), f.viewers["operator"])
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []url.Values{
		{"name": {"newcomer"}},
		{"name": {"newcomer"}, "csrf": {"forged"}},
	} {
		res, body := c.post("/orgs", form)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "reload the page") {
			t.Errorf("POST /orgs with csrf %q: %s", form.Get("csrf"), res.Status)
		}
	}
	// A token rendered for another session is refused too.
	other := f.signedIn(t, "fiu").csrf()
	if res, _ := c.post("/orgs", url.Values{"name": {"newcomer"}, "csrf": {other}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST /orgs with another session's CSRF token: %s", res.Status)
	}
	after, err := f.svc.Orgs(context.Background(), f.viewers["operator"])
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("organisations %d -> %d after refused forms", len(before), len(after))
	}
}

func TestRevokedTokenSignsOut(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	c.page("/incidents")
	ctx := context.Background()
	toks, err := f.svc.Tokens(ctx, f.viewers["operator"], f.orgs["fiu"].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if _, err := f.svc.RevokeToken(ctx, f.viewers["operator"], tok.ID); err != nil {
			t.Fatal(err)
		}
	}
	res, body := c.get("/incidents")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "sign in again") {
		t.Errorf("page with a revoked token: %s", res.Status)
	}
}

func TestStaticAndUnknownPages(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	if res, body := c.get("/static/style.css"); res.StatusCode != 200 || !strings.Contains(body, "@media print") {
		t.Errorf("style.css: %s", res.Status)
	}
	res, body := c.get("/no/such/page")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "no page at /no/such/page") {
		t.Errorf("unknown page: %s", res.Status)
	}
}

func TestSecureCookieBehindAnHTTPSProxy(t *testing.T) {
	f := newFixture(t)
	f.web.opts.PublicURL = "https://cointrail.example"
	// The cookie jar keeps Secure cookies from plain HTTP: carry the
	// sign-in form's cookie by hand.
	res, body := f.client(t).get("/signin")
	var pre *http.Cookie
	for _, ck := range res.Cookies() {
		pre = ck
	}
	if pre == nil || pre.Name != securePreCookieName || !pre.Secure || !pre.HttpOnly {
		t.Fatalf("sign-in form cookie behind an HTTPS proxy: %+v", pre)
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/signin", strings.NewReader(url.Values{"token": {f.tokens["fiu"]}, "csrf": {formCSRF(t, body)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(pre)
	res, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var got *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == secureCookieName {
			got = ck
		}
	}
	if got == nil || got.Name != secureCookieName || !got.Secure || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie behind an HTTPS proxy: %+v", got)
	}
}
