package trace_test

import (
	"context"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// TestIncidentDateBoundsItsSeeds: a thief's address that held funds long
// before the theft (a reused address) has only what arrived from the
// theft's date on (less SeedMargin) traced as stolen; an incident whose
// only date is its record's creation bounds nothing.
func TestIncidentDateBoundsItsSeeds(t *testing.T) {
	b := newBuilder(t, "bitcoin")
	b.step = 7 * 24 * time.Hour            // blocks a week apart: 2018-01-26, 02-02, 02-09
	b.utxo("old", nil, out{"thief", 1000}) // a week before the theft's block
	b.mine()
	b.utxo("filler", nil, out{"miner", 50})
	b.mine()
	b.utxo("theft", nil, out{"thief", 7000}) // block 2, 2018-02-09
	b.mine()

	wallets := []intel.RoleWallet{{Wallet: intel.Wallet{Chain: "bitcoin", Value: "thief"}, Role: trace.SeedRole}}
	for _, tc := range []struct {
		name string
		inc  intel.Incident
		want string
	}{
		{"dated the day of the theft", intel.Incident{ID: "incident--a", Date: "2018-02-09T00:00:00Z", Dated: true, Wallets: wallets}, "7000"},
		{"dated a day after (the victim's time zone)", intel.Incident{ID: "incident--b", Date: "2018-02-10T00:00:00Z", Dated: true, Wallets: wallets}, "7000"},
		{"dated only by its record", intel.Incident{ID: "incident--c", Date: "2019-03-05T00:00:00Z", Wallets: wallets}, "8000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seeds := trace.SeedsOf(tc.inc, "bitcoin")
			res, err := trace.New(b.st).Trace(context.Background(), "bitcoin", seeds, trace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Tainted.String(); got != tc.want {
				t.Errorf("tainted %s, want %s", got, tc.want)
			}
		})
	}
}

// TestIncidentDateBoundsAccountSeeds: the same on an account chain, where
// an address seed taints what the address received from its first credit
// on.
func TestIncidentDateBoundsAccountSeeds(t *testing.T) {
	b := newBuilder(t, "ethereum")
	b.step = 7 * 24 * time.Hour
	thief, victim := eth("thief"), eth("victim")
	b.account("old", xfer(eth("someone"), thief, 50, chain.Native)) // 2018-01-26
	b.account("fund-victim", xfer(eth("someone"), victim, 1000, chain.Native))
	b.mine()
	b.account("filler", xfer(eth("someone"), eth("other"), 1, chain.Native))
	b.mine()
	b.account("theft", xfer(victim, thief, 100, chain.Native)) // 2018-02-09
	b.mine()

	wallets := []intel.RoleWallet{{Wallet: intel.Wallet{Chain: "ethereum", Value: thief}, Role: trace.SeedRole}}
	for _, tc := range []struct {
		name string
		inc  intel.Incident
		want int64
	}{
		{"dated", intel.Incident{ID: "incident--a", Date: "2018-02-09T00:00:00Z", Dated: true, Wallets: wallets}, 100},
		{"dated only by its record", intel.Incident{ID: "incident--b", Date: "2019-03-05T00:00:00Z", Wallets: wallets}, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := trace.New(b.st).Trace(context.Background(), "ethereum", trace.SeedsOf(tc.inc, "ethereum"), trace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Tainted.Int64(); got != tc.want {
				t.Errorf("tainted %d, want %d", got, tc.want)
			}
		})
	}
}
