package web

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

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
	charts := rep.Charts()
	p.ByYear, p.ByVictimType = template.HTML(charts.ByYear), template.HTML(charts.ByVictimType)
	return s.render(w, r, "report", "Report", p)
}
