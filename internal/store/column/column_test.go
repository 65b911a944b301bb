package column

import (
	"testing"
	"time"

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
