// Package chart draws charts as standalone SVG on the server, with no
// JavaScript and no chart library, for the HTML report and the web UI:
// vertical bars stacked by series ([StackedBars]), horizontal bars
// ([Bars]) and the flow of a trace from its seeds to the services it
// reached ([Flow]).
//
// Every chart is a self-contained <svg> element that may be served as a
// file or inlined in HTML. It has a <title> and a <desc> for screen
// readers and a native tooltip (<title>) on each mark. It has no script,
// no event handler, no external resource, no <style> element and no style
// attribute: colours and fonts are presentation attributes, so a strict
// Content-Security-Policy (style-src 'self') allows it. Names come from
// outside data and are always escaped. Text is dark (#111) on a white
// background, never on a coloured fill, so it meets WCAG AA contrast.
//
// Output is deterministic: the same input gives byte-identical SVG, so
// charts can be cached, diffed and compared with golden files.
//
// The functions are safe for concurrent use; they keep no state.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fonts and colours shared by the charts.
const (
	fontFamily = "system-ui, sans-serif"
	fontSize   = 12.0
	textColour = "#111"
	gridColour = "#d9d9d9"
	axisColour = "#555"
	// otherColour fills what is folded into "other".
	otherColour = "#bab0ac"
	// charW is the average advance of a character at fontSize, to size
	// margins without measuring fonts: generous, so text rarely overflows.
	charW = 0.65 * fontSize
)

// palette is Tableau 10 without its grey (kept for "other"): a fixed
// qualitative palette whose colours stay distinct for most colour-blind
// readers. Text is never drawn on these fills.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f",
}

// colour returns the palette colour of the i'th series, cycling.
func colour(i int) string { return palette[i%len(palette)] }

// esc escapes s for XML text and attribute values. Characters XML cannot
// hold (NUL, ...) become U+FFFD, so hostile data cannot break the
// document.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// num formats a coordinate with one decimal at most: enough for screens,
// short and deterministic.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	x = math.Round(x*10) / 10
	if x == 0 {
		x = 0 // no "-0"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// clean turns what cannot be drawn (NaN, infinities, negative values)
// into 0: the charts show amounts, which are not negative.
func clean(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// textWidth estimates the width of s at size, without a font.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * 0.65 * size
}

// truncate shortens s to at most n characters, ending it with "…": the
// full text stays in the mark's tooltip.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 1)]) + "…"
}

// shortAddress shortens a long address to its start and end, which is
// how people compare addresses at a glance.
func shortAddress(a string) string {
	r := []rune(a)
	if len(r) <= 16 {
		return a
	}
	return string(r[:8]) + "…" + string(r[len(r)-6:])
}

// safeHref returns u if it is a relative URL or an http(s) one, and ""
// otherwise: a link from outside data must not run script
// ("javascript:") or carry data in.
func safeHref(u string) string {
	if u == "" || strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	switch strings.ToLower(p.Scheme) {
	case "", "http", "https":
		return u
	}
	return ""
}

// defaultFormat formats a value when the caller gives no format: whole
// numbers with thousands separators, others with two decimals.
func defaultFormat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return groupDigits(strconv.FormatInt(int64(v), 10))
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// groupDigits puts thousands separators in a decimal integer.
func groupDigits(s string) string {
	var b strings.Builder
	if strings.HasPrefix(s, "-") {
		b.WriteByte('-')
		s = s[1:]
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// niceTicks returns the step and count of intervals of a y axis from 0
// to at least top: the step is 1, 2, 2.5 or 5 times a power of ten, and
// there are 3 to 5 intervals (4 to 6 ticks). Each nice step is at most
// 2.5 times the one before, so the first step giving 5 intervals or fewer
// gives at least 3.
func niceTicks(top float64) (step float64, n int) {
	if top <= 0 {
		return 0.25, 4
	}
	mag := math.Pow(10, math.Floor(math.Log10(top/5)))
	for _, m := range []float64{1, 2, 2.5, 5, 10, 20} {
		step = m * mag
		if n = int(math.Ceil(top/step - 1e-9)); n <= 5 {
			break
		}
	}
	return step, max(n, 1)
}

// svg builds a chart's body. Its methods write elements; the root element
// is added by [svg.bytes], once the size is known.
type svg struct {
	b bytes.Buffer
}

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes a <text> element at x, y with the given anchor ("start",
// "middle", "end"), size and extra attributes, holding escaped t.
func (s *svg) text(x, y float64, anchor string, size float64, attrs, t string) {
	s.printf(`<text x="%s" y="%s"`, num(x), num(y))
	if anchor != "start" {
		s.printf(` text-anchor="%s"`, anchor)
	}
	if size != fontSize {
		s.printf(` font-size="%s"`, num(size))
	}
	if attrs != "" {
		s.printf(" %s", attrs)
	}
	s.printf(`>%s</text>`+"\n", esc(t))
}

// tooltip writes a <title> child: browsers show it on hover.
func (s *svg) tooltip(t string) { s.printf("<title>%s</title>", esc(t)) }

// openLink starts an <a> around what follows if href is safe, and
// reports whether it did (so the caller closes it).
func (s *svg) openLink(href string) bool {
	href = safeHref(href)
	if href == "" {
		return false
	}
	s.printf(`<a href="%s">`+"\n", esc(href))
	return true
}

// bytes returns the document: the root <svg> element, sized w by h in a
// viewBox, with its <title> and <desc> and the body. Their ids derive
// from a hash of the whole chart, so two different charts inlined in one
// page do not share ids while the output stays deterministic.
func (s *svg) bytes(title, desc string, w, h float64) []byte {
	hs := fnv.New64a()
	fmt.Fprintf(hs, "%s\x00%s\x00%s\x00%s\x00", title, desc, num(w), num(h))
	hs.Write(s.b.Bytes())
	id := fmt.Sprintf("chart-%016x", hs.Sum64())
	var out bytes.Buffer
	out.Grow(s.b.Len() + 512)
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="100%%" role="img" aria-labelledby="%s-t %s-d" font-family="%s" font-size="%s" fill="%s">`+"\n",
		num(w), num(h), id, id, fontFamily, num(fontSize), textColour)
	fmt.Fprintf(&out, `<title id="%s-t">%s</title>`+"\n", id, esc(title))
	fmt.Fprintf(&out, `<desc id="%s-d">%s</desc>`+"\n", id, esc(desc))
	fmt.Fprintf(&out, `<rect width="%s" height="%s" fill="#fff"/>`+"\n", num(w), num(h))
	out.Write(s.b.Bytes())
	out.WriteString("</svg>\n")
	return out.Bytes()
}

// message returns a small chart that only says msg: what a chart shows
// when there is nothing to draw.
func message(title, desc, msg string, w float64) []byte {
	var s svg
	s.text(w/2, 34, "middle", fontSize+2, "", msg)
	return s.bytes(title, desc, w, 60)
}
