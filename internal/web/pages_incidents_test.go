package web

import (
	"bufio"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/report"
)

func TestIncidentListFilters(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	for _, tc := range []struct {
		query      string
		want, lack []string
	}{
		{"", []string{"Coincheck", f.sim.Truth.Victim}, nil},
		{"?q=coincheck", []string{"Coincheck"}, []string{f.sim.Truth.Victim}},
		{"?year=2018&q=coincheck", []string{"Coincheck"}, nil},
		{"?year=2016", nil, []string{"Coincheck"}},
		{"?country=JP", []string{"Coincheck"}, []string{"Bithumb"}},
		{"?q=" + url.QueryEscape("<script>"), []string{"No incident matches", "value=\"&lt;script&gt;\""}, []string{"<script>\""}},
	} {
		body := c.page("/incidents" + tc.query)
		table := body
		if i := strings.Index(body, `<p id="count">`); i >= 0 {
			table = body[i:]
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("/incidents%s lacks %q", tc.query, w)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(table, l) {
				t.Errorf("/incidents%s shows %q", tc.query, l)
			}
		}
	}
}

func TestIncidentPageShowsTheTheftAndWhereItWent(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "exchange")
	ctx := context.Background()
	incs, err := f.svc.Incidents(ctx, f.viewers["exchange"])
	if err != nil {
		t.Fatal(err)
	}
	var coincheck string
	for _, inc := range incs {
		if strings.Contains(inc.Name, "Coincheck") {
			coincheck = inc.ID
		}
	}
	if coincheck == "" {
		t.Fatal("the demo data has no Coincheck incident")
	}
	body := c.page("/incidents/" + coincheck)
	for _, want := range []string{"Lazarus Group", `href="/actors/`, "US$", "TLP:"} {
		if !strings.Contains(body, want) {
			t.Errorf("Coincheck page lacks %q", want)
		}
	}
	// The simulated theft: its trace reaches the exchanges under each model.
	body = c.page("/incidents/" + f.incident)
	for _, want := range []string{"Where the funds went", "Exchange A", "fifo", "haircut", "poison", "theft-destination", `href="/trace?chain=bitcoin-regtest&amp;incident=`} {
		if !strings.Contains(body, want) {
			t.Errorf("simulated incident page lacks %q", want)
		}
	}
	// Someone who may not see it learns nothing of it.
	res, body := f.client(t).get("/incidents/" + f.incident)
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "Exchange A") {
		t.Errorf("anonymous visitor on a TLP:GREEN incident: %s", res.Status)
	}
}

func TestActorPages(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	body := c.page("/actors")
	if !strings.Contains(body, "Lazarus Group") {
		t.Fatal("actors page lacks Lazarus Group")
	}
	all, err := f.web.actorSummaries(context.Background(), f.viewers["fiu"])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if a.Name != "Lazarus Group" {
			continue
		}
		page := c.page("/actors/" + a.ID)
		if len(a.Incidents) == 0 || !strings.Contains(page, a.Incidents[0].Name) || !strings.Contains(page, usd(a.LossUSD)) {
			t.Errorf("Lazarus page lacks its incidents or total %s", a.LossUSD)
		}
		return
	}
	t.Error("no Lazarus Group summary")
}

func TestReportPageMatchesTheReport(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(t, "fiu")
	body := c.page("/report?by=year&by=actor")
	q, err := report.ParseQuery("year,actor", "", "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Run(context.Background(), f.svc, f.viewers["fiu"], q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, usd(rep.Total.LossUSD)) {
		t.Errorf("report page lacks the total %s", usd(rep.Total.LossUSD))
	}
	for _, row := range rep.Rows {
		for _, id := range row.IncidentIDs {
			if !strings.Contains(body, `href="/incidents/`+id+`"`) {
				t.Errorf("report page does not link incident %s", id)
			}
		}
	}
	// The Panel's figures, side by side with the node's.
	if len(rep.Claims) != 3 {
		t.Fatalf("%d claims", len(rep.Claims))
	}
	for _, cl := range rep.Claims {
		for _, want := range []string{template.HTMLEscapeString(cl.Claim), cl.PanelText(), template.HTMLEscapeString(cl.Verdict()), usd(cl.Node.LossUSD)} {
			if !strings.Contains(body, want) {
				t.Errorf("report page lacks %q", want)
			}
		}
	}
	if res, body := c.get("/report?by=colour"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "colour") {
		t.Errorf("report by an unknown dimension: %s", res.Status)
	}
}

// startLive runs the live traces over the fixture's chain until the test
// ends, with the exchange watching what is labelled Exchange A.
func startLive(t *testing.T, f *fixture) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := f.alerts.AddWatch(ctx, f.viewers["exchange"], alert.Watch{Chain: f.chainID, Label: "Exchange A", Min: "0"}); err != nil {
		t.Fatal(err)
	}
	live := alert.NewLive(f.alerts, f.chain, alert.LiveOptions{Interval: 20 * time.Millisecond, Refresh: 10 * time.Millisecond, MaxHops: 200})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = live.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitAlerts waits until org has at least one alert.
func waitAlerts(t *testing.T, f *fixture, org string) []alert.Alert {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := f.alerts.Alerts(context.Background(), f.viewers[org], alert.Filter{Org: f.viewers[org].Org})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			return list
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no alert for %s within 30s", org)
	return nil
}

func TestAlertsListStreamAndAck(t *testing.T) {
	f := newFixture(t)
	ex := f.signedIn(t, "exchange")

	// The stream, opened before the live trace raises anything, sends the
	// rows as they come.
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/alerts/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range ex.http.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %s %s", res.Status, ct)
	}
	startLive(t, f)
	list := waitAlerts(t, f, "exchange")
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var event string
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			event = line
			break
		}
	}
	if !strings.Contains(event, `id="alert-`+list[0].ID+`"`) || !strings.Contains(event, "Acknowledge") {
		t.Errorf("stream event %q is not the first alert's row", event)
	}

	body := ex.page("/alerts")
	if !strings.Contains(body, list[0].IncidentName) || !strings.Contains(body, `/alerts/`+list[0].ID+`/ack`) {
		t.Fatalf("alerts page lacks the alert")
	}
	// The FIU watches nothing: it sees none of the exchange's alerts.
	if fiu := f.signedIn(t, "fiu").page("/alerts"); strings.Contains(fiu, list[0].ID) {
		t.Error("the FIU sees the exchange's alert")
	}
	// Acknowledge it from the page.
	res2, _ := ex.submit("/alerts/"+list[0].ID+"/ack", nil)
	if res2.StatusCode != http.StatusSeeOther {
		t.Fatalf("ack: %s", res2.Status)
	}
	got, err := f.alerts.Alerts(context.Background(), f.viewers["exchange"], alert.Filter{Org: f.viewers["exchange"].Org, State: alert.StateAcknowledged})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != list[0].ID {
		t.Errorf("after ack: %d acknowledged alerts", len(got))
	}
	// Acknowledging an alert of another organisation changes nothing.
	if res, _ := f.signedIn(t, "fiu").submit("/alerts/"+list[0].ID+"/ack", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("the FIU acknowledging the exchange's alert: %s", res.Status)
	}
}

// TestIncidentCommentaryFollowsMarkings: on the Coincheck page, the FIU's
// own opinion on the attribution (TLP:AMBER, no recipient) shows to the
// FIU alone, its deposit screening request (TLP:AMBER, the exchange a
// recipient) to the FIU and the exchange, and neither to the operator.
func TestIncidentCommentaryFollowsMarkings(t *testing.T) {
	f := newFixture(t)
	const (
		coincheck = "incident--16c15623-169c-4900-90a6-f4fe48255c2c"
		request   = "Deposit screening request"
		agrees    = "the FIU agrees with the attribution of the Coincheck theft"
	)
	for _, tc := range []struct {
		org               string
		request, opinions bool
	}{
		{"fiu", true, true},
		{"exchange", true, false},
		{"operator", false, false},
	} {
		body := f.signedIn(t, tc.org).page("/incidents/" + coincheck)
		if got := strings.Contains(body, request); got != tc.request {
			t.Errorf("%s sees the deposit screening request: %v, want %v", tc.org, got, tc.request)
		}
		if got := strings.Contains(body, agrees); got != tc.opinions {
			t.Errorf("%s sees the FIU's own opinion: %v, want %v", tc.org, got, tc.opinions)
		}
		if tc.opinions && !strings.Contains(body, "an opinion on the attributed-to relationship") {
			t.Errorf("%s: the opinion does not say it is on the attribution", tc.org)
		}
	}
	// The exchange's read of the AMBER request is in the audit log.
	entries, err := f.svc.Audit(context.Background(), f.viewers["operator"], intel.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Org == f.orgs["exchange"].ID && e.Action == "read" && e.Detail == "commentary" {
			found = true
		}
	}
	if !found {
		t.Error("no audit entry for the exchange's read of the AMBER note")
	}
}
