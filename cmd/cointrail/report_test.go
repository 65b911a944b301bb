package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/sharedtest"
)

// reportJSON is the JSON of cointrail report.
type reportJSON struct {
	GroupBy []string            `json:"group_by"`
	Rows    []map[string]any    `json:"rows"`
	Total   map[string]any      `json:"total"`
	Inc     map[string]struct{} `json:"incidents"`
	Claims  []struct {
		Node  map[string]any `json:"node"`
		Holds bool           `json:"holds"`
	} `json:"claims"`
}

func mustReport(t *testing.T, args ...string) reportJSON {
	t.Helper()
	out := mustRun(t, append([]string{"report", "--format", "json"}, args...)...)
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	return r
}

// tally is a row of an independent sum: incidents and US dollars.
type tally struct {
	n   int
	usd *big.Rat
}

func (x tally) String() string { return fmt.Sprintf("%d incidents, US$%s", x.n, x.usd.FloatString(2)) }

// csvTotals sums the incidents CSV by year and by actor straight from the
// file, as its tags name actors: "Lazarus Group", else "North Korea", else
// none.
func csvTotals(t *testing.T, file string) (byYear, byActor map[string]tally) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byYear, byActor = map[string]tally{}, map[string]tally{}
	add := func(m map[string]tally, k string, usd *big.Rat) {
		x := m[k]
		if x.usd == nil {
			x.usd = new(big.Rat)
		}
		x.n++
		x.usd.Add(x.usd, usd)
		m[k] = x
	}
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		date, title, tags, loss := rec[0], strings.TrimSpace(rec[1]), strings.ToLower(rec[5]), strings.TrimSpace(rec[6])
		if date < "2011-01-01" || date > "2024-12-31" || seen[date+title] {
			continue
		}
		seen[date+title] = true
		usd := new(big.Rat)
		if loss != "" && loss != "unknown" {
			if _, ok := usd.SetString(loss); !ok {
				t.Fatalf("loss %q", loss)
			}
		}
		add(byYear, date[:4], usd)
		actor := "unattributed"
		switch {
		case strings.Contains(tags, "lazarus group"):
			actor = "Lazarus Group"
		case strings.Contains(tags, "north korea"):
			actor = "North Korea"
		}
		add(byActor, actor, usd)
	}
	return byYear, byActor
}

func TestReportIncidentsCSV(t *testing.T) {
	file := sharedtest.Path(t, "incidents", "dn-institute-incidents.csv")
	dir := MustInit(t)
	mustRun(t, "import", "incidents-csv", file, "--data", dir)
	byYear, byActor := csvTotals(t, file)
	for _, tc := range []struct {
		dim  string
		want map[string]tally
	}{{"year", byYear}, {"actor", byActor}} {
		t.Run(tc.dim, func(t *testing.T) {
			rep := mustReport(t, "--data", dir, "--as", "alpha", "--by", tc.dim, "--from", "2011-01-01", "--to", "2024-12-31")
			got := map[string]string{}
			for _, r := range rep.Rows {
				got[r[tc.dim].(string)] = fmt.Sprintf("%v incidents, US$%s", r["incidents"], r["loss_usd"])
				if ids, _ := r["incident_ids"].([]any); len(ids) != int(r["incidents"].(float64)) {
					t.Errorf("row %v lists %d incidents", r[tc.dim], len(ids))
				}
			}
			want := map[string]string{}
			all := tally{usd: new(big.Rat)}
			for k, x := range tc.want {
				want[k] = x.String()
				all.n += x.n
				all.usd.Add(all.usd, x.usd)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("by %s:\n got %v\nwant %v", tc.dim, got, want)
			}
			if tot := fmt.Sprintf("%v incidents, US$%s", rep.Total["incidents"], rep.Total["loss_usd"]); tot != all.String() {
				t.Errorf("total %s, want %s", tot, all)
			}
		})
	}
}

func TestReportFormatsAndUsage(t *testing.T) {
	dir := MustInit(t)
	csvFile := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(csvFile, []byte("date,title,targets,entity_types,attack_types,tags,loss_usd,source\n"+
		"2018-01-26,Theft A,ExA,Exchange,Wallet Hack,Lazarus Group,1000.50,https://example.org/a\n"+
		"2019-02-01,Theft B,ExB,Exchange,Phishing,,unknown,https://example.org/b\n"), 0o644)
	mustRun(t, "import", "incidents-csv", csvFile, "--data", dir)

	rep := mustReport(t, "--data", dir, "--by", "attack-type,year")
	if !slices.Equal(rep.GroupBy, []string{"attack-type", "year"}) || len(rep.Rows) != 2 || rep.Rows[1]["attack-type"] != "wallet hack" ||
		rep.Total["loss_usd"] != "1000.50" || rep.Total["incidents_without_usd"] != 1.0 {
		t.Errorf("report = %+v", rep)
	}
	// Each type of each victim: the CSV's entity types, lower-cased.
	if rep := mustReport(t, "--data", dir, "--by", "victim-type"); len(rep.Rows) != 1 || rep.Rows[0]["victim-type"] != "exchange" || rep.Rows[0]["incidents"] != 2.0 {
		t.Errorf("by victim-type: %v", rep.Rows)
	}
	// The Panel's claims count every incident, whatever the dates.
	if rep := mustReport(t, "--data", dir, "--from", "2030-01-01"); rep.Total["incidents"] != 0.0 || len(rep.Claims) != 3 ||
		rep.Claims[0].Node["incidents"] != 2.0 || rep.Claims[0].Node["loss_usd"] != "1000.50" || rep.Claims[0].Holds {
		t.Errorf("claims from 2030: total %v, claims %+v", rep.Total, rep.Claims)
	}
	for _, tc := range []struct {
		format, want string
	}{
		{"table", "total"},
		{"table", "\n\nTHE PANEL (S/2019/171) / THE NODE\n"},
		{"csv", "attack-type,year,incidents,loss_usd,incidents_without_usd,amounts,incident_ids,sources\n"},
		{"html", `<a href="/incidents/incident--`},
	} {
		if out := mustRun(t, "report", "--data", dir, "--by", "attack-type,year", "--format", tc.format); !strings.Contains(out, tc.want) {
			t.Errorf("--format %s lacks %q:\n%s", tc.format, tc.want, out)
		}
	}
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"--by", "year,galaxy"}, `"galaxy"`},
		{[]string{"--from", "2018-02-30"}, "2018-02-30"},
		{[]string{"--to", "soon"}, "soon"},
		{[]string{"--format", "pdf"}, "pdf"},
		{[]string{"--as", "nobody"}, "nobody"},
	} {
		wantUsage(t, run(t, nil, "", append([]string{"report", "--data", dir}, tc.args...)...), tc.mention)
	}
}
