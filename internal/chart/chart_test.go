package chart_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chart"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// elem is a parsed XML element.
type elem struct {
	name     string
	attr     map[string]string
	children []*elem
	text     string
}

// MustParse parses an SVG document with encoding/xml, failing the test
// unless it is well-formed with one <svg> root.
func MustParse(tb testing.TB, doc []byte) *elem {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []*elem
	var root *elem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &elem{name: t.Name.Local, attr: map[string]string{}}
			for _, a := range t.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			} else if root != nil {
				tb.Fatalf("two root elements")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil || root.name != "svg" {
		tb.Fatalf("root is not <svg>:\n%s", doc)
	}
	return root
}

// all returns the elements under e (e included) named name, with class
// class if class is set, in document order.
func (e *elem) all(name, class string) []*elem {
	var out []*elem
	if e.name == name && (class == "" || e.attr["class"] == class) {
		out = append(out, e)
	}
	for _, c := range e.children {
		out = append(out, c.all(name, class)...)
	}
	return out
}

// title returns the text of e's <title> child.
func (e *elem) title() string {
	for _, c := range e.children {
		if c.name == "title" {
			return c.text
		}
	}
	return ""
}

// texts returns all the text of the document.
func (e *elem) texts() string {
	var b strings.Builder
	b.WriteString(e.text)
	for _, c := range e.children {
		b.WriteString(c.texts())
	}
	return b.String()
}

// MustBeSafe checks the rules every chart keeps: an accessible root with
// a title and a description, no script, no event handler, no style
// element or attribute, no external resource.
func MustBeSafe(tb testing.TB, root *elem) {
	tb.Helper()
	if root.attr["xmlns"] != "http://www.w3.org/2000/svg" || root.attr["role"] != "img" || root.attr["viewBox"] == "" {
		tb.Errorf("root attributes %v", root.attr)
	}
	ids := strings.Fields(root.attr["aria-labelledby"])
	if len(ids) != 2 || len(root.children) < 2 ||
		root.children[0].name != "title" || root.children[0].attr["id"] != ids[0] ||
		root.children[1].name != "desc" || root.children[1].attr["id"] != ids[1] {
		tb.Errorf("root must start with <title> and <desc> named by aria-labelledby %q", root.attr["aria-labelledby"])
	}
	var walk func(e *elem)
	walk = func(e *elem) {
		switch e.name {
		case "script", "style", "image", "use", "foreignObject", "iframe":
			tb.Errorf("forbidden element <%s>", e.name)
		}
		for k, v := range e.attr {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "on") || lk == "style" {
				tb.Errorf("forbidden attribute %s=%q on <%s>", k, v, e.name)
			}
			if lk == "href" && strings.Contains(strings.ToLower(v), "javascript:") {
				tb.Errorf("script link %q", v)
			}
		}
		for _, c := range e.children {
			walk(c)
		}
	}
	walk(root)
}

// MustMatchGolden compares got with testdata/name, or rewrites it under
// -update.
func MustMatchGolden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", path, got)
	}
}

// hostile is a name from outside data that tries to break out of the
// document.
const hostile = `<script>alert("x")</script> & 'quoted' "name"`

// MustBeEscaped checks that the hostile name came out as text, never as
// markup: the raw document holds no "<script", and the parsed text holds
// the name intact.
func MustBeEscaped(tb testing.TB, doc []byte, root *elem) {
	tb.Helper()
	if bytes.Contains(doc, []byte("<script")) {
		tb.Errorf("raw <script in the output")
	}
	if !strings.Contains(root.texts(), `<script>alert("x")`) {
		tb.Errorf("hostile name lost: %q", root.texts())
	}
}

func years(from, to int) []string {
	var out []string
	for y := from; y <= to; y++ {
		out = append(out, fmt.Sprint(y))
	}
	return out
}

// usdMillions is the format of a report's losses.
func usdMillions(v float64) string { return fmt.Sprintf("US$%gM", v) }

func TestStackedBars(t *testing.T) {
	// 30 actors, actor i losing i+1 million in each year but year i%14.
	var many []chart.Series
	for i := range 30 {
		s := chart.Series{Name: fmt.Sprintf("actor %02d", i), Values: make([]float64, 14)}
		for y := range 14 {
			if y != i%14 {
				s.Values[y] = float64(i + 1)
			}
		}
		many = append(many, s)
	}
	for _, tc := range []struct {
		name     string
		c        chart.Stacked
		segments int      // rects drawn
		legend   []string // legend entries, in order
	}{
		{
			name: "years",
			c: chart.Stacked{Title: "Losses by year", Categories: years(2012, 2025), Format: usdMillions,
				Series: []chart.Series{
					{Name: "Lazarus Group", Values: []float64{0, 0, 0, 0, 0, 0, 230, 80, 0, 400, 1700, 600, 300, 1500}},
					{Name: "unattributed", Values: []float64{5, 40, 460, 10, 70, 30, 900, 200, 400, 2000, 1300, 900, 1100, 500}},
					{Name: "Other group", Values: []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0}}, // one short
				}},
			segments: 7 + 14 + 1,
			legend:   []string{"unattributed", "Lazarus Group", "Other group"},
		},
		{
			name:     "fold",
			c:        chart.Stacked{Title: "Losses by actor", Categories: years(2012, 2025), Series: many},
			segments: 8*13 + 14, // actors 29 to 22, 13 years each; "other" every year
			legend:   []string{"actor 29", "actor 28", "actor 27", "actor 26", "actor 25", "actor 24", "actor 23", "actor 22", "other"},
		},
		{
			name:     "no fold of one",
			c:        chart.Stacked{Title: "t", Categories: []string{"a"}, TopSeries: 2, Series: []chart.Series{{"x", []float64{3}}, {"y", []float64{2}}, {"z", []float64{1}}}},
			segments: 3,
			legend:   []string{"x", "y", "z"},
		},
		{
			name: "hostile",
			c: chart.Stacked{Title: hostile, Desc: hostile, Categories: []string{hostile, "2020"},
				Series: []chart.Series{{Name: hostile, Values: []float64{1, 2}}, {Name: "NaN & -1", Values: []float64{-1, 0}}}},
			segments: 2,
			legend:   []string{truncateForTest(hostile, 24)},
		},
		{
			name:   "empty",
			c:      chart.Stacked{Title: "Nothing"},
			legend: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := chart.StackedBars(tc.c)
			root := MustParse(t, doc)
			MustBeSafe(t, root)
			if got := len(root.all("rect", "segment")); got != tc.segments {
				t.Errorf("%d segments, want %d", got, tc.segments)
			}
			var legend []string
			for _, g := range root.all("g", "legend") {
				for _, tx := range g.all("text", "") {
					legend = append(legend, tx.text)
				}
			}
			if fmt.Sprint(legend) != fmt.Sprint(tc.legend) {
				t.Errorf("legend %q, want %q", legend, tc.legend)
			}
			for _, r := range root.all("rect", "segment") {
				if strings.Count(r.title(), ": ") < 1 || !strings.Contains(r.title(), ", ") {
					t.Errorf("segment tooltip %q is not \"series, category: value\"", r.title())
				}
			}
			if strings.Contains(tc.c.Title, "<script>") {
				MustBeEscaped(t, doc, root)
			}
			if !bytes.Equal(doc, chart.StackedBars(tc.c)) {
				t.Errorf("output differs between two runs")
			}
			MustMatchGolden(t, "stacked-"+strings.ReplaceAll(tc.name, " ", "-")+".svg", doc)
		})
	}
}

// truncateForTest is how a legend shortens a long name.
func truncateForTest(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// TestStackedTicks checks the y axis: 4 to 6 ticks from 0, the last at or
// above the tallest bar, for tallest bars of many sizes.
func TestStackedTicks(t *testing.T) {
	for _, top := range []float64{0.3, 1, 7, 9.99, 10, 11, 49, 51, 99, 101, 1234, 1e6 + 1, 3.7e9} {
		t.Run(fmt.Sprint(top), func(t *testing.T) {
			doc := chart.StackedBars(chart.Stacked{Categories: []string{"a", "b"}, Series: []chart.Series{{"s", []float64{top, top / 2}}},
				Format: func(v float64) string { return fmt.Sprintf("%g", v) }})
			root := MustParse(t, doc)
			var ticks []float64
			for _, g := range root.all("g", "axis") {
				for _, tx := range g.all("text", "") {
					if tx.attr["text-anchor"] == "end" && tx.attr["transform"] == "" {
						var v float64
						if _, err := fmt.Sscan(tx.text, &v); err != nil {
							t.Fatalf("tick %q: %v", tx.text, err)
						}
						ticks = append(ticks, v)
					}
				}
			}
			if len(ticks) < 4 || len(ticks) > 6 || ticks[0] != 0 || ticks[len(ticks)-1] < top {
				t.Errorf("ticks %v for a bar of %v", ticks, top)
			}
		})
	}
}

func TestBars(t *testing.T) {
	var exchanges []chart.Bar
	for i := range 40 {
		exchanges = append(exchanges, chart.Bar{Label: fmt.Sprintf("exchange %02d", i), Value: float64(1000 - i*i)})
	}
	for _, tc := range []struct {
		name  string
		c     chart.BarChart
		bars  int
		links int
		other bool
	}{
		{
			name: "victims",
			c: chart.BarChart{Title: "Incidents by victim type", Bars: []chart.Bar{
				{Label: "exchange", Value: 120, Href: "/incidents?victim_type=exchange"},
				{Label: "defi protocol", Value: 85, Href: "/incidents?victim_type=defi&sort=date"},
				{Label: "bridge", Value: 30},
				{Label: "individual", Value: 0},
			}},
			bars: 4, links: 2,
		},
		{
			name:  "fold",
			c:     chart.BarChart{Title: "Amounts per exchange", Bars: exchanges, MaxBars: 10, Format: func(v float64) string { return fmt.Sprintf("%.0f sat", v) }},
			bars:  10,
			other: true,
		},
		{
			name: "hostile",
			c: chart.BarChart{Title: hostile, Bars: []chart.Bar{
				{Label: hostile, Value: 3, Href: `/x?a="><script>alert(1)</script>&b=1`},
				{Label: "bad link", Value: 2, Href: "javascript:alert(1)"},
				{Label: "NaN", Value: -5},
			}},
			bars: 3, links: 1,
		},
		{name: "empty", c: chart.BarChart{Title: "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := chart.Bars(tc.c)
			root := MustParse(t, doc)
			MustBeSafe(t, root)
			rects := root.all("rect", "bar")
			if len(rects) != tc.bars {
				t.Errorf("%d bars, want %d", len(rects), tc.bars)
			}
			links := root.all("a", "")
			if len(links) != tc.links {
				t.Errorf("%d links, want %d", len(links), tc.links)
			}
			for _, a := range links {
				// The link holds the bar and its label.
				if len(a.all("rect", "bar")) != 1 || len(a.all("text", "")) != 1 {
					t.Errorf("link %q does not wrap one bar and its label", a.attr["href"])
				}
			}
			if got := len(rects) > 0 && strings.HasPrefix(rects[len(rects)-1].title(), "other"); got != tc.other {
				t.Errorf("last bar %q: other %v, want %v", rects[len(rects)-1].title(), got, tc.other)
			}
			if tc.name == "fold" {
				// The 9 largest stay in order; the rest sum into "other".
				var sum float64
				for _, b := range tc.c.Bars[9:] {
					sum += max(b.Value, 0) // negative ones are drawn as 0
				}
				if want := fmt.Sprintf("other (31): %.0f sat", sum); rects[9].title() != want {
					t.Errorf("other bar %q, want %q", rects[9].title(), want)
				}
			}
			if strings.Contains(tc.c.Title, "<script>") {
				MustBeEscaped(t, doc, root)
				if h := links[0].attr["href"]; h != tc.c.Bars[0].Href {
					t.Errorf("href %q, want %q", h, tc.c.Bars[0].Href)
				}
			}
			MustMatchGolden(t, "bars-"+tc.name+".svg", doc)
		})
	}
}
