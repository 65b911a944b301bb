package chart

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Series is one part of every bar of a [Stacked] chart: one actor's
// losses in each year, say.
type Series struct {
	Name string
	// Values are the series' values, one per category of the chart in
	// its order; missing ones are 0. Negative and non-finite values are
	// drawn as 0.
	Values []float64
}

// Stacked is a chart of vertical bars, one per category, each stacked
// from one segment per series.
type Stacked struct {
	// Title and Desc name and describe the chart for screen readers.
	// Default Desc: a sentence saying what the chart holds.
	Title, Desc string
	// Categories are the x axis, in order: years, say.
	Categories []string
	// Series are the parts of each bar: actors, say.
	Series []Series
	// Format writes a value for the y axis and the tooltips (US$ millions,
	// say). Default: the number, with thousands separators.
	Format func(float64) string
	// TopSeries is how many series, largest total first, are drawn on
	// their own; the rest are summed into one "other" series, so that
	// colours stay distinct and the legend short. Default: 8.
	TopSeries int
	// Width and Height are the size of the viewBox; the chart scales to
	// its container. Default: 720 by 360.
	Width, Height int
}

// otherName names what is folded.
const otherName = "other"

// StackedBars draws c as SVG: one bar per category, stacked by series
// with the largest series at the bottom and "other" on top, a y axis of 4
// to 6 round ticks, the categories below (turned, and thinned out, when
// there are too many to fit side by side), a legend at the right, and on
// each segment a tooltip "series, category: value".
func StackedBars(c Stacked) []byte {
	w, h := float64(c.Width), float64(c.Height)
	if w <= 0 {
		w = 720
	}
	if h <= 0 {
		h = 360
	}
	format := c.Format
	if format == nil {
		format = defaultFormat
	}
	series := foldSeries(c.Series, len(c.Categories), cmp.Or(c.TopSeries, 8))
	if c.Desc == "" {
		c.Desc = stackedDesc(c.Categories, series)
	}
	if len(c.Categories) == 0 || len(series) == 0 {
		return message(c.Title, c.Desc, "No data", w)
	}

	// The tallest bar sets the scale.
	var top float64
	for i := range c.Categories {
		var sum float64
		for _, s := range series {
			sum += s.Values[i]
		}
		top = max(top, sum)
	}
	step, n := niceTicks(top)
	top = step * float64(n)
	ticks := make([]string, n+1)
	var tickW float64
	for i := range ticks {
		ticks[i] = format(step * float64(i))
		tickW = max(tickW, textWidth(ticks[i], 11))
	}

	// The legend, at the right, gets at most a third of the width.
	var nameChars int
	for _, s := range series {
		nameChars = max(nameChars, len([]rune(s.Name)))
	}
	nameChars = min(nameChars, 24, max(int((w/3-28)/charW), 4))
	legendW := 28 + float64(nameChars)*charW

	// The categories: side by side when they fit, else turned by 45
	// degrees, one in every k where even that is too tight.
	x0, x1 := tickW+16, w-legendW-8
	slot := (x1 - x0) / float64(len(c.Categories))
	var catW float64
	for _, cat := range c.Categories {
		catW = max(catW, textWidth(truncate(cat, 14), 11))
	}
	turned := catW > slot-4
	every := 1
	bottom := 24.0
	if turned {
		every = int(math.Ceil(16 / slot))
		bottom = 16 + catW*math.Sqrt2/2
	}
	y0, y1 := 12.0, h-bottom
	plotH := y1 - y0

	var s svg
	s.printf(`<g class="axis" font-size="11">` + "\n")
	for i, t := range ticks {
		y := y1 - float64(i)/float64(n)*plotH
		stroke := gridColour
		if i == 0 {
			stroke = axisColour
		}
		s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", num(x0), num(y), num(x1), num(y), stroke)
		s.text(x0-6, y+4, "end", 11, "", t)
	}
	for i, cat := range c.Categories {
		if i%every != 0 {
			continue
		}
		x := x0 + slot*(float64(i)+0.5)
		label := truncate(cat, 14)
		if turned {
			s.text(x, y1+12, "end", 11, fmt.Sprintf(`transform="rotate(-45 %s %s)"`, num(x), num(y1+12)), label)
		} else {
			s.text(x, y1+16, "middle", 11, "", label)
		}
	}
	s.printf("</g>\n")

	s.printf(`<g class="segments" stroke="#fff" stroke-width="0.5">` + "\n")
	barW := slot * 0.7
	for i, cat := range c.Categories {
		x := x0 + slot*float64(i) + (slot-barW)/2
		y := y1
		for j, sr := range series {
			v := sr.Values[i]
			if v == 0 {
				continue
			}
			bh := v / top * plotH
			y -= bh
			s.printf(`<rect class="segment" x="%s" y="%s" width="%s" height="%s" fill="%s">`, num(x), num(y), num(barW), num(bh), seriesColour(sr, j))
			s.tooltip(fmt.Sprintf("%s, %s: %s", sr.Name, cat, format(v)))
			s.printf("</rect>\n")
		}
	}
	s.printf("</g>\n")

	s.printf(`<g class="legend">` + "\n")
	for j, sr := range series {
		x, y := x1+16, y0+float64(j)*18
		s.printf(`<g><rect x="%s" y="%s" width="10" height="10" fill="%s"/>`, num(x), num(y), seriesColour(sr, j))
		s.tooltip(fmt.Sprintf("%s: %s in all", sr.Name, format(sr.total())))
		s.printf("\n")
		s.text(x+16, y+9.5, "start", fontSize, "", truncate(sr.Name, nameChars))
		s.printf("</g>\n")
	}
	s.printf("</g>\n")
	return s.bytes(c.Title, c.Desc, w, h)
}

// drawnSeries is a series ready to draw: one clean value per category.
type drawnSeries struct {
	Series
	other bool
}

func (s drawnSeries) total() float64 {
	var t float64
	for _, v := range s.Values {
		t += v
	}
	return t
}

// seriesColour is the j'th series' colour, or the grey of "other".
func seriesColour(s drawnSeries, j int) string {
	if s.other {
		return otherColour
	}
	return colour(j)
}

// foldSeries returns the series with a nonzero total, largest first, each
// with one clean value per category: the top largest, then the rest
// summed into "other" if that sums two series or more (one alone keeps
// its name).
func foldSeries(in []Series, ncat, top int) []drawnSeries {
	var out []drawnSeries
	for _, s := range in {
		d := drawnSeries{Series: Series{Name: s.Name, Values: make([]float64, ncat)}}
		for i := range min(ncat, len(s.Values)) {
			d.Values[i] = clean(s.Values[i])
		}
		if d.total() > 0 {
			out = append(out, d)
		}
	}
	// Stable, so equal totals keep the caller's order.
	slices.SortStableFunc(out, func(a, b drawnSeries) int { return cmp.Compare(b.total(), a.total()) })
	if len(out) <= top+1 {
		return out
	}
	other := drawnSeries{Series: Series{Name: otherName, Values: make([]float64, ncat)}, other: true}
	for _, s := range out[top:] {
		for i, v := range s.Values {
			other.Values[i] += v
		}
	}
	return append(out[:top:top], other)
}

// stackedDesc says what a stacked chart holds, for screen readers.
func stackedDesc(cats []string, series []drawnSeries) string {
	if len(cats) == 0 || len(series) == 0 {
		return "An empty chart."
	}
	names := make([]string, 0, 3)
	for _, s := range series[:min(3, len(series))] {
		if !s.other {
			names = append(names, s.Name)
		}
	}
	return fmt.Sprintf("Stacked bars for %d categories, %s to %s, in %d series; the largest: %s.",
		len(cats), cats[0], cats[len(cats)-1], len(series), joinNames(names))
}

// joinNames joins names as a sentence does.
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			out += " and "
		default:
			out += ", "
		}
		out += n
	}
	return out
}
