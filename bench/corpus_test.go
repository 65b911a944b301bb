package bench

import (
	"encoding/json"
	"testing"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/stix"
)

// TestCorpus checks that a bundle of the corpus is what the benchmarks
// claim: valid STIX that the node accepts (addresses included), objects of
// 600 to 900 bytes on average, wallets with deterministic ids, distinct ids,
// and two thirds of the cases visible to the recipient.
func TestCorpus(t *testing.T) {
	c := Corpus{
		Seed:      "test",
		Owner:     "identity--11111111-1111-4111-8111-111111111111",
		Recipient: "identity--22222222-2222-4222-8222-222222222222",
	}
	const cases = 100
	data := c.Bundle(0, cases)
	b, err := stix.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Objects) != cases*CaseSize {
		t.Fatalf("bundle has %d objects, want %d", len(b.Objects), cases*CaseSize)
	}
	v := stix.Validator{Address: address.Canonical}
	ids := map[string]bool{}
	types := map[string]int{}
	tlps := map[stix.TLP]int{}
	shared := 0
	for i, o := range b.Objects {
		if err := v.Validate(o); err != nil {
			t.Fatalf("objects[%d]: %v", i, err)
		}
		if ids[o.ID] {
			t.Fatalf("objects[%d]: duplicate id %s", i, o.ID)
		}
		ids[o.ID] = true
		types[o.Type]++
		tlps[o.TLP()]++
		if len(o.Recipients()) > 0 {
			shared++
		}
		if o.Type == stix.TypeCryptocurrencyWallet {
			id, ok, err := stix.DeterministicID(o)
			if err != nil || !ok || id != o.ID {
				t.Fatalf("objects[%d]: id %s, deterministic id %s (%v, %v)", i, o.ID, id, ok, err)
			}
		}
	}
	avg := float64(len(data)) / float64(len(b.Objects))
	if avg < 600 || avg > 900 {
		t.Errorf("objects average %.0f bytes, want 600 to 900", avg)
	}
	t.Logf("%d objects, %.0f bytes each on average, types %v, TLP %v, %d shared", len(b.Objects), avg, types, tlps, shared)
	if got, want := VisibleCases(cases), cases*2/3; got < want-4 || got > want+4 {
		t.Errorf("VisibleCases(%d) = %d, want about %d", cases, got, want)
	}
	visible := 0
	for k := range cases {
		if tlp, sh := CaseTLP(k); tlp == stix.TLPGreen || sh {
			visible++
		}
	}
	if visible != VisibleCases(cases) {
		t.Errorf("CaseTLP gives %d visible cases, VisibleCases %d", visible, VisibleCases(cases))
	}

	// The same corpus gives the same bytes; another seed, other ids.
	if again := c.Bundle(0, cases); string(again) != string(data) {
		t.Error("Bundle is not deterministic")
	}
	other := Corpus{Seed: "other", Owner: c.Owner, Recipient: c.Recipient}
	var ob struct{ Objects []struct{ ID string } }
	if err := json.Unmarshal(other.Bundle(0, 1), &ob); err != nil {
		t.Fatal(err)
	}
	for _, o := range ob.Objects {
		if ids[o.ID] {
			t.Errorf("seed %q repeats id %s", other.Seed, o.ID)
		}
	}
}
