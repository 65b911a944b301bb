package report

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/cointrail/cointrail/internal/chart"
	"github.com/cointrail/cointrail/internal/intel"
)

// Charts are a report's charts, drawn as SVG by the server over the same
// incidents and dates as its table; nil when not drawn.
type Charts struct {
	// ByYear is the losses by year, stacked by actor.
	ByYear []byte
	// ByVictimType is the incidents by victim type.
	ByVictimType []byte
}

// Charts draws the report's charts, over the incidents [Run] read; none
// for a report [Build] made. Only the HTML forms draw them.
func (r *Report) Charts() Charts {
	if r.seen == nil {
		return Charts{}
	}
	return DrawCharts(r.seen, r.query)
}

// DrawCharts draws the charts of incs, the incidents a viewer may see,
// between q's dates.
func DrawCharts(incs []intel.Incident, q Query) Charts {
	yearly := Build(incs, Query{By: []Dimension{Year, Actor}, From: q.From, To: q.To})
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
	actors := make([]string, 0, len(cells))
	for a := range cells {
		actors = append(actors, a)
	}
	slices.Sort(actors)
	var series []chart.Series
	for _, actor := range actors {
		sr := chart.Series{Name: actor, Values: make([]float64, len(years))}
		for i, y := range years {
			sr.Values[i] = cells[actor][y]
		}
		series = append(series, sr)
	}
	var c Charts
	c.ByYear = chart.StackedBars(chart.Stacked{
		Title:      "Reported losses by year, by actor",
		Desc:       "US dollars at the time, as reported; an incident attributed to two actors counts in both.",
		Categories: years, Series: series, Format: usdShort,
	})
	types := Build(incs, Query{By: []Dimension{VictimType}, From: q.From, To: q.To})
	var bars []chart.Bar
	for _, row := range types.Rows {
		bars = append(bars, chart.Bar{Label: row.Values[0], Value: float64(row.Incidents)})
	}
	slices.SortStableFunc(bars, func(a, b chart.Bar) int { return cmp.Compare(b.Value, a.Value) })
	c.ByVictimType = chart.Bars(chart.BarChart{
		Title:  "Incidents by victim type",
		Desc:   "How many incidents hit each kind of victim; a victim of two kinds counts in both.",
		Bars:   bars,
		Format: func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	})
	return c
}

// usdShort writes a dollar figure for a chart's axis: US$530M, US$1.2B.
func usdShort(f float64) string {
	round := func(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }
	switch {
	case f >= 1e9:
		return "US$" + round(f/1e9) + "B"
	case f >= 1e6:
		return "US$" + round(f/1e6) + "M"
	case f >= 1e3:
		return "US$" + round(f/1e3) + "k"
	}
	return "US$" + strconv.FormatFloat(math.Round(f), 'f', -1, 64)
}
