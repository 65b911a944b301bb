package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
)

// Write writes r to w in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case CSV:
		return r.WriteCSV(w)
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case HTML:
		return r.WriteHTML(w)
	}
	return r.WriteTable(w)
}

// WriteTable writes r as an aligned text table, then, after a blank line,
// its claims (if any) as a second table: each of the Panel's figures, the
// node's, whether the node's reaches it, and the Panel's words. It lists
// how many incidents each figure counts; the CSV, JSON and HTML forms name
// them.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := append(r.header(), "incidents", "loss_usd", "without_usd", "amounts")
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	line := func(values []string, row Row) {
		cells := append(append([]string{}, values...), fmt.Sprint(row.Incidents), Grouped(row.LossUSD), fmt.Sprint(row.Unpriced), amountsText(row.Amounts))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	for _, row := range r.Rows {
		line(row.Values, row)
	}
	line(r.totalValues(), r.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Claims) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "THE PANEL (S/2019/171) / THE NODE")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// The claim, long, comes last, so that the figures line up.
	fmt.Fprintln(tw, "PANEL\tNODE_LOSS_USD\tNODE_INCIDENTS\tNODE_WITHOUT_USD\tVERDICT\tCLAIM")
	for i := range r.Claims {
		c := &r.Claims[i]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", c.PanelText(), Grouped(c.Node.LossUSD), c.Node.Incidents, c.Node.Unpriced, c.Verdict(), c.Claim)
	}
	return tw.Flush()
}

// WriteCSV writes r as CSV with a header row: the dimensions, the figures,
// then the incidents behind them (ids joined by spaces) and their sources
// (joined by spaces). The last row is the total. CSV holds one table only:
// the claims are in the table, JSON and HTML forms.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(append(r.header(), "incidents", "loss_usd", "incidents_without_usd", "amounts", "incident_ids", "sources"))
	line := func(values []string, row Row) {
		_ = cw.Write(append(append([]string{}, values...), fmt.Sprint(row.Incidents), row.LossUSD, fmt.Sprint(row.Unpriced),
			amountsText(row.Amounts), strings.Join(row.IncidentIDs, " "), strings.Join(r.sourcesOf(row.IncidentIDs), " ")))
	}
	for _, row := range r.Rows {
		line(row.Values, row)
	}
	line(r.totalValues(), r.Total)
	cw.Flush()
	return cw.Error()
}

// htmlRow is a row as the HTML page shows it.
type htmlRow struct {
	Values    []string
	Row       Row
	USD       string
	Amounts   string
	Incidents []htmlIncident
	Total     bool
}

type htmlIncident struct {
	ID, Name, Date string
	Sources        []htmlSource
}

type htmlSource struct{ Name, URL string }

// htmlClaim is a claim as the HTML page shows it.
type htmlClaim struct {
	Claim               *Claim
	Panel, USD, Verdict string
	Incidents           []htmlIncident
}

// htmlIncidents describes the incidents ids for the page.
func (r *Report) htmlIncidents(ids []string) []htmlIncident {
	var out []htmlIncident
	for _, id := range ids {
		ref := r.Incidents[id]
		hi := htmlIncident{ID: id, Name: ref.Name, Date: ref.Date}
		for _, s := range ref.Sources {
			hi.Sources = append(hi.Sources, htmlSource{Name: s.SourceName, URL: s.URL})
		}
		out = append(out, hi)
	}
	return out
}

// WriteHTML writes r as a self-contained page (no script, no outside
// resource) with its charts (when [Run] drew them), one table, then its
// claims (if any) as a second; each row links its incidents to their
// pages on the node (/incidents/{id}) and lists their sources. A print
// stylesheet keeps the tables readable on paper.
func (r *Report) WriteHTML(w io.Writer) error {
	data := struct {
		R      *Report
		Head   []string
		Rows   []htmlRow
		Claims []htmlClaim
		ByYear template.HTML
		ByType template.HTML
	}{R: r, Head: r.header()}
	if c := r.Charts(); c.ByYear != nil {
		data.ByYear, data.ByType = template.HTML(c.ByYear), template.HTML(c.ByVictimType)
	}
	conv := func(values []string, row Row, total bool) htmlRow {
		return htmlRow{Values: values, Row: row, USD: Grouped(row.LossUSD), Amounts: amountsText(row.Amounts), Total: total,
			Incidents: r.htmlIncidents(row.IncidentIDs)}
	}
	for _, row := range r.Rows {
		data.Rows = append(data.Rows, conv(row.Values, row, false))
	}
	data.Rows = append(data.Rows, conv(r.totalValues(), r.Total, true))
	for i := range r.Claims {
		c := &r.Claims[i]
		data.Claims = append(data.Claims, htmlClaim{Claim: c, Panel: c.PanelText(), USD: Grouped(c.Node.LossUSD), Verdict: c.Verdict(),
			Incidents: r.htmlIncidents(c.Node.IncidentIDs)})
	}
	return pageTemplate.Execute(w, data)
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cointrail report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 2px solid #111; }
ul { margin: 0; padding-left: 1.2em; }
.src { color: #555; font-size: 90%; }
.short { color: #a00; }
h2 { margin-top: 2em; }
figure.chart { margin: 1em 0; max-width: 760px; }
figure.chart svg { width: 100%; height: auto; }
@media print {
  body { margin: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; }
  a[href]::after { content: " (" attr(href) ")"; font-size: 80%; }
  tr { page-break-inside: avoid; }
  thead { display: table-header-group; }
  figure.chart { page-break-inside: avoid; }
}
</style>
</head>
<body>
<h1>Incidents and losses</h1>
<p>Grouped by {{range $i, $d := .Head}}{{if $i}}, {{end}}{{$d}}{{end}}{{if .R.From}}; from {{.R.From}}{{end}}{{if .R.To}}; to {{.R.To}}{{end}}.
Losses are in US dollars at the time, as reported; amounts are in base units. An incident in several rows (two actors, two victims) counts once in the total.</p>
{{if .ByYear}}<figure class="chart">{{.ByYear}}</figure>{{end}}
{{if .ByType}}<figure class="chart">{{.ByType}}</figure>{{end}}
<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}<th>incidents</th><th>loss (USD)</th><th>without USD</th><th>amounts</th><th>incidents and sources</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Total}} class="total"{{end}}>{{range .Values}}<td>{{.}}</td>{{end}}<td class="num">{{.Row.Incidents}}</td><td class="num">{{.USD}}</td><td class="num">{{.Row.Unpriced}}</td><td>{{.Amounts}}</td><td><ul>{{range .Incidents}}<li><a href="/incidents/{{.ID}}">{{.Name}}</a> ({{.Date}}){{range .Sources}} <span class="src">{{if .URL}}<a href="{{.URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}</span>{{end}}</li>{{end}}</ul></td></tr>
{{end}}</tbody>
</table>
{{with .Claims}}<h2>The Panel (S/2019/171) and the node</h2>
<p>Each figure the UN Panel of Experts published in its report S/2019/171, beside the same figure over every incident this view holds, whatever the dates above. The Panel counts thefts in foreign currency too: the node's figure need not reach it.</p>
<table>
<thead><tr><th>the Panel's claim</th><th>the Panel's figure</th><th>the node: loss (USD)</th><th>incidents</th><th>without USD</th><th>verdict</th><th>incidents and sources</th></tr></thead>
<tbody>
{{range .}}<tr><td>{{.Claim.Claim}}</td><td class="num">{{.Panel}}</td><td class="num">{{.USD}}</td><td class="num">{{.Claim.Node.Incidents}}</td><td class="num">{{.Claim.Node.Unpriced}}</td><td{{if not .Claim.Holds}} class="short"{{end}}>{{.Verdict}}</td><td><ul>{{range .Incidents}}<li><a href="/incidents/{{.ID}}">{{.Name}}</a> ({{.Date}}){{range .Sources}} <span class="src">{{if .URL}}<a href="{{.URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}</span>{{end}}</li>{{end}}</ul></td></tr>
{{end}}</tbody>
</table>
{{end}}</body>
</html>
`))
