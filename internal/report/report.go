// Package report aggregates the incidents a viewer may see into the tables
// a sanctions committee asks for: incident counts, losses in US dollars at
// the time as reported, and amounts per asset in base units, grouped by
// actor, year, victim, victim country, victim type, chain, attack type or
// laundering, with a total row. Every figure lists the incidents behind it,
// so each can be traced to its sources. Beside the table, [Run] sets the UN
// Panel of Experts' figures ([PanelClaims]) against what the node holds.
//
// A report is built from [intel.Service.Incidents], so it counts only what
// the viewer may see: an incident the viewer may not see changes no figure.
//
// Dimensions ([Dimension]) may be multi-valued: an incident attributed to
// two actors is counted in the row of each, and once in the total. So the
// rows of a multi-valued dimension may add up to more than the total.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
)

// Dimension is what rows are grouped by. An incident without a value for a
// dimension falls in its row [Unknown] (for [Actor]: [Unattributed]; for
// [Laundering]: [NoneKnown]).
type Dimension string

// The dimensions.
const (
	// Year is the year of the incident's date (when the theft occurred).
	Year Dimension = "year"
	// Actor is the name of each actor the incident is attributed to.
	Actor Dimension = "actor"
	// Victim is the name of each identity the incident targets.
	Victim Dimension = "victim"
	// VictimCountry is the country (ISO 3166-1 alpha-2) where each victim is
	// located.
	VictimCountry Dimension = "victim-country"
	// VictimType is each type of each victim ([intel.Party.Types]: a CSV
	// import's entity types, else the identity's STIX sectors).
	VictimType Dimension = "victim-type"
	// Chain is the chain of each asset lost ("nem" of "nem:XEM"; "unknown"
	// for a loss known only in dollars, "unknown:USD") and of each wallet
	// tied to the incident.
	Chain Dimension = "chain"
	// AttackType is each of the incident's labels, lower-cased: an imported
	// CSV's attack types ("wallet hack") and the tags that name no actor.
	AttackType Dimension = "attack-type"
	// Laundering is each laundering role among the wallets tied to the
	// incident ("laundering", "cash-out"): whether the node knows where the
	// loot was laundered or cashed out.
	Laundering Dimension = "laundering"
)

// Dimensions lists every dimension, in the order the docs give them.
var Dimensions = []Dimension{Actor, Year, Victim, VictimCountry, VictimType, Chain, AttackType, Laundering}

// The values of incidents a dimension says nothing about.
const (
	Unknown      = "unknown"
	Unattributed = "unattributed"
	NoneKnown    = "none known"
)

// launderingRoles are the wallet roles that say where loot went to be
// laundered or cashed out.
var launderingRoles = []string{"laundering", "cash-out"}

// Query says how to build a report. The zero value groups by nothing but
// the total; [ParseQuery] makes one from text.
type Query struct {
	// By lists the dimensions rows are grouped by, in column order.
	By []Dimension
	// From and To keep incidents dated from From to To, both included, as
	// YYYY-MM-DD; "" is open.
	From, To string
}

// ParseQuery makes a query from a comma-separated list of dimensions
// (default: year) and dates as YYYY-MM-DD. An unknown or repeated
// dimension, or From after To, is a [fault.Invalid] error; a date that is
// not YYYY-MM-DD is [fault.Malformed].
func ParseQuery(by, from, to string) (Query, error) {
	q := Query{From: from, To: to}
	if strings.TrimSpace(by) == "" {
		by = string(Year)
	}
	for _, name := range strings.Split(by, ",") {
		d := Dimension(strings.ToLower(strings.TrimSpace(name)))
		if !slices.Contains(Dimensions, d) {
			return Query{}, fault.New(fault.Invalid, "unknown dimension %q: want one or more of %s", name, dimensionList())
		}
		if slices.Contains(q.By, d) {
			return Query{}, fault.New(fault.Invalid, "dimension %q is given twice", name)
		}
		q.By = append(q.By, d)
	}
	for _, p := range []struct{ name, v string }{{"from", from}, {"to", to}} {
		if p.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, p.v); err != nil {
			return Query{}, fault.New(fault.Malformed, "%s date %q is not YYYY-MM-DD", p.name, p.v)
		}
	}
	if from != "" && to != "" && from > to {
		return Query{}, fault.New(fault.Invalid, "from date %s is after to date %s", from, to)
	}
	return q, nil
}

func dimensionList() string {
	s := make([]string, len(Dimensions))
	for i, d := range Dimensions {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}

// Report is the aggregate of the incidents a viewer may see.
type Report struct {
	// GroupBy lists the dimensions, in column order.
	GroupBy []Dimension `json:"group_by"`
	From    string      `json:"from,omitempty"`
	To      string      `json:"to,omitempty"`
	// Rows are sorted by their dimension values.
	Rows []Row `json:"rows"`
	// Total counts each incident once.
	Total Row `json:"total"`
	// Incidents describes, by id, every incident a row or a claim lists:
	// where each figure comes from.
	Incidents map[string]IncidentRef `json:"incidents"`
	// Claims sets the UN Panel of Experts' figures against the node's, over
	// every incident the viewer may see, whatever From and To; [Run] fills
	// it, [Build] does not.
	Claims []Claim `json:"claims,omitempty"`
	// seen are the incidents Run read, for the charts the HTML forms draw.
	seen  []intel.Incident
	query Query
}

// IncidentRef is what a report says of an incident behind its figures.
type IncidentRef struct {
	Name    string              `json:"name"`
	Date    string              `json:"date"`
	LossUSD string              `json:"loss_usd,omitempty"`
	TLP     string              `json:"tlp"`
	Sources []intel.ExternalRef `json:"sources,omitempty"`
}

// Row is one group of incidents, or the total. Its JSON has one key per
// dimension (named as the dimension) before the figures.
type Row struct {
	// Values are the row's dimension values, in the order of
	// [Report.GroupBy]; nil for the total.
	Values []string
	// Incidents counts the incidents in the row.
	Incidents int
	// LossUSD is the sum of their losses in US dollars at the time, as
	// reported, with two decimals.
	LossUSD string
	// Unpriced counts the incidents in the row with no US dollar figure,
	// which add nothing to LossUSD.
	Unpriced int
	// Amounts sums the losses' amounts per asset id, in base units.
	Amounts map[string]string
	// IncidentIDs lists the incidents in the row, sorted.
	IncidentIDs []string

	dims    []Dimension
	usd     *big.Rat
	amounts map[string]*big.Int
}

// rowFigures is the JSON of a row after its dimension keys.
type rowFigures struct {
	Incidents   int               `json:"incidents"`
	LossUSD     string            `json:"loss_usd"`
	Unpriced    int               `json:"incidents_without_usd"`
	Amounts     map[string]string `json:"amounts"`
	IncidentIDs []string          `json:"incident_ids"`
}

// MarshalJSON writes the dimension values as keys named as the dimensions,
// then the figures.
func (r Row) MarshalJSON() ([]byte, error) {
	figs, err := json.Marshal(rowFigures{r.Incidents, r.LossUSD, r.Unpriced, r.Amounts, r.IncidentIDs})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range r.Values {
		k, _ := json.Marshal(string(r.dims[i]))
		val, _ := json.Marshal(v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
		b.WriteByte(',')
	}
	b.Write(figs[1:])
	return b.Bytes(), nil
}

func newRow(dims []Dimension, values []string) *Row {
	return &Row{Values: values, dims: dims, usd: new(big.Rat), amounts: map[string]*big.Int{}}
}

func (r *Row) add(inc *intel.Incident) {
	r.Incidents++
	r.IncidentIDs = append(r.IncidentIDs, inc.ID)
	if u, err := stix.ParseUSD(inc.LossUSD); err == nil {
		r.usd.Add(r.usd, u)
	} else {
		r.Unpriced++ // no figure is not a loss of zero
	}
	for _, l := range inc.Losses {
		n, err := stix.ParseAmount(l.Amount)
		if err != nil {
			continue // no amount, only a dollar figure
		}
		if r.amounts[l.Asset] == nil {
			r.amounts[l.Asset] = new(big.Int)
		}
		r.amounts[l.Asset].Add(r.amounts[l.Asset], n)
	}
}

func (r *Row) finish() {
	r.LossUSD = r.usd.FloatString(2)
	r.Amounts = make(map[string]string, len(r.amounts))
	for a, n := range r.amounts {
		r.Amounts[a] = n.String()
	}
	if r.IncidentIDs == nil {
		r.IncidentIDs = []string{} // "[]" in JSON, not null
	}
	slices.Sort(r.IncidentIDs)
}

// Source gives the incidents a viewer may see; *[intel.Service] is one.
type Source interface {
	Incidents(ctx context.Context, v access.Viewer) ([]intel.Incident, error)
}

// Run builds the report of q from the incidents v may see, with the
// Panel's claims ([PanelClaims]) over all of them: the claims have their own
// dates, so q's From and To do not restrict them.
func Run(ctx context.Context, src Source, v access.Viewer, q Query) (*Report, error) {
	incs, err := src.Incidents(ctx, v)
	if err != nil {
		return nil, err
	}
	rep := Build(incs, q)
	rep.Claims = PanelClaims(incs)
	rep.seen, rep.query = incs, q
	for i := range incs {
		inc := &incs[i]
		if slices.ContainsFunc(rep.Claims, func(c Claim) bool { return slices.Contains(c.Node.IncidentIDs, inc.ID) }) {
			rep.Incidents[inc.ID] = refOf(inc)
		}
	}
	return rep, nil
}

// refOf is what a report says of inc.
func refOf(inc *intel.Incident) IncidentRef {
	return IncidentRef{Name: inc.Name, Date: day(inc.Date), LossUSD: inc.LossUSD, TLP: inc.TLP, Sources: inc.Sources}
}

// Build aggregates incs as q asks. It trusts incs to be what the viewer
// may see.
func Build(incs []intel.Incident, q Query) *Report {
	rep := &Report{GroupBy: slices.Clone(q.By), From: q.From, To: q.To, Incidents: map[string]IncidentRef{}}
	if rep.GroupBy == nil {
		rep.GroupBy = []Dimension{}
	}
	rows := map[string]*Row{}
	total := newRow(nil, nil)
	for i := range incs {
		inc := &incs[i]
		if !inDates(inc.Date, q.From, q.To) {
			continue
		}
		total.add(inc)
		rep.Incidents[inc.ID] = refOf(inc)
		for _, values := range combinations(inc, q.By) {
			key := strings.Join(values, "\x00")
			r := rows[key]
			if r == nil {
				r = newRow(rep.GroupBy, values)
				rows[key] = r
			}
			r.add(inc)
		}
	}
	total.finish()
	rep.Total = *total
	rep.Rows = make([]Row, 0, len(rows))
	for _, r := range rows {
		r.finish()
		rep.Rows = append(rep.Rows, *r)
	}
	slices.SortFunc(rep.Rows, func(a, b Row) int { return slices.Compare(a.Values, b.Values) })
	return rep
}

func day(date string) string {
	if len(date) >= 10 {
		return date[:10]
	}
	return date
}

// inDates reports whether date (RFC 3339) falls within [from, to]; an
// incident without a readable date falls outside any bound.
func inDates(date, from, to string) bool {
	d := day(date)
	if len(d) != 10 {
		return from == "" && to == ""
	}
	return (from == "" || d >= from) && (to == "" || d <= to)
}

// combinations returns every combination of inc's values of dims, each
// once: an incident of two actors and one year gives two.
func combinations(inc *intel.Incident, dims []Dimension) [][]string {
	out := [][]string{nil}
	for _, d := range dims {
		vals := Values(inc, d)
		next := make([][]string, 0, len(out)*len(vals))
		for _, prefix := range out {
			for _, v := range vals {
				next = append(next, append(slices.Clip(prefix), v))
			}
		}
		out = next
	}
	return out
}

// Values returns inc's values of dimension d, sorted and distinct; never
// none (an incident that says nothing has the value [Unknown], or
// [Unattributed] or [NoneKnown]).
func Values(inc *intel.Incident, d Dimension) []string {
	var vals []string
	add := func(v string) {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	none := Unknown
	switch d {
	case Year:
		if len(inc.Date) >= 4 {
			add(inc.Date[:4])
		}
	case Actor:
		none = Unattributed
		for _, a := range inc.Actors {
			if a.Name != "" {
				add(a.Name)
			} else {
				add(a.ID)
			}
		}
	case Victim:
		for _, p := range inc.Victims {
			add(p.Name)
		}
	case VictimCountry:
		for _, p := range inc.Victims {
			add(strings.ToUpper(p.Country))
		}
	case VictimType:
		for _, p := range inc.Victims {
			for _, t := range p.Types {
				add(strings.ToLower(t))
			}
		}
	case Chain:
		for _, l := range inc.Losses {
			c, _, _ := strings.Cut(l.Asset, ":")
			add(c)
		}
		for _, w := range inc.Wallets {
			add(w.Chain)
		}
	case AttackType:
		for _, l := range inc.Labels {
			add(strings.ToLower(l))
		}
	case Laundering:
		none = NoneKnown
		for _, w := range inc.Wallets {
			if slices.Contains(launderingRoles, w.Role) {
				add(w.Role)
			}
		}
	}
	if len(vals) == 0 {
		return []string{none}
	}
	slices.Sort(vals)
	return vals
}

// Format is how a report is written.
type Format string

// The formats.
const (
	Table Format = "table"
	CSV   Format = "csv"
	JSON  Format = "json"
	HTML  Format = "html"
)

// ParseFormat parses a format name; another name is a [fault.Invalid]
// error.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, CSV, JSON, HTML:
		return f, nil
	}
	return "", fault.New(fault.Invalid, "unknown format %q: want table, csv, json or html", s)
}

// ContentType is the media type of a format.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSON:
		return "application/json"
	case HTML:
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// String names a dimension.
func (d Dimension) String() string { return string(d) }

func (r *Report) header() []string {
	h := make([]string, len(r.GroupBy))
	for i, d := range r.GroupBy {
		h[i] = string(d)
	}
	return h
}

// totalValues are the dimension cells of the total row.
func (r *Report) totalValues() []string {
	v := make([]string, len(r.GroupBy))
	if len(v) > 0 {
		v[0] = "total"
	}
	return v
}

// amountsText writes a row's amounts as "asset=amount" items, sorted.
func amountsText(m map[string]string) string {
	items := make([]string, 0, len(m))
	for a, n := range m {
		items = append(items, a+"="+n)
	}
	slices.Sort(items)
	return strings.Join(items, " ")
}

// sourcesOf lists the distinct sources (URL, else name) of the incidents.
func (r *Report) sourcesOf(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, s := range r.Incidents[id].Sources {
			v := s.URL
			if v == "" {
				v = s.SourceName
			}
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Grouped writes a decimal string with thousands separators:
// "530000000.00" is "530,000,000.00", "-1234" is "-1,234".
func Grouped(dec string) string {
	sign := ""
	if strings.HasPrefix(dec, "-") {
		sign, dec = "-", dec[1:]
	}
	whole, frac, hasFrac := strings.Cut(dec, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
