package web

import (
	"cmp"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cointrail/cointrail/internal/chart"
	"github.com/cointrail/cointrail/internal/report"
)

type reportPage struct {
	R          *report.Report
	Dimensions []dimChoice
	From, To   string
	Head       []string
	Rows       []reportRow
	Total      reportRow
	Query      string
	// Claims are the Panel's figures beside the node's.
	Claims []reportClaim
	// Charts are drawn by the server as SVG.
	ByYear, ByVictimType template.HTML
}

type reportClaim struct {
	report.Claim
	Panel, Verdict string
	Refs           []reportRef
}

type dimChoice struct {
	Name    string
	Checked bool
}

type reportRow struct {
	Values []string
	Row    report.Row
	Refs   []reportRef
}

type reportRef struct {
	ID string
	report.IncidentRef
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	by := strings.Join(q["by"], ",")
	if by == "" && !q.Has("submitted") {
		by = "year,actor"
	}
	query, err := report.ParseQuery(by, q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	rep, err := report.Run(r.Context(), s.svc, viewerOf(r), query)
	if err != nil {
		return err
	}
	p := reportPage{R: rep, From: query.From, To: query.To}
	for _, d := range report.Dimensions {
		p.Dimensions = append(p.Dimensions, dimChoice{Name: string(d), Checked: slices.Contains(query.By, d)})
		if slices.Contains(query.By, d) {
			p.Head = append(p.Head, string(d))
		}
	}
	// The table's dimension columns follow --by's order.
	p.Head = p.Head[:0]
	for _, d := range query.By {
		p.Head = append(p.Head, string(d))
	}
	row := func(values []string, r report.Row) reportRow {
		out := reportRow{Values: values, Row: r}
		for _, id := range r.IncidentIDs {
			out.Refs = append(out.Refs, reportRef{ID: id, IncidentRef: rep.Incidents[id]})
		}
		return out
	}
	for _, r := range rep.Rows {
		p.Rows = append(p.Rows, row(r.Values, r))
	}
	p.Total = row(nil, rep.Total)
	for _, c := range rep.Claims {
		p.Claims = append(p.Claims, reportClaim{Claim: c, Panel: c.PanelText(), Verdict: c.Verdict(), Refs: row(nil, c.Node).Refs})
	}
	p.Query = r.URL.RawQuery
	if p.ByYear, p.ByVictimType, err = s.reportCharts(r, query); err != nil {
		return err
	}
	return s.render(w, r, "report", "Report", p)
}

// reportCharts draws the report's two charts over the same incidents and
// dates as its table: losses by year stacked by actor, and incidents by
// victim type.
func (s *Server) reportCharts(r *http.Request, q report.Query) (byYear, byType template.HTML, err error) {
	v := viewerOf(r)
	yearly, err := report.Run(r.Context(), s.svc, v, report.Query{By: []report.Dimension{report.Year, report.Actor}, From: q.From, To: q.To})
	if err != nil {
		return "", "", err
	}
	var years []string
	cells := map[string]map[string]float64{} // actor -> year -> USD
	for _, row := range yearly.Rows {
		year, actor := row.Values[0], row.Values[1]
		if len(years) == 0 || years[len(years)-1] != year {
			years = append(years, year)
		}
		usd, _ := strconv.ParseFloat(row.LossUSD, 64)
		if cells[actor] == nil {
			cells[actor] = map[string]float64{}
		}
		cells[actor][year] += usd
	}
	var series []chart.Series
	for _, actor := range sortedKeys(boolKeys(cells)) {
		sr := chart.Series{Name: actor, Values: make([]float64, len(years))}
		for i, y := range years {
			sr.Values[i] = cells[actor][y]
		}
		series = append(series, sr)
	}
	byYear = template.HTML(chart.StackedBars(chart.Stacked{
		Title:      "Reported losses by year, by actor",
		Desc:       "US dollars at the time, as reported, of the incidents you may see; an incident attributed to two actors counts in both.",
		Categories: years, Series: series, Format: usdShort,
	}))
	types, err := report.Run(r.Context(), s.svc, v, report.Query{By: []report.Dimension{report.VictimType}, From: q.From, To: q.To})
	if err != nil {
		return "", "", err
	}
	var bars []chart.Bar
	for _, row := range types.Rows {
		bars = append(bars, chart.Bar{Label: row.Values[0], Value: float64(row.Incidents)})
	}
	slices.SortStableFunc(bars, func(a, b chart.Bar) int { return cmp.Compare(b.Value, a.Value) })
	byType = template.HTML(chart.Bars(chart.BarChart{
		Title:  "Incidents by victim type",
		Desc:   "How many of the incidents you may see hit each kind of victim; a victim of two kinds counts in both.",
		Bars:   bars,
		Format: func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	}))
	return byYear, byType, nil
}

// usdShort writes a dollar figure for a chart's axis: US$530M, US$1.2B.
func usdShort(f float64) string {
	switch {
	case f >= 1e9:
		return "US$" + strconv.FormatFloat(math.Round(f/1e8)/10, 'f', -1, 64) + "B"
	case f >= 1e6:
		return "US$" + strconv.FormatFloat(math.Round(f/1e5)/10, 'f', -1, 64) + "M"
	case f >= 1e3:
		return "US$" + strconv.FormatFloat(math.Round(f/1e2)/10, 'f', -1, 64) + "k"
	}
	return "US$" + strconv.FormatFloat(math.Round(f), 'f', -1, 64)
}
