package web

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestContrast checks the stylesheet's text colours against their
// backgrounds for WCAG 2.1 AA: a contrast ratio of at least 4.5:1 for
// text (the badges' bold small text included).
func TestContrast(t *testing.T) {
	css, err := files.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ what, fg, bg string }{
		{"body text", "#1a1a1a", "#fff"},
		{"muted text", "#4a4a4a", "#fff"},
		{"links", "#0b4f9c", "#fff"},
		{"table headings", "#1a1a1a", "#f2f4f7"},
		{"header", "#fff", "#14213d"},
		{"role badge", "#fff", "#33415c"},
		{"buttons", "#fff", "#0b4f9c"},
		{"errors", "#a4161a", "#fdecec"},
		{"success", "#1b5e20", "#e9f5ea"},
		{"TLP:RED", "#ff2b2b", "#000"},
		{"TLP:AMBER", "#ffc000", "#000"},
		{"TLP:GREEN", "#33ff00", "#000"},
		{"TLP:CLEAR", "#fff", "#000"},
		{"high risk", "#fff", "#a4161a"},
		{"medium risk", "#000", "#ffc000"},
		{"low risk", "#000", "#e0e0e0"},
		{"new alert", "#1a1a1a", "#fff3cd"},
	} {
		for _, c := range []string{tc.fg, tc.bg} {
			if !strings.Contains(string(css), c) {
				t.Errorf("%s: the stylesheet no longer uses %s: update this test", tc.what, c)
			}
		}
		if r := contrast(tc.fg, tc.bg); r < 4.5 {
			t.Errorf("%s: %s on %s has contrast %.2f:1, below AA's 4.5:1", tc.what, tc.fg, tc.bg, r)
		}
	}
}

// contrast is the WCAG 2.1 contrast ratio of two #rgb or #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	var ch [3]float64
	for i := range ch {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			ch[i] = c / 12.92
		} else {
			ch[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*ch[0] + 0.7152*ch[1] + 0.0722*ch[2]
}
