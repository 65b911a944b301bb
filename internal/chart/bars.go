package chart

import (
	"cmp"
	"fmt"
	"slices"
)

// Bar is one bar of a [BarChart].
type Bar struct {
	Label string
	// Value is the bar's length; negative and non-finite values are drawn
	// as 0.
	Value float64
	// Href, if set, makes the bar and its label a link (to the incidents
	// behind it, say). Only relative and http(s) URLs are kept.
	Href string
}

// BarChart is a chart of horizontal bars, one per row: incidents by
// victim type, say, or the amounts a trace brought to each exchange.
type BarChart struct {
	// Title and Desc name and describe the chart for screen readers.
	// Default Desc: a sentence saying what the chart holds.
	Title, Desc string
	// Bars are drawn top to bottom in their order.
	Bars []Bar
	// Format writes a value. Default: the number, with thousands
	// separators.
	Format func(float64) string
	// MaxBars bounds the rows: beyond it, the smallest bars are summed
	// into one "other" bar, so that a long tail stays readable.
	// Default: 30.
	MaxBars int
	// Width is the width of the viewBox; the height follows from the
	// number of bars. Default: 640.
	Width int
}

// Bars draws c as SVG: each bar with its label at the left and its value
// at the right, scaled to the largest bar, with a tooltip "label: value".
func Bars(c BarChart) []byte {
	w := float64(c.Width)
	if w <= 0 {
		w = 640
	}
	format := c.Format
	if format == nil {
		format = defaultFormat
	}
	bars := foldBars(c.Bars, max(cmp.Or(c.MaxBars, 30), 2))
	if c.Desc == "" {
		c.Desc = barsDesc(bars, format)
	}
	if len(bars) == 0 {
		return message(c.Title, c.Desc, "No data", w)
	}

	const rowH, barH, pad = 22.0, 14.0, 8.0
	var top, labelW, valueW float64
	labelChars := max(int(w*0.4/charW), 4)
	for _, b := range bars {
		top = max(top, b.Value)
		labelW = max(labelW, textWidth(truncate(b.Label, labelChars), fontSize))
		valueW = max(valueW, textWidth(format(b.Value), fontSize))
	}
	x0 := pad + labelW + 6
	plotW := max(w-x0-valueW-pad-6, 10)
	h := 2*pad + float64(len(bars))*rowH

	var s svg
	s.printf(`<g class="bars">` + "\n")
	for i, b := range bars {
		y := pad + float64(i)*rowH
		bw := 0.0
		if top > 0 {
			bw = b.Value / top * plotW
		}
		fill := palette[0]
		if b.other {
			fill = otherColour
		}
		linked := s.openLink(b.Href)
		label := ""
		if linked {
			label = `text-decoration="underline"`
		}
		s.text(x0-6, y+rowH/2+4, "end", fontSize, label, truncate(b.Label, labelChars))
		s.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s">`, num(x0), num(y+(rowH-barH)/2), num(bw), num(barH), fill)
		s.tooltip(fmt.Sprintf("%s: %s", b.Label, format(b.Value)))
		s.printf("</rect>\n")
		if linked {
			s.printf("</a>\n")
		}
		s.text(x0+bw+6, y+rowH/2+4, "start", fontSize, "", format(b.Value))
	}
	s.printf("</g>\n")
	return s.bytes(c.Title, c.Desc, w, h)
}

// drawnBar is a bar ready to draw.
type drawnBar struct {
	Bar
	other bool
}

// foldBars returns the bars with clean values, in their order, at most n
// of them: beyond that, the n-1 largest stay (in their order) and the
// rest are summed into "other", last.
func foldBars(in []Bar, n int) []drawnBar {
	out := make([]drawnBar, len(in))
	for i, b := range in {
		b.Value = clean(b.Value)
		out[i] = drawnBar{Bar: b}
	}
	if len(out) <= n {
		return out
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(out[b].Value, out[a].Value) })
	keep := idx[:n-1]
	slices.Sort(keep)
	other := drawnBar{Bar: Bar{Label: fmt.Sprintf("%s (%d)", otherName, len(out)-len(keep))}, other: true}
	for _, i := range idx[n-1:] {
		other.Value += out[i].Value
	}
	kept := make([]drawnBar, 0, n)
	for _, i := range keep {
		kept = append(kept, out[i])
	}
	return append(kept, other)
}

// barsDesc says what a bar chart holds, for screen readers.
func barsDesc(bars []drawnBar, format func(float64) string) string {
	if len(bars) == 0 {
		return "An empty chart."
	}
	best := bars[0]
	for _, b := range bars[1:] {
		if b.Value > best.Value {
			best = b
		}
	}
	return fmt.Sprintf("%d bars; the largest: %s, %s.", len(bars), best.Label, format(best.Value))
}
