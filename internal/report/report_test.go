package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/demo"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/report"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

// incidents are a handful of projected incidents that exercise every
// dimension.
var incidents = []intel.Incident{
	{
		ID: "incident--1", Name: "Big theft", Date: "2018-01-26T00:00:00Z",
		Victims: []intel.Party{{ID: "identity--v1", Name: "Coincheck", Country: "JP", Types: []string{"exchange"}}},
		Actors:  []intel.Attribution{{ID: "threat-actor--l", Name: "Lazarus Group"}, {ID: "intrusion-set--a", Name: "APT38"}},
		Losses: []stix.Loss{
			{Asset: "nem:XEM", Amount: "523000000000000", USD: "530000000.00"},
			{Asset: "ethereum:ETH", Amount: "99999999999999999999999", USD: "0.01"},
		},
		LossUSD: "530000000.01",
		Wallets: []intel.RoleWallet{{Wallet: intel.Wallet{Chain: "ethereum", Value: "0xabc"}, Role: "laundering"}},
		Labels:  []string{"Wallet Hack"},
		Sources: []intel.ExternalRef{{SourceName: "UN", URL: "https://undocs.org/S/2019/171"}},
	},
	{
		ID: "incident--2", Name: "Small theft", Date: "2018-06-10T00:00:00Z",
		Victims: []intel.Party{{ID: "identity--v2", Name: "Coinrail", Country: "KR", Types: []string{"Exchange", "wallet provider"}}},
		Actors:  []intel.Attribution{{ID: "threat-actor--l", Name: "Lazarus Group"}},
		Losses:  []stix.Loss{{Asset: "ethereum:ETH", Amount: "1"}},
	},
	{
		ID: "incident--3", Name: "Old theft", Date: "2011-10-05T00:00:00Z",
		Losses: []stix.Loss{{Asset: "unknown:USD", USD: "32500.005"}}, LossUSD: "32500.01",
	},
}

func TestBuild(t *testing.T) {
	type row struct {
		values []string
		n      int
		usd    string
		ids    string
	}
	for _, tc := range []struct {
		by, from, to string
		rows         []row
		total        row
	}{
		{by: "year", rows: []row{
			{[]string{"2011"}, 1, "32500.01", "incident--3"},
			{[]string{"2018"}, 2, "530000000.01", "incident--1 incident--2"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
		// Two actors: the incident is in both rows and once in the total.
		{by: "actor", rows: []row{
			{[]string{"APT38"}, 1, "530000000.01", "incident--1"},
			{[]string{"Lazarus Group"}, 2, "530000000.01", "incident--1 incident--2"},
			{[]string{"unattributed"}, 1, "32500.01", "incident--3"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
		{by: "actor,year", from: "2018-01-01", to: "2018-03-01", rows: []row{
			{[]string{"APT38", "2018"}, 1, "530000000.01", "incident--1"},
			{[]string{"Lazarus Group", "2018"}, 1, "530000000.01", "incident--1"},
		}, total: row{nil, 1, "530000000.01", "incident--1"}},
		{by: "chain", rows: []row{
			{[]string{"ethereum"}, 2, "530000000.01", "incident--1 incident--2"},
			{[]string{"nem"}, 1, "530000000.01", "incident--1"},
			{[]string{"unknown"}, 1, "32500.01", "incident--3"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
		{by: "victim-country,victim", to: "2018-06-10", rows: []row{
			{[]string{"JP", "Coincheck"}, 1, "530000000.01", "incident--1"},
			{[]string{"KR", "Coinrail"}, 1, "0.00", "incident--2"},
			{[]string{"unknown", "unknown"}, 1, "32500.01", "incident--3"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
		// Two types of one victim: the incident is in both rows.
		{by: "victim-type", rows: []row{
			{[]string{"exchange"}, 2, "530000000.01", "incident--1 incident--2"},
			{[]string{"unknown"}, 1, "32500.01", "incident--3"},
			{[]string{"wallet provider"}, 1, "0.00", "incident--2"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
		{by: "attack-type,laundering", from: "2018-01-27", rows: []row{
			{[]string{"unknown", "none known"}, 1, "0.00", "incident--2"},
		}, total: row{nil, 1, "0.00", "incident--2"}},
		{by: "laundering, ATTACK-TYPE", rows: []row{
			{[]string{"laundering", "wallet hack"}, 1, "530000000.01", "incident--1"},
			{[]string{"none known", "unknown"}, 2, "32500.01", "incident--2 incident--3"},
		}, total: row{nil, 3, "530032500.02", "incident--1 incident--2 incident--3"}},
	} {
		t.Run(tc.by+" "+tc.from+" "+tc.to, func(t *testing.T) {
			q, err := report.ParseQuery(tc.by, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			rep := report.Build(incidents, q)
			var got []row
			for _, r := range rep.Rows {
				got = append(got, row{r.Values, r.Incidents, r.LossUSD, strings.Join(r.IncidentIDs, " ")})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.rows) {
				t.Errorf("rows\n got %v\nwant %v", got, tc.rows)
			}
			tot := row{nil, rep.Total.Incidents, rep.Total.LossUSD, strings.Join(rep.Total.IncidentIDs, " ")}
			if fmt.Sprint(tot) != fmt.Sprint(tc.total) {
				t.Errorf("total %v, want %v", tot, tc.total)
			}
			for id := range rep.Incidents {
				if !slices.Contains(rep.Total.IncidentIDs, id) {
					t.Errorf("incident index lists %s, which no figure counts", id)
				}
			}
		})
	}
}

func TestAmountsAndUnpriced(t *testing.T) {
	rep := report.Build(incidents, report.Query{By: []report.Dimension{report.Year}})
	// Beyond int64 and float64 precision: summed exactly in base units.
	want := map[string]string{"ethereum:ETH": "100000000000000000000000", "nem:XEM": "523000000000000"}
	if fmt.Sprint(rep.Total.Amounts) != fmt.Sprint(want) {
		t.Errorf("total amounts = %v, want %v", rep.Total.Amounts, want)
	}
	if rep.Total.Unpriced != 1 || rep.Rows[1].Unpriced != 1 || rep.Rows[0].Unpriced != 0 {
		t.Errorf("unpriced: total %d, rows %d %d", rep.Total.Unpriced, rep.Rows[0].Unpriced, rep.Rows[1].Unpriced)
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		by, from, to string
		code         fault.Code
		mention      string
	}{
		{"year,galaxy", "", "", fault.Invalid, `"galaxy"`},
		{"year,year", "", "", fault.Invalid, "twice"},
		{"year", "2018-13-01", "", fault.Malformed, "2018-13-01"},
		{"year", "", "yesterday", fault.Malformed, "yesterday"},
		{"year", "2019-01-01", "2018-01-01", fault.Invalid, "after"},
	} {
		t.Run(tc.by+tc.from+tc.to, func(t *testing.T) {
			_, err := report.ParseQuery(tc.by, tc.from, tc.to)
			if fault.CodeOf(err) != tc.code || !strings.Contains(fault.MessageOf(err), tc.mention) {
				t.Errorf("err = %v (%s), want %s mentioning %s", err, fault.CodeOf(err), tc.code, tc.mention)
			}
		})
	}
	if _, err := report.ParseFormat("pdf"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("ParseFormat(pdf) = %v", err)
	}
}

func TestFormats(t *testing.T) {
	q, _ := report.ParseQuery("actor,year", "", "")
	rep := report.Build(incidents, q)
	for _, tc := range []struct {
		format report.Format
		check  func(t *testing.T, out string)
	}{
		{report.JSON, func(t *testing.T, out string) {
			var got struct {
				GroupBy []string         `json:"group_by"`
				Rows    []map[string]any `json:"rows"`
				Total   map[string]any   `json:"total"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.GroupBy, []string{"actor", "year"}) || len(got.Rows) != 3 {
				t.Fatalf("group_by %v, %d rows", got.GroupBy, len(got.Rows))
			}
			r := got.Rows[1]
			if r["actor"] != "Lazarus Group" || r["year"] != "2018" || r["incidents"] != 2.0 || r["loss_usd"] != "530000000.01" ||
				fmt.Sprint(r["incident_ids"]) != "[incident--1 incident--2]" {
				t.Errorf("row = %v", r)
			}
			if _, ok := got.Total["actor"]; ok || got.Total["incidents"] != 3.0 || got.Total["loss_usd"] != "530032500.02" {
				t.Errorf("total = %v", got.Total)
			}
			if !strings.Contains(out, `"https://undocs.org/S/2019/171"`) {
				t.Error("the JSON does not give the incidents' sources")
			}
		}},
		{report.CSV, func(t *testing.T, out string) {
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if want := "actor,year,incidents,loss_usd,incidents_without_usd,amounts,incident_ids,sources"; strings.Join(recs[0], ",") != want {
				t.Errorf("header %v, want %s", recs[0], want)
			}
			if len(recs) != 5 || recs[4][0] != "total" || recs[4][6] != "incident--1 incident--2 incident--3" || recs[2][7] != "https://undocs.org/S/2019/171" {
				t.Errorf("records = %q", recs)
			}
		}},
		{report.HTML, func(t *testing.T, out string) {
			for _, want := range []string{`<a href="/incidents/incident--1">Big theft</a>`, "@media print", `<tr class="total">`, "530,000,000.01"} {
				if !strings.Contains(out, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if strings.Contains(strings.ToLower(out), "<script") {
				t.Error("the page has a script")
			}
		}},
		{report.Table, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 5 || !strings.HasPrefix(lines[0], "ACTOR") || !strings.HasPrefix(lines[4], "total") || !strings.Contains(lines[4], "530,032,500.02") {
				t.Errorf("table:\n%s", out)
			}
		}},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			var b bytes.Buffer
			if err := rep.Write(&b, tc.format); err != nil {
				t.Fatal(err)
			}
			tc.check(t, b.String())
		})
	}
}

// MustService returns an intel service on a SQLite file and its operator.
func MustService(tb testing.TB) (*intel.Service, access.Viewer) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "cointrail.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, access.Viewer{Org: op.ID, Role: access.Admin}
}

func TestDemoClaims(t *testing.T) {
	ctx := context.Background()
	svc, op := MustService(t)
	orgs, err := demo.Load(ctx, svc, op)
	if err != nil {
		t.Fatal(err)
	}
	fiu := access.Viewer{Org: orgs[0].ID, Role: access.Reader}
	incs, err := svc.Incidents(ctx, fiu)
	if err != nil {
		t.Fatal(err)
	}
	claims := report.PanelClaims(incs)
	if len(claims) != 3 {
		t.Fatalf("%d claims", len(claims))
	}
	// The Panel's US$670 million counts thefts in foreign currency too: the
	// node holds less, and the comparison says so.
	if c := claims[0]; c.Node.LossUSD != "601500000.00" || c.Holds {
		t.Errorf("total claim: node %s (holds %v), want 601500000.00, not holding", c.Node.LossUSD, c.Holds)
	}
	if c := claims[1]; c.Node.Incidents < 5 || !c.Holds {
		t.Errorf("Asian exchanges: node %d incidents, US$%s; want at least 5 and over US$570 million", c.Node.Incidents, c.Node.LossUSD)
	}
	if c := claims[2]; c.Node.Incidents != 1 || !c.Holds {
		t.Errorf("Coincheck: node %d incidents, US$%s; want one of US$530 million or more", c.Node.Incidents, c.Node.LossUSD)
	}

	// The same figures from the report by victim.
	rep, err := report.Run(ctx, svc, fiu, report.Query{By: []report.Dimension{report.Victim}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Rows, func(r report.Row) bool { return r.Values[0] == "Coincheck" })
	if i < 0 || rep.Rows[i].LossUSD != "530000000.00" || rep.Rows[i].Amounts["nem:XEM"] != "523000000000000" {
		t.Errorf("Coincheck row = %+v", rep.Rows)
	}
}

func TestVisibility(t *testing.T) {
	ctx := context.Background()
	svc, op := MustService(t)
	var a, b, c access.Viewer
	for _, p := range []struct {
		name string
		v    *access.Viewer
	}{{"alpha", &a}, {"bravo", &b}, {"charlie", &c}} {
		org, err := svc.CreateOrg(ctx, op, p.name, "")
		if err != nil {
			t.Fatal(err)
		}
		*p.v = access.Viewer{Org: org.ID, Role: access.Contributor}
	}
	submit := func(v access.Viewer, id, marking, extra string) {
		t.Helper()
		o, err := stix.Parse([]byte(fmt.Sprintf(`{"type":"incident","id":%q,"spec_version":"2.1","created":"2019-01-01T00:00:00.000Z","modified":"2019-01-01T00:00:00.000Z","name":"theft","object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","occurred":"2019-01-01T00:00:00Z","losses":[{"asset":"bitcoin:BTC","amount":"100000000","usd":"1000000.00"}]}%s}}`,
			id, marking, stix.IncidentExtensionID, extra)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Submit(ctx, v, []*stix.Object{o}, intel.SubmitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	totals := func() map[string]string {
		out := map[string]string{}
		for name, v := range map[string]access.Viewer{"alpha": a, "bravo": b, "charlie": c} {
			rep, err := report.Run(ctx, svc, v, report.Query{By: []report.Dimension{report.Year, report.Chain}})
			if err != nil {
				t.Fatal(err)
			}
			out[name] = fmt.Sprintf("%d %s %s", rep.Total.Incidents, rep.Total.LossUSD, rep.Total.Amounts["bitcoin:BTC"])
		}
		return out
	}
	submit(a, "incident--00000000-0000-4000-8000-000000000001", stix.TLPGreenID, "")
	before := totals()
	// RED, shared with charlie only: bravo's figures must not move.
	submit(a, "incident--00000000-0000-4000-8000-000000000002", stix.TLPRedID,
		fmt.Sprintf(`,%q:{"extension_type":"property-extension","recipients":[%q]}`, stix.SharingExtensionID, c.Org))
	after := totals()
	for _, tc := range []struct {
		org, before, after string
	}{
		{"alpha", "1 1000000.00 100000000", "2 2000000.00 200000000"},
		{"bravo", "1 1000000.00 100000000", "1 1000000.00 100000000"},
		{"charlie", "1 1000000.00 100000000", "2 2000000.00 200000000"},
	} {
		if before[tc.org] != tc.before || after[tc.org] != tc.after {
			t.Errorf("%s: totals %q then %q, want %q then %q", tc.org, before[tc.org], after[tc.org], tc.before, tc.after)
		}
	}
}

// TestVictimTypeProjected reports by victim type from projected incidents:
// one victim has a CSV import's entity types, one STIX sectors only, one
// neither.
func TestVictimTypeProjected(t *testing.T) {
	ctx := context.Background()
	svc, op := MustService(t)
	id := func(typ string, n int) string { return fmt.Sprintf("%s--00000000-0000-4000-8000-%012d", typ, n) }
	var objs []*stix.Object
	add := func(format string, args ...any) {
		t.Helper()
		o, err := stix.Parse([]byte(fmt.Sprintf(format, args...)))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	const common = `"spec_version":"2.1","created":"2019-01-01T00:00:00.000Z","modified":"2019-01-01T00:00:00.000Z"`
	for i, extra := range []string{`,"x_cointrail_entity_types":["exchange"],"sectors":["financial-services"]`, `,"sectors":["financial-services"]`, ``} {
		add(`{"type":"identity","id":%q,%s,"name":"Victim %d","identity_class":"organization","object_marking_refs":[%q]%s}`, id("identity", i+1), common, i+1, stix.TLPGreenID, extra)
	}
	// Incident 1 targets victims 1 and 2; incident 2 victim 1; incident 3
	// victim 3.
	for i, targets := range [][]int{{1, 2}, {1}, {3}} {
		add(`{"type":"incident","id":%q,%s,"name":"Theft %d","object_marking_refs":[%q]}`, id("incident", i+1), common, i+1, stix.TLPGreenID)
		for _, v := range targets {
			add(`{"type":"relationship","id":%q,%s,"relationship_type":"targets","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]}`,
				id("relationship", 10*(i+1)+v), common, id("incident", i+1), id("identity", v), stix.TLPGreenID)
		}
	}
	if _, err := svc.Submit(ctx, op, objs, intel.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := report.Run(ctx, svc, op, report.Query{By: []report.Dimension{report.VictimType}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		got[r.Values[0]] = strings.Join(r.IncidentIDs, " ")
	}
	want := map[string]string{
		"exchange":           id("incident", 1) + " " + id("incident", 2),
		"financial-services": id("incident", 1),
		report.Unknown:       id("incident", 3),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || rep.Total.Incidents != 3 {
		t.Errorf("by victim-type: %v (total %d), want %v", got, rep.Total.Incidents, want)
	}
}

// TestRunClaims: the report of the demo data sets the Panel's three claims
// beside the node's figures over every incident the viewer may see,
// whatever the report's dates, and every output shows them but CSV.
func TestRunClaims(t *testing.T) {
	ctx := context.Background()
	svc, op := MustService(t)
	orgs, err := demo.Load(ctx, svc, op)
	if err != nil {
		t.Fatal(err)
	}
	fiu := access.Viewer{Org: orgs[0].ID, Role: access.Reader}
	incs, err := svc.Incidents(ctx, fiu)
	if err != nil {
		t.Fatal(err)
	}
	// A date range that keeps no incident: the claims do not depend on it.
	rep, err := report.Run(ctx, svc, fiu, report.Query{By: []report.Dimension{report.Year}, From: "2030-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Incidents != 0 || len(rep.Claims) != 3 {
		t.Fatalf("total %d incidents, %d claims; want 0 and 3", rep.Total.Incidents, len(rep.Claims))
	}

	// The expectations, computed here from the incidents.
	asia := []string{"CN", "HK", "ID", "IN", "JP", "KR", "MY", "PH", "SG", "TH", "TW", "VN"}
	victimOf := func(inc *intel.Incident, keep func(intel.Party) bool) bool {
		return slices.ContainsFunc(inc.Victims, keep)
	}
	picks := []func(*intel.Incident) bool{
		func(*intel.Incident) bool { return true },
		func(inc *intel.Incident) bool {
			d := inc.Date[:10]
			return d >= "2017-01-01" && d <= "2018-09-30" && victimOf(inc, func(p intel.Party) bool { return slices.Contains(asia, p.Country) })
		},
		func(inc *intel.Incident) bool {
			return victimOf(inc, func(p intel.Party) bool { return p.Name == "Coincheck" })
		},
	}
	var coincheck *intel.Incident
	for i := range incs {
		if picks[2](&incs[i]) {
			coincheck = &incs[i]
		}
	}
	if coincheck == nil || coincheck.LossUSD == "" {
		t.Fatal("the demo has no Coincheck incident with a loss")
	}
	for i, c := range rep.Claims {
		var ids []string
		usd := new(big.Rat)
		for j := range incs {
			if !picks[i](&incs[j]) {
				continue
			}
			ids = append(ids, incs[j].ID)
			if incs[j].LossUSD != "" {
				u, _ := new(big.Rat).SetString(incs[j].LossUSD)
				usd.Add(usd, u)
			}
			if _, ok := rep.Incidents[incs[j].ID]; !ok {
				t.Errorf("claim %d: the report does not describe %s", i, incs[j].ID)
			}
		}
		slices.Sort(ids)
		panel, ok := new(big.Rat).SetString(c.PanelUSD)
		if !ok {
			t.Fatalf("claim %d: panel_usd %q", i, c.PanelUSD)
		}
		holds := usd.Cmp(panel) >= 0 && len(ids) >= c.PanelIncidents
		if c.Node.LossUSD != usd.FloatString(2) || !slices.Equal(c.Node.IncidentIDs, ids) || c.Holds != holds {
			t.Errorf("claim %d %q: node US$%s %v, holds %v; want US$%s %v, holds %v",
				i, c.Claim, c.Node.LossUSD, c.Node.IncidentIDs, c.Holds, usd.FloatString(2), ids, holds)
		}
	}
	if c := rep.Claims[2]; c.Node.LossUSD != coincheck.LossUSD || !strings.Contains(c.Claim, "Coincheck") {
		t.Errorf("Coincheck claim: node US$%s, want the incident's US$%s", c.Node.LossUSD, coincheck.LossUSD)
	}
	if rep.Claims[1].PanelIncidents != 5 {
		t.Errorf("the Asian exchanges claim counts %d incidents, want 5", rep.Claims[1].PanelIncidents)
	}

	out := func(f report.Format) string {
		var b bytes.Buffer
		if err := rep.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := out(report.Table)
	_, claims, ok := strings.Cut(table, "\n\nTHE PANEL (S/2019/171) / THE NODE\n")
	if !ok || strings.Count(claims, "\n") != 4 || !strings.Contains(claims, "US$571,000,000.00 in at least 5 incidents") ||
		!strings.Contains(claims, "Coincheck lost") || !strings.Contains(claims, usdTextForTest(coincheck.LossUSD)) {
		t.Errorf("the table lacks the claims:\n%s", table)
	}
	for _, c := range rep.Claims {
		want := "holds"
		if !c.Holds {
			want = "short by "
		}
		i := slices.IndexFunc(strings.Split(claims, "\n"), func(l string) bool { return strings.Contains(l, c.Claim) && strings.Contains(l, want) })
		if i < 0 {
			t.Errorf("the table does not say %q of %q:\n%s", want, c.Claim, claims)
		}
	}
	var js struct {
		Claims []map[string]any `json:"claims"`
	}
	if err := json.Unmarshal([]byte(out(report.JSON)), &js); err != nil || len(js.Claims) != 3 {
		t.Fatalf("JSON claims %v, %v", js.Claims, err)
	}
	for _, k := range []string{"claim", "panel_usd", "panel_incidents", "node", "holds"} {
		if _, ok := js.Claims[0][k]; !ok {
			t.Errorf("a JSON claim lacks %q: %v", k, js.Claims[0])
		}
	}
	if node, _ := js.Claims[2]["node"].(map[string]any); node["loss_usd"] != coincheck.LossUSD || fmt.Sprint(node["incident_ids"]) != fmt.Sprint([]string{coincheck.ID}) {
		t.Errorf("JSON Coincheck claim node = %v", node)
	}
	page := out(report.HTML)
	if _, second, ok := strings.Cut(page, "S/2019/171) and the node"); !ok ||
		!strings.Contains(second, fmt.Sprintf(`<a href="/incidents/%s">%s</a>`, coincheck.ID, coincheck.Name)) {
		t.Errorf("the page lacks the claims table linking %s", coincheck.ID)
	}
	// The HTML report draws its charts; the JSON has none.
	if !strings.Contains(page, "<svg") || !strings.Contains(page, "Incidents by victim type") {
		t.Error("the HTML report lacks its charts")
	}
	if strings.Contains(out(report.JSON), "<svg") {
		t.Error("the JSON report carries a chart")
	}
	if csvOut := out(report.CSV); strings.Contains(csvOut, "Panel") {
		t.Errorf("the CSV has the claims:\n%s", csvOut)
	}
}

// usdTextForTest writes a decimal as the table does: thousands separated.
func usdTextForTest(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return whole + "." + frac
}

// TestClaimsOfEmptyView: a viewer who may see nothing gets the claims, with
// figures of zero that do not hold.
func TestClaimsOfEmptyView(t *testing.T) {
	svc, op := MustService(t)
	rep, err := report.Run(context.Background(), svc, op, report.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Claims) != 3 {
		t.Fatalf("%d claims, want 3", len(rep.Claims))
	}
	for _, c := range rep.Claims {
		if c.Node.Incidents != 0 || c.Node.LossUSD != "0.00" || len(c.Node.IncidentIDs) != 0 || c.Holds {
			t.Errorf("claim %q: node %d incidents, US$%s, holds %v; want none, 0.00, false", c.Claim, c.Node.Incidents, c.Node.LossUSD, c.Holds)
		}
	}
	var b bytes.Buffer
	if err := rep.Write(&b, report.JSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"claims": [`) || !strings.Contains(b.String(), `"holds": false`) || strings.Contains(b.String(), "null") {
		t.Errorf("JSON:\n%s", b.String())
	}
	b.Reset()
	if err := rep.Write(&b, report.Table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "short by US$530,000,000.00") || !strings.Contains(b.String(), "short by US$571,000,000.00 and 5 incidents") {
		t.Errorf("table:\n%s", b.String())
	}
}
