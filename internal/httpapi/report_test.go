package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/httpapi"
	"github.com/cointrail/cointrail/internal/stix"
)

func incident(n int, marking, usd string) string {
	return fmt.Sprintf(`{"type":"incident","id":"incident--00000000-0000-4000-8000-%012d",%s,"name":"Theft %d","object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","occurred":"2018-01-26T00:00:00Z","losses":[{"asset":"bitcoin:BTC","amount":"100000000","usd":%q}]}}}`,
		n, ts, n, marking, stix.IncidentExtensionID, usd)
}

func TestReportAPI(t *testing.T) {
	f := mustFixture(t, httpapi.Options{})
	a, b := f.tokens["a"], f.tokens["b"]
	if r := f.do(t, "POST", "/api/v1/objects", a, "application/json",
		bundle(incident(1, stix.TLPGreenID, "1000.00"), incident(2, stix.TLPRedID, "5000000.00"))); r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	type body struct {
		GroupBy []string         `json:"group_by"`
		Rows    []map[string]any `json:"rows"`
		Total   map[string]any   `json:"total"`
		Claims  []struct {
			Claim    string         `json:"claim"`
			PanelUSD string         `json:"panel_usd"`
			Node     map[string]any `json:"node"`
			Holds    *bool          `json:"holds"`
		} `json:"claims"`
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"owner", a, "2 5001000.00"},
		{"outsider", b, "1 1000.00"}, // a's RED incident changes none of b's figures
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", "/api/v1/report?by=year,chain&from=2018-01-01", tc.token, "", nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var got body
			r.json(t, &got)
			if tot := fmt.Sprintf("%v %v", got.Total["incidents"], got.Total["loss_usd"]); tot != tc.want || len(got.Rows) != 1 ||
				got.Rows[0]["year"] != "2018" || got.Rows[0]["chain"] != "bitcoin" {
				t.Errorf("total %s, want %s; rows %v", tot, tc.want, got.Rows)
			}
			// The Panel's claims, the first over every incident the caller
			// may see: here, the total.
			if len(got.Claims) != 3 {
				t.Fatalf("%d claims, want 3: %s", len(got.Claims), r.body)
			}
			c := got.Claims[0]
			if node := fmt.Sprintf("%v %v", c.Node["incidents"], c.Node["loss_usd"]); c.Claim == "" || c.PanelUSD != "670000000.00" || node != tc.want ||
				c.Holds == nil || *c.Holds {
				t.Errorf("claim %q (panel %s): node %s, holds %v; want node %s, not holding", c.Claim, c.PanelUSD, node, c.Holds, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		query, ctype, want string
	}{
		{"format=csv", "text/csv", "year,incidents,loss_usd"},
		{"format=html&by=actor", "text/html", `href="/incidents/incident--00000000-0000-4000-8000-000000000001"`},
		{"format=table", "text/plain", "THE PANEL (S/2019/171) / THE NODE"},
	} {
		r := f.do(t, "GET", "/api/v1/report?"+tc.query, b, "", nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s %.300s", tc.query, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	for _, tc := range []struct {
		query, token string
		status       int
		code         string
	}{
		{"by=galaxy", b, 422, "invalid"},
		{"format=pdf", b, 422, "invalid"},
		{"from=2019-01-01&to=2018-01-01", b, 422, "invalid"},
		{"from=January", b, 400, "malformed"},
		{"", "", 401, "unauthorized"},
	} {
		r := f.do(t, "GET", "/api/v1/report?"+tc.query, tc.token, "", nil)
		if r.status != tc.status || r.errorCode(t) != tc.code {
			t.Errorf("%q: %d %s, want %d %s", tc.query, r.status, r.body, tc.status, tc.code)
		}
	}
}
