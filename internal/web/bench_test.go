package web

import (
	"net/url"
	"testing"
)

// BenchmarkPages times the main pages, signed in as the exchange, on the
// fixture's node (the demo's intelligence and a 1,500-transaction theft).
// bench/web_test.go times them on the demo itself.
func BenchmarkPages(b *testing.B) {
	f := newFixture(b)
	c := f.signedIn(b, "exchange")
	for _, path := range []string{
		"/", "/incidents", "/incidents/" + url.PathEscape(f.incident), "/actors", "/report", "/alerts",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				c.page(path)
			}
		})
	}
}
