package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cointrail/cointrail/internal/browsertest"
)

var updateDocs = flag.Bool("update-docs", false, "write the README's screenshot of the trace view to docs/")

// browserNode is the demo served for the browser tests: its URL and the
// organisations' tokens.
type browserNode struct {
	url      string
	tokens   map[string]string
	incident string // the simulated theft
}

func startBrowserNode(t *testing.T) *browserNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	out := mustRun(t, "demo", "--data", dir, "--no-serve")
	n := &browserNode{tokens: map[string]string{}}
	for _, m := range regexp.MustCompile(`(?m)^(\w+)\s+\w+\s+(ct_\S+)$`).FindAllStringSubmatch(out, -1) {
		n.tokens[m[1]] = m[2]
	}
	inc := regexp.MustCompile(`--incident (incident--[0-9a-f-]+)`).FindStringSubmatch(out)
	if len(n.tokens) != 3 || inc == nil {
		t.Fatalf("demo output: %s", out)
	}
	n.incident = inc[1]
	url, stop := startServe(t, dir)
	t.Cleanup(stop)
	n.url = url
	return n
}

// signIn signs the tab in with org's token through the sign-in form.
func (n *browserNode) signIn(t *testing.T, ctx context.Context, org string) {
	t.Helper()
	browsertest.Navigate(t, ctx, n.url+"/signin")
	browsertest.Run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#token"), n.tokens[org]),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("header .who .role")),
	)
	if who := browsertest.Text(t, ctx, "header .who"); !strings.Contains(who, org) {
		t.Fatalf("signed in as %q, want %s", who, org)
	}
}

// html returns the outer HTML of the first element sel matches.
func html(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return browsertest.Get(t, ctx, "the HTML of "+sel, chromedp.OuterHTML(chromedp.CSS(sel)))
}

// click clicks sel and waits for wait to be visible on the page it leads to.
func click(t *testing.T, ctx context.Context, sel, wait string) {
	t.Helper()
	browsertest.Run(t, ctx, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(wait)))
}

// countIncidents counts the incidents org may see, over the REST API.
func countIncidents(t *testing.T, n *browserNode, org string) int {
	t.Helper()
	var res struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	getJSON(t, n.url+"/api/v1/incidents", n.tokens[org], &res)
	return len(res.Incidents)
}

func TestBrowser(t *testing.T) {
	n := startBrowserNode(t)

	t.Run("home and what each organisation sees", func(t *testing.T) {
		ctx := browsertest.New(t)
		browsertest.Navigate(t, ctx, n.url+"/")
		if home := browsertest.Text(t, ctx, "main"); !strings.Contains(home, "Sign in") {
			t.Errorf("home page without a token: %q", home)
		}
		n.signIn(t, ctx, "fiu")
		home := browsertest.Text(t, ctx, "#summary")
		if !regexp.MustCompile(`This node holds \d+ incidents you may see`).MatchString(home) || !strings.Contains(home, "bitcoin-regtest") {
			t.Errorf("home page summary: %q", home)
		}
		for _, link := range []string{`a[href^="/incidents/"]`, `a[href^="/trace?"]`, `a[href="/report"]`} {
			html(t, ctx, ".tryfirst "+link)
		}
		browsertest.Screenshot(t, ctx, "home")

		// The exchange's deposit block list entry is TLP:AMBER for the
		// exchange alone: its address page shows the indicator to the
		// exchange, not to the FIU, though both see the OFAC listing.
		const addr = "/address/bitcoin/1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE"
		const indicator = "indicator--e478681c-eba9-452f-bcdc-ce520cb92ac2"
		browsertest.Navigate(t, ctx, n.url+addr)
		fiuSees := html(t, ctx, "main")
		ex := browsertest.Isolated(t, ctx)
		n.signIn(t, ex, "exchange")
		browsertest.Navigate(t, ex, n.url+addr)
		exSees := html(t, ex, "main")
		browsertest.Screenshot(t, ex, "address-exchange")
		if !strings.Contains(exSees, indicator) {
			t.Error("the exchange does not see its own AMBER indicator on the address page")
		}
		if strings.Contains(fiuSees, indicator) {
			t.Error("the FIU sees the exchange's AMBER indicator")
		}

		// On the Coincheck page, the FIU's own opinion on the attribution
		// (TLP:AMBER, no recipient) is the FIU's alone; its deposit
		// screening request names the exchange as a recipient.
		const coincheck = "/incidents/incident--16c15623-169c-4900-90a6-f4fe48255c2c"
		const opinion, request = "opinion--028eceeb", "Deposit screening request"
		browsertest.Navigate(t, ctx, n.url+coincheck)
		fiuSees = html(t, ctx, "main")
		browsertest.Screenshot(t, ctx, "coincheck-fiu")
		browsertest.Navigate(t, ex, n.url+coincheck)
		exSees = html(t, ex, "main")
		if !strings.Contains(fiuSees, request) || !strings.Contains(exSees, request) {
			t.Error("the deposit screening request does not show to both the FIU and the exchange, its recipient")
		}
		// The exchange's own opinion (GREEN) is on another incident; the
		// FIU's AMBER one shows to the FIU only.
		if !strings.Contains(fiuSees, "agrees with the attribution of the Coincheck theft") {
			t.Error("the FIU does not see its own opinion on the Coincheck attribution")
		}
		if strings.Contains(exSees, "agrees with the attribution of the Coincheck theft") {
			t.Error("the exchange sees the FIU's own opinion")
		}
		op := browsertest.Isolated(t, ctx)
		n.signIn(t, op, "operator")
		browsertest.Navigate(t, op, n.url+coincheck)
		if opSees := html(t, op, "main"); strings.Contains(opSees, request) || strings.Contains(opSees, opinion) {
			t.Error("the operator sees the FIU's TLP:AMBER note or opinion")
		}
	})

	t.Run("incident to trace to endpoint to address to evidence", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "fiu")
		browsertest.Navigate(t, ctx, n.url+"/incidents")
		browsertest.Screenshot(t, ctx, "incidents")
		click(t, ctx, `#incidents a[href="/incidents/`+n.incident+`"]`, ".live-trace")
		if body := browsertest.Text(t, ctx, "main"); !strings.Contains(body, "Exchange A") {
			t.Errorf("incident page does not show the funds reaching Exchange A")
		}
		browsertest.Screenshot(t, ctx, "incident")
		click(t, ctx, `main a[href^="/trace?"]`, "main svg")
		shot := browsertest.Screenshot(t, ctx, "trace")
		if *updateDocs {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "trace-view.png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		click(t, ctx, `#endpoints a[href^="/address/"]`, "#screening")
		browsertest.Screenshot(t, ctx, "address")
		// The indirect evidence: the stolen funds of the incident that reached
		// the address, linked back to the incident.
		click(t, ctx, `#indirect ~ .table-wrap a[href="/incidents/`+n.incident+`"]`, ".live-trace")
	})

	t.Run("an alert from the live trace, acknowledged", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "exchange")
		deadline := time.Now().Add(60 * time.Second)
		for {
			browsertest.Navigate(t, ctx, n.url+"/alerts?state=new")
			rows := browsertest.Get(t, ctx, "the alert rows", chromedp.Evaluate[int](`document.querySelectorAll("tr.alert-row").length`))
			if rows > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no alert on the exchange's alert page within a minute")
			}
			time.Sleep(500 * time.Millisecond)
		}
		browsertest.Screenshot(t, ctx, "alerts")
		id := browsertest.Get(t, ctx, "the first alert's id", chromedp.AttributeValue(chromedp.CSS("tr.alert-row"), "id")).Value
		click(t, ctx, "#"+id+" button.ack", "#"+id+" .state-acknowledged")
		browsertest.Navigate(t, ctx, n.url+"/alerts?state=acknowledged")
		if row := html(t, ctx, "#alerts"); !strings.Contains(row, id) {
			t.Errorf("alert %s is not acknowledged", id)
		}
		// The FIU watches nothing: its alert page lacks the exchange's.
		fiu := browsertest.Isolated(t, ctx)
		n.signIn(t, fiu, "fiu")
		browsertest.Navigate(t, fiu, n.url+"/alerts")
		if strings.Contains(html(t, fiu, "main"), id) {
			t.Error("the FIU sees the exchange's alert")
		}
	})

	t.Run("a bad form shows the error and changes nothing", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "fiu")
		before := countIncidents(t, n, "fiu")
		browsertest.Navigate(t, ctx, n.url+"/incidents/new")
		browsertest.Run(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#name"), "A theft with a bad wallet"),
			chromedp.SetValue(chromedp.CSS("#occurred"), "2024-02-01"),
			chromedp.SendKeys(chromedp.CSS("#wallets"), "bitcoin 1NotAnAddress theft-destination"),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#wallets[aria-invalid="true"]`)),
		)
		if msg := browsertest.Text(t, ctx, "main"); !strings.Contains(msg, "1NotAnAddress") {
			t.Errorf("the form's error does not name the bad address: %q", msg)
		}
		browsertest.Screenshot(t, ctx, "incident-form-error")
		if after := countIncidents(t, n, "fiu"); after != before {
			t.Errorf("incidents %d -> %d after a refused form", before, after)
		}

		// An organisation name the node refuses, as the operator's admin.
		op := browsertest.Isolated(t, ctx)
		n.signIn(t, op, "operator")
		browsertest.Navigate(t, op, n.url+"/orgs")
		orgsBefore := browsertest.Get(t, op, "the organisations", chromedp.Evaluate[int](`document.querySelectorAll("main h2, main h3").length`))
		browsertest.Run(t, op,
			chromedp.SendKeys(chromedp.CSS(`form[action="/orgs"] #name`), "no spaces allowed!"),
			chromedp.Submit(chromedp.CSS(`form[action="/orgs"] #name`)),
			chromedp.WaitVisible(chromedp.CSS("#name-error")),
		)
		browsertest.Navigate(t, op, n.url+"/orgs")
		if after := browsertest.Get(t, op, "the organisations", chromedp.Evaluate[int](`document.querySelectorAll("main h2, main h3").length`)); after != orgsBefore {
			t.Errorf("the organisations page changed after a refused name: %d -> %d headings", orgsBefore, after)
		}
	})

	t.Run("another organisation's token shows nothing of the first", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "fiu")
		const name = "An FIU case kept to itself"
		browsertest.Navigate(t, ctx, n.url+"/incidents/new")
		browsertest.Run(t, ctx,
			chromedp.SendKeys(chromedp.CSS("#name"), name),
			chromedp.SetValue(chromedp.CSS("#occurred"), "2024-03-01"),
			chromedp.SetValue(chromedp.CSS("#tlp"), "RED"),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".live-trace, main h1 .tlp")),
		)
		page := browsertest.Get(t, ctx, "the new incident's URL", chromedp.Evaluate[string](`location.pathname`))
		if !strings.HasPrefix(page, "/incidents/incident--") || !strings.Contains(browsertest.Text(t, ctx, "main h1"), name) {
			t.Fatalf("after creating: %s", page)
		}
		ex := browsertest.Isolated(t, ctx)
		n.signIn(t, ex, "exchange")
		browsertest.Navigate(t, ex, n.url+page)
		if body := browsertest.Text(t, ex, "main"); strings.Contains(body, name) || !strings.Contains(body, "no incident") {
			t.Errorf("the exchange on the FIU's TLP:RED incident sees %q", body)
		}
		browsertest.Screenshot(t, ex, "red-incident-as-exchange")
		browsertest.Navigate(t, ex, n.url+"/incidents?q="+strings.ReplaceAll(name, " ", "+"))
		if body := browsertest.Text(t, ex, "main"); strings.Contains(body, name) {
			t.Error("the exchange's incident list shows the FIU's TLP:RED incident")
		}
	})

	t.Run("on a phone and from the keyboard", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "exchange")
		browsertest.Run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		for _, page := range []string{"/", "/incidents", "/incidents/" + n.incident, "/trace?chain=bitcoin-regtest&incident=" + n.incident, "/report", "/alerts"} {
			browsertest.Navigate(t, ctx, n.url+page)
			// Wide tables scroll in their own box; the page itself must
			// not scroll sideways.
			over := browsertest.Get(t, ctx, "the page's overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
			if over > 1 {
				t.Errorf("%s is %d px wider than a phone's screen", page, over)
			}
		}
		browsertest.Navigate(t, ctx, n.url+"/incidents")
		browsertest.Screenshot(t, ctx, "incidents-phone")
		// The first Tab reaches the skip link, which moves focus to the
		// content.
		browsertest.Run(t, ctx, chromedp.KeyEvent("\t"))
		if got := browsertest.Get(t, ctx, "the focused element", chromedp.Evaluate[string](`document.activeElement.className`)); got != "skip" {
			t.Errorf("the first Tab focuses %q, not the skip link", got)
		}
		browsertest.Run(t, ctx, chromedp.KeyEvent("\r"))
		if got := browsertest.Get(t, ctx, "the focused element", chromedp.Evaluate[string](`document.activeElement.id`)); got != "main" {
			t.Errorf("the skip link moves focus to %q, not the content", got)
		}
	})

	t.Run("the report", func(t *testing.T) {
		ctx := browsertest.New(t)
		n.signIn(t, ctx, "fiu")
		browsertest.Navigate(t, ctx, n.url+"/report")
		body := browsertest.Text(t, ctx, "main")
		for _, want := range []string{"Coincheck", "US$", "Lazarus Group"} {
			if !strings.Contains(body, want) {
				t.Errorf("report page lacks %q", want)
			}
		}
		browsertest.Screenshot(t, ctx, "report")
	})
}
