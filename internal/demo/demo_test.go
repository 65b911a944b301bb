package demo

import (
	"bufio"
	"context"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/sharedtest"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

const lazarusName = "Lazarus Group"

// testBundles returns the bundles with fresh organisation ids, as Load
// would see them.
func testBundles(t *testing.T) (fiuID, exchangeID string, fiu, exchange *stix.Bundle) {
	t.Helper()
	fiuID, exchangeID = stix.NewID("identity"), stix.NewID("identity")
	bs, err := bundles(fiuID, exchangeID)
	if err != nil {
		t.Fatal(err)
	}
	return fiuID, exchangeID, bs[0], bs[1]
}

func TestPlaceholdersAreIdentityIDs(t *testing.T) {
	for _, id := range []string{fiuPlaceholder, exchangePlaceholder} {
		if !stix.IsID(id) || stix.TypeOf(id) != "identity" {
			t.Errorf("placeholder %s is not an identity id", id)
		}
	}
	for name, placeholder := range map[string]string{FIU: fiuPlaceholder, Exchange: exchangePlaceholder} {
		raw, err := data.ReadFile("data/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), placeholder) {
			t.Errorf("%s.json does not name its owner by the placeholder %s", name, placeholder)
		}
	}
}

func TestBundlesValidate(t *testing.T) {
	fiuID, exchangeID, fiu, exchange := testBundles(t)
	v := stix.Validator{Address: address.Canonical}
	seen := map[string]bool{}
	for _, tc := range []struct {
		b     *stix.Bundle
		owner string
	}{{fiu, fiuID}, {exchange, exchangeID}} {
		for _, o := range tc.b.Objects {
			if err := v.Validate(o); err != nil {
				t.Errorf("invalid: %v", err)
			}
			if seen[o.ID] {
				t.Errorf("%s appears twice", o.ID)
			}
			seen[o.ID] = true
			raw, _ := o.MarshalJSON()
			if strings.Contains(string(raw), fiuPlaceholder) || strings.Contains(string(raw), exchangePlaceholder) {
				t.Errorf("%s still holds a placeholder", o.ID)
			}
			if o.String("spec_version") != "2.1" {
				t.Errorf("%s: spec_version %q", o.ID, o.String("spec_version"))
			}
			refs := o.Strings("object_marking_refs")
			if len(refs) != 1 || !slices.Contains([]string{stix.TLPClearID, stix.TLPGreenID, stix.TLPAmberID}, refs[0]) {
				t.Errorf("%s: object_marking_refs %v, want one TLP 2.0 id", o.ID, refs)
			}
			if stix.Versioned(o) {
				if got := o.CreatedByRef(); got != tc.owner {
					t.Errorf("%s: created_by_ref %q, want the owner %s", o.ID, got, tc.owner)
				}
				if _, ok := o.Time("created"); !ok {
					t.Errorf("%s: no created timestamp", o.ID)
				}
			}
			for _, r := range o.Recipients() {
				if r != exchangeID {
					t.Errorf("%s: recipient %s is not the exchange", o.ID, r)
				}
			}
		}
	}

	// Every reference inside the demo points at an object of the demo, an
	// organisation, or a built-in.
	for _, b := range []*stix.Bundle{fiu, exchange} {
		for _, o := range b.Objects {
			var refs []string
			for _, p := range []string{"source_ref", "target_ref"} {
				if s := o.String(p); s != "" {
					refs = append(refs, s)
				}
			}
			refs = append(refs, o.Strings("object_refs")...)
			for _, r := range refs {
				if !seen[r] {
					t.Errorf("%s refers to %s, which the demo does not hold", o.ID, r)
				}
			}
		}
	}

	// The report lists every other object of the FIU's bundle except the
	// AMBER ones, which a TLP:CLEAR report does not point at.
	report := fiu.Objects[0]
	if report.Type != "report" || report.TLP() != stix.TLPClear {
		t.Fatalf("first FIU object is %s (%s), want the TLP:CLEAR report", report.ID, report.TLP())
	}
	listed := report.Strings("object_refs")
	for _, o := range fiu.Objects[1:] {
		in := slices.Contains(listed, o.ID)
		if want := o.TLP() != stix.TLPAmber; in != want {
			t.Errorf("report object_refs contains %s (%s): %v, want %v", o.ID, o.TLP().Label(), in, want)
		}
	}
	if len(listed) != len(fiu.Objects)-1-2 {
		t.Errorf("report lists %d objects, want %d", len(listed), len(fiu.Objects)-3)
	}
}

// lazarusTagPack returns the addresses of the GraphSense TagPack of the
// OFAC action of 2 March 2020.
func lazarusTagPack(t *testing.T) (addrs []string, source string) {
	t.Helper()
	f, err := os.Open(sharedtest.Path(t, "tagpacks", "lazarus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if a, ok := strings.CutPrefix(line, "- address:"); ok {
			addrs = append(addrs, strings.Trim(strings.TrimSpace(a), `'"`))
		}
		if s, ok := strings.CutPrefix(line, "source:"); ok {
			source = strings.TrimSpace(s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return addrs, source
}

func TestWallets(t *testing.T) {
	_, _, fiu, exchange := testBundles(t)
	tagged, source := lazarusTagPack(t)
	var n int
	for _, o := range fiu.Objects {
		switch {
		case o.Type == stix.TypeCryptocurrencyWallet:
			n++
			id, ok, err := stix.DeterministicID(o)
			if err != nil || !ok {
				t.Fatalf("%s: no deterministic id: %v", o.ID, err)
			}
			if id != o.ID {
				t.Errorf("wallet %s has id %s, want the deterministic %s", o.String("value"), o.ID, id)
			}
			if o.String("chain") != "bitcoin" || !slices.Contains(tagged, o.String("value")) {
				t.Errorf("wallet %s:%s is not a Bitcoin address of lazarus.yaml", o.String("chain"), o.String("value"))
			}
			if o.Extension(stix.WalletExtensionID) == nil {
				t.Errorf("wallet %s lacks the wallet extension", o.ID)
			}
		case o.Type == "relationship" && o.String("relationship_type") == "uses":
			var refs []intel.ExternalRef
			if _, err := o.Decode("external_references", &refs); err != nil || len(refs) == 0 || refs[0].URL != source {
				t.Errorf("%s does not cite the OFAC action %s: %v", o.ID, source, refs)
			}
		}
	}
	if n < 2 || n > 3 {
		t.Errorf("%d wallets, want two or three", n)
	}
	ind := exchange.Objects[0]
	if ind.Type != "indicator" {
		t.Fatalf("first exchange object is a %s", ind.Type)
	}
	found := false
	for _, a := range tagged {
		if strings.Contains(ind.String("pattern"), "'"+a+"'") {
			found = true
		}
	}
	if !found {
		t.Errorf("indicator pattern %s names no address of lazarus.yaml", ind.String("pattern"))
	}
}

// node is a node with the demo loaded, on a real SQLite store.
type node struct {
	svc      *intel.Service
	operator access.Viewer
	fiu      access.Viewer
	exchange access.Viewer
	orgs     []access.Org
	bundles  []*stix.Bundle
}

func newNode(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cointrail.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{svc: svc, operator: access.Viewer{Org: op.ID, Role: access.Admin}}
	start := time.Now()
	n.orgs, err = Load(ctx, n.svc, n.operator)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Logf("Load took %v", time.Since(start))
	if len(n.orgs) != 2 || n.orgs[0].Name != FIU || n.orgs[1].Name != Exchange {
		t.Fatalf("Load returned %+v, want the organisations %s and %s", n.orgs, FIU, Exchange)
	}
	n.fiu = access.Viewer{Org: n.orgs[0].ID, Role: access.Reader}
	n.exchange = access.Viewer{Org: n.orgs[1].ID, Role: access.Reader}
	n.bundles, err = bundles(n.orgs[0].ID, n.orgs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// find returns the one object of the bundle of type typ and marking tlp.
func find(t *testing.T, b *stix.Bundle, typ string, tlp stix.TLP) *stix.Object {
	t.Helper()
	var out *stix.Object
	for _, o := range b.Objects {
		if o.Type == typ && o.TLP() == tlp {
			if out != nil {
				t.Fatalf("more than one %s %s", tlp.Label(), typ)
			}
			out = o
		}
	}
	if out == nil {
		t.Fatalf("no %s %s", tlp.Label(), typ)
	}
	return out
}

func (n *node) sees(t *testing.T, v access.Viewer, id string) bool {
	t.Helper()
	_, err := n.svc.Get(context.Background(), v, id)
	switch {
	case err == nil:
		return true
	case fault.CodeOf(err) == fault.NotFound:
		return false
	}
	t.Fatalf("get %s: %v", id, err)
	return false
}

// visible lists the ids of the demo objects (not the built-ins nor the
// organisations' own identities) that v may see, by TLP.
func (n *node) visible(t *testing.T, v access.Viewer) (ids map[string]bool, byTLP map[stix.TLP]int) {
	t.Helper()
	demo := map[string]bool{}
	for _, b := range n.bundles {
		for _, o := range b.Objects {
			demo[o.ID] = true
		}
	}
	ids, byTLP = map[string]bool{}, map[stix.TLP]int{}
	page, err := n.svc.List(context.Background(), v, intel.ListQuery{Limit: intel.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != "" {
		t.Fatal("more than one page")
	}
	for _, r := range page.Records {
		if demo[r.ID] && !ids[r.ID] {
			ids[r.ID] = true
			byTLP[r.TLP]++
		}
	}
	return ids, byTLP
}

func TestLoadVisibility(t *testing.T) {
	n := newNode(t)
	fiuB, excB := n.bundles[0], n.bundles[1]
	sharedNote := find(t, fiuB, "note", stix.TLPAmber)
	opinion := find(t, fiuB, "opinion", stix.TLPAmber)
	indicator := find(t, excB, "indicator", stix.TLPAmber)
	if !slices.Equal(sharedNote.Recipients(), []string{n.orgs[1].ID}) || len(opinion.Recipients()) != 0 || len(indicator.Recipients()) != 0 {
		t.Fatalf("recipients: note %v, opinion %v, indicator %v", sharedNote.Recipients(), opinion.Recipients(), indicator.Recipients())
	}
	for _, c := range []struct {
		who  string
		v    access.Viewer
		obj  *stix.Object
		want bool
	}{
		{"fiu", n.fiu, opinion, true},
		{"fiu", n.fiu, sharedNote, true},
		{"fiu", n.fiu, indicator, false},
		{"exchange", n.exchange, sharedNote, true},
		{"exchange", n.exchange, opinion, false},
		{"exchange", n.exchange, indicator, true},
		{"operator", n.operator, sharedNote, false},
		{"operator", n.operator, opinion, false},
		{"operator", n.operator, indicator, false},
		{"anonymous", access.Viewer{}, sharedNote, false},
	} {
		if got := n.sees(t, c.v, c.obj.ID); got != c.want {
			t.Errorf("%s sees the %s %s: %v, want %v", c.who, c.obj.TLP().Label(), c.obj.Type, got, c.want)
		}
	}

	total := 0
	for _, b := range n.bundles {
		total += len(b.Objects)
	}
	fiuIDs, fiuTLP := n.visible(t, n.fiu)
	excIDs, excTLP := n.visible(t, n.exchange)
	anonIDs, anonTLP := n.visible(t, access.Viewer{})
	t.Logf("demo objects: %d; the FIU sees %d %v, the exchange %d %v, anonymous %d %v",
		total, len(fiuIDs), fiuTLP, len(excIDs), excTLP, len(anonIDs), anonTLP)
	if len(fiuIDs) != total-1 || fiuIDs[indicator.ID] {
		t.Errorf("the FIU sees %d of %d demo objects, want all but the exchange's indicator", len(fiuIDs), total)
	}
	if len(excIDs) != total-1 || excIDs[opinion.ID] {
		t.Errorf("the exchange sees %d of %d demo objects, want all but the FIU's opinion", len(excIDs), total)
	}
	if anonTLP[stix.TLPClear] != len(anonIDs) {
		t.Errorf("anonymous sees non-CLEAR objects: %v", anonTLP)
	}
	report := fiuB.Objects[0]
	actor := find(t, fiuB, "threat-actor", stix.TLPClear)
	for _, o := range []*stix.Object{report, actor} {
		if !anonIDs[o.ID] {
			t.Errorf("anonymous does not see the %s", o.Type)
		}
	}
	for _, b := range n.bundles {
		for _, o := range b.Objects {
			if o.TLP() == stix.TLPClear && !anonIDs[o.ID] {
				t.Errorf("anonymous does not see TLP:CLEAR %s %s", o.Type, o.ID)
			}
		}
	}

	// A second load conflicts with the organisations of the first.
	if _, err := Load(context.Background(), n.svc, n.operator); fault.CodeOf(err) != fault.Conflict {
		t.Errorf("second Load: %v, want a conflict", err)
	}
}

func TestLoadIncidents(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	incs, err := n.svc.Incidents(ctx, n.fiu)
	if err != nil {
		t.Fatal(err)
	}
	actor := find(t, n.bundles[0], "threat-actor", stix.TLPClear)
	if actor.String("name") != lazarusName {
		t.Fatalf("actor %q", actor.String("name"))
	}
	asia := 0
	total := new(big.Rat)
	var coincheck *intel.Incident
	for i := range incs {
		inc := &incs[i]
		t.Logf("%s %s loss_usd %s victims %v", inc.Date[:10], inc.Name, inc.LossUSD, inc.Victims)
		attributed := false
		for _, a := range inc.Actors {
			if a.ID == actor.ID && a.Name == lazarusName && a.Confidence != nil {
				attributed = true
			}
		}
		if !attributed {
			t.Errorf("%s is not attributed to %s: %+v", inc.Name, lazarusName, inc.Actors)
		}
		if strings.HasPrefix(inc.Name, "Coincheck") {
			coincheck = inc
		}
		date, err := stix.ParseTime(inc.Date)
		if err != nil {
			t.Errorf("%s: date %q: %v", inc.Name, inc.Date, err)
			continue
		}
		inAsia := len(inc.Victims) > 0
		for _, v := range inc.Victims {
			inAsia = inAsia && (v.Country == "JP" || v.Country == "KR")
		}
		if inAsia && !date.Before(time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)) {
			asia++
			if inc.LossUSD == "" {
				continue // no USD figure reported
			}
			usd, err := stix.ParseUSD(inc.LossUSD)
			if err != nil {
				t.Fatal(err)
			}
			total.Add(total, usd)
		}
	}
	if asia < 5 {
		t.Errorf("%d incidents against victims in Japan and Korea since January 2017, want at least five", asia)
	}
	if min := big.NewRat(570_000_000, 1); total.Cmp(min) <= 0 {
		t.Errorf("their losses total US$%s, want over US$570 million", total.FloatString(2))
	}
	t.Logf("%d incidents, %d in Asia since 2017, US$%s", len(incs), asia, total.FloatString(2))

	if coincheck == nil {
		t.Fatal("no Coincheck incident")
	}
	usd, _ := stix.ParseUSD(coincheck.LossUSD)
	if usd.Cmp(big.NewRat(530_000_000, 1)) < 0 {
		t.Errorf("Coincheck loss_usd %s, want at least 530,000,000", coincheck.LossUSD)
	}
	if !slices.ContainsFunc(coincheck.Losses, func(l stix.Loss) bool {
		return l.Asset == "nem:XEM" && l.Amount == "523000000000000"
	}) {
		t.Errorf("Coincheck losses %+v lack 523000000000000 nem:XEM", coincheck.Losses)
	}
	if len(coincheck.Victims) != 1 || coincheck.Victims[0].Country != "JP" {
		t.Errorf("Coincheck victims %+v", coincheck.Victims)
	}
}

func TestLoadFlags(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	indicator := find(t, n.bundles[1], "indicator", stix.TLPAmber)
	var wallets []string
	for _, o := range n.bundles[0].Objects {
		if o.Type == stix.TypeCryptocurrencyWallet {
			wallets = append(wallets, o.String("value"))
		}
	}

	flagsOf := func(v access.Viewer) map[string][]intel.Flag {
		fas, err := n.svc.Flags(ctx, v, intel.FlagQuery{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]intel.Flag{}
		for _, fa := range fas {
			out[fa.Chain+":"+fa.Address] = append(out[fa.Chain+":"+fa.Address], fa.Flags...)
		}
		return out
	}

	exc := flagsOf(n.exchange)
	target := "bitcoin:" + strings.TrimSuffix(indicator.String("pattern")[strings.LastIndex(indicator.String("pattern"), "= '")+3:], "']")
	if !slices.ContainsFunc(exc[target], func(f intel.Flag) bool { return f.Object == indicator.ID && f.Owner == n.orgs[1].ID }) {
		t.Errorf("the exchange's flags of %s lack its indicator: %+v", target, exc[target])
	}

	fiu := flagsOf(n.fiu)
	for _, w := range wallets {
		if !slices.ContainsFunc(fiu["bitcoin:"+w], func(f intel.Flag) bool { return f.Category == "actor" && f.Type == "relationship" }) {
			t.Errorf("the FIU's flags of %s lack the uses relationship: %+v", w, fiu["bitcoin:"+w])
		}
	}
	for addr, flags := range fiu {
		for _, f := range flags {
			if f.Object == indicator.ID {
				t.Errorf("the FIU sees the exchange's AMBER indicator flag on %s", addr)
			}
		}
	}
	t.Logf("flagged addresses: the FIU %d, the exchange %d", len(fiu), len(exc))
}
