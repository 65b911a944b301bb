package web

import (
	"context"
	"net/url"
	"testing"

	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
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

// BenchmarkHomeAfterChange times the home page read right after the
// intelligence changed (a note added), when each viewer's view of it is
// parsed again.
func BenchmarkHomeAfterChange(b *testing.B) {
	f := newFixture(b)
	c := f.signedIn(b, "exchange")
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		id := stix.NewID("note")
		note, err := stix.Parse([]byte(`{"type":"note","spec_version":"2.1","id":"` + id + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","content":"a change","object_refs":["` + id + `"]}`))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.svc.Submit(ctx, f.viewers["exchange"], []*stix.Object{note}, intel.SubmitOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c.page("/")
	}
}
