package column

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cointrail/cointrail/internal/stix"
)

func TestRoundTrips(t *testing.T) {
	for level := stix.TLPNone; level <= stix.TLPRed; level++ {
		s, err := TLP(level)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseTLP(s); err != nil || back != level {
			t.Errorf("TLP %v -> %q -> %v, %v", level, s, back, err)
		}
	}
	if _, err := ParseTLP("white"); err == nil {
		t.Error("ParseTLP accepts a name the stores never write")
	}
	for _, r := range [][]string{nil, {"identity--00000000-0000-4000-8000-000000000001", "identity--00000000-0000-4000-8000-000000000002"}} {
		s, _ := Recipients(r)
		back, err := ParseRecipients(s)
		if err != nil || len(back) != len(r) {
			t.Errorf("recipients %v -> %q -> %v, %v", r, s, back, err)
		}
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	n, _ := Nanos(now)
	if !Time(n).Equal(now) || !Time(0).IsZero() {
		t.Errorf("time round trip: %v", Time(n))
	}
	if _, err := Nanos(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("year 3000 encoded")
	}
}

func TestList(t *testing.T) {
	for _, l := range [][]string{nil, {}, {"a"}, {"indicator--1@2024-03-29T12:00:00.000000000Z", `odd "quoted" \ <&>`}} {
		s, err := List(l)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseList(s)
		if err != nil || !slices.Equal(back, l) || (len(l) == 0 && (s != "[]" || back != nil)) {
			t.Errorf("list %q -> %q -> %q, %v", l, s, back, err)
		}
	}
	if _, err := ParseList("{"); err == nil {
		t.Error("ParseList accepts bad JSON")
	}
}

// TestListPatterns matches the patterns as SQL's LIKE (ESCAPE '\') would.
func TestListPatterns(t *testing.T) {
	like := func(pattern, s string) bool {
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pattern); i++ {
			switch c := pattern[i]; c {
			case '%':
				re.WriteString(".*")
			case '_':
				re.WriteString(".")
			case '\\':
				i++
				re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		return regexp.MustCompile("(?s)" + re.String()).MatchString(s)
	}
	list := func(l ...string) string { s, _ := List(l); return s }
	tests := []struct {
		elem, list string
		exact, at  bool // ListPattern(elem), ListPrefixPattern(elem+"@")
	}{
		{"x--1", list("x--1"), true, false},
		{"x--1", list("y", "x--1@v1"), false, true},
		{"x--1", list("x--12", "x--12@v"), false, false},
		{"x--1", list("ax--1"), false, false},
		{"x_1", list("xa1", "xa1@v"), false, false},
		{"x%1", list("x--1", "x--1@v"), false, false},
		{`x\1`, list(`x\1`, `x\1@v`), true, true},
		{`"<&>"`, list(`"<&>"`), true, false},
	}
	for _, tc := range tests {
		exact, err := ListPattern(tc.elem)
		if err != nil {
			t.Fatal(err)
		}
		at, err := ListPrefixPattern(tc.elem + "@")
		if err != nil {
			t.Fatal(err)
		}
		if got := like(exact, tc.list); got != tc.exact {
			t.Errorf("%q LIKE %q = %v, want %v", tc.list, exact, got, tc.exact)
		}
		if got := like(at, tc.list); got != tc.at {
			t.Errorf("%q LIKE %q = %v, want %v", tc.list, at, got, tc.at)
		}
	}
}

// TestPrefixEnd: s begins with p exactly when p <= s < PrefixEnd(p).
func TestPrefixEnd(t *testing.T) {
	runes := []string{"", "a", "b", "z", "/", "\x00", "\x7f", "\u0080", "\u07ff", "\u0800", "\ud7ff", "\ue000",
		"\uffff", "\U00010000", "\U0010FFFF"}
	var strs []string
	for _, a := range runes {
		for _, b := range runes {
			for _, c := range []string{"", "a", "\U0010FFFF"} {
				strs = append(strs, a+b+c)
			}
		}
	}
	for _, p := range strs {
		end, ok := PrefixEnd(p)
		if ok && !utf8.ValidString(end) {
			t.Errorf("PrefixEnd(%q) = %q, not UTF-8", p, end)
		}
		if ok == (strings.Trim(p, "\U0010FFFF") == "") {
			t.Errorf("PrefixEnd(%q) ok = %v", p, ok)
		}
		for _, s := range strs {
			in := s >= p && (!ok || s < end)
			if in != strings.HasPrefix(s, p) {
				t.Errorf("prefix %q, end %q (%v): %q in range = %v", p, end, ok, s, in)
			}
		}
	}
}
