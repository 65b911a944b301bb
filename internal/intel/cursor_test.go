package intel

import (
	"testing"

	"github.com/cointrail/cointrail/internal/fault"
)

// FuzzDecodeCursor checks cursor parsing: arbitrary input never panics and
// fails with a malformed error, and every cursor the node makes decodes to
// the position it encodes.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("", int64(0))
	f.Add(encodeCursor(1764150000000000), int64(1764150000000000))
	f.Add("YTEyMw", int64(123))
	f.Add("!!", int64(-1))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if _, err := DecodeCursor(s); err != nil && fault.CodeOf(err) != fault.Malformed {
			t.Fatalf("DecodeCursor(%q): %v", s, err)
		}
		if n < 0 {
			return
		}
		got, err := DecodeCursor(encodeCursor(n))
		if err != nil || got != n {
			t.Fatalf("round trip of %d = %d, %v", n, got, err)
		}
	})
}
