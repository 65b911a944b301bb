package screen_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

func h(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:])
}

func regtest(t *testing.T, name string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	a, err := btcutil.NewAddressWitnessPubKeyHash(sum[:20], &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// fixture is a node with two organisations, alpha and bravo, and a chain
// where a thief's 100,000 sat are split: 60,000 to a deposit address that
// also received 40,000 clean sat, 39,000 to a wallet, 1,000 fee.
type fixture struct {
	svc                  *intel.Service
	st                   *chainstore.Store
	alpha, bravo         access.Viewer
	thief, deposit, wall string
}

const ts = `"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z"`

func mustFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intel.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, op, err := intel.Bootstrap(ctx, db, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	opV := access.Viewer{Org: op.ID, Role: access.Admin}
	f := &fixture{svc: svc, thief: regtest(t, "thief"), deposit: regtest(t, "deposit"), wall: regtest(t, "wallet")}
	for _, p := range []struct {
		name string
		v    *access.Viewer
	}{{"alpha", &f.alpha}, {"bravo", &f.bravo}} {
		org, err := svc.CreateOrg(ctx, opV, p.name, "")
		if err != nil {
			t.Fatal(err)
		}
		*p.v = access.Viewer{Org: org.ID, Role: access.Contributor}
	}
	f.st, err = chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	out := func(i uint32, addr string, v int64) chain.Output {
		return chain.Output{Index: i, Value: v, Kind: "p2wpkh", Address: addr, Key: addr}
	}
	blocks := []*chain.Block{
		{Chain: "bitcoin-regtest", Height: 0, Hash: h("b0"), Parent: h("none"), Time: time.Unix(1516924800, 0), Txs: []chain.Tx{
			{Hash: h("cb0"), Coinbase: true, Outputs: []chain.Output{out(0, f.thief, 100_000)}}}},
		{Chain: "bitcoin-regtest", Height: 1, Hash: h("b1"), Parent: h("b0"), Time: time.Unix(1516925400, 0), Txs: []chain.Tx{
			{Hash: h("cb1"), Coinbase: true, Outputs: []chain.Output{out(0, f.deposit, 40_000)}},
			{Hash: h("move"), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: h("cb0")}}}, Outputs: []chain.Output{out(0, f.deposit, 60_000), out(1, f.wall, 39_000)}}}},
	}
	if err := f.st.ApplyFrom(ctx, "test", blocks...); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) submit(t *testing.T, v access.Viewer, objs ...string) {
	t.Helper()
	var parsed []*stix.Object
	for _, o := range objs {
		p, err := stix.Parse([]byte(o))
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, p)
	}
	if _, err := f.svc.Submit(context.Background(), v, parsed, intel.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestScreen(t *testing.T) {
	f := mustFixture(t)
	const (
		inc    = "incident--00000000-0000-4000-8000-0000000000d1"
		wallet = "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000d2"
	)
	// alpha's incident, TLP:AMBER for alpha alone: the thief's wallet is
	// its theft destination.
	f.submit(t, f.alpha,
		fmt.Sprintf(`{"type":"incident","id":%q,%s,"name":"Theft from Exchange V","object_marking_refs":[%q]}`, inc, ts, stix.TLPAmberID),
		fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":"bitcoin-regtest","value":%q,"object_marking_refs":[%q]}`, wallet, f.thief, stix.TLPAmberID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000d3",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}}`, ts, wallet, inc, stix.TLPAmberID, stix.RoleExtensionID),
	)
	// bravo's GREEN indicator flags the wallet: everyone sees it.
	f.submit(t, f.bravo,
		fmt.Sprintf(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000d4",%s,"pattern":"[cryptocurrency-wallet:value = '%s' AND cryptocurrency-wallet:chain = 'bitcoin-regtest']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","indicator_types":["malicious-activity"],"confidence":50,"object_marking_refs":[%q]}`, ts, f.wall, stix.TLPGreenID),
	)
	s := screen.New(f.svc, f.st, screen.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		v        access.Viewer
		addr     string
		level    string
		score    int
		direct   int
		indirect string // amount, or ""
	}{
		// 60,000 of the 100,000 the deposit address received were stolen:
		// 90 * 0.6 = 54, high.
		{"deposit as alpha", f.alpha, f.deposit, "high", 54, 0, "60000"},
		// bravo may not see alpha's incident: nothing.
		{"deposit as bravo", f.bravo, f.deposit, "none", 0, 0, ""},
		// The theft destination itself: flagged, 100.
		{"thief as alpha", f.alpha, f.thief, "severe", 100, 1, ""},
		{"thief as bravo", f.bravo, f.thief, "none", 0, 0, ""},
		// The wallet: all it received is stolen (90 indirect); bravo's
		// indicator weighs 90 at confidence 50: 45.
		{"wallet as alpha", f.alpha, f.wall, "severe", 90, 1, "39000"},
		{"wallet as bravo", f.bravo, f.wall, "medium", 45, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Screen(ctx, tc.v, "bitcoin-regtest", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Level != tc.level || r.Score != tc.score || len(r.Direct) != tc.direct {
				t.Errorf("%+v, want level %s score %d, %d direct", r, tc.level, tc.score, tc.direct)
			}
			switch {
			case tc.indirect == "" && len(r.Indirect) != 0:
				t.Errorf("indirect %+v, want none", r.Indirect)
			case tc.indirect != "":
				if len(r.Indirect) != 1 || r.Indirect[0].Amount.String() != tc.indirect || r.Indirect[0].Incident != inc || r.Indirect[0].Hops != 1 ||
					r.Indirect[0].IncidentName != "Theft from Exchange V" || len(r.Indirect[0].Path) == 0 {
					t.Errorf("indirect %+v, want %s from %s", r.Indirect, tc.indirect, inc)
				}
			}
		})
	}

	rs, err := s.Batch(ctx, f.alpha, "bitcoin-regtest", []string{f.deposit, f.thief, regtest(t, "nobody")})
	if err != nil || len(rs) != 3 || rs[0].Level != "high" || rs[1].Level != "severe" || rs[2].Level != "none" {
		t.Errorf("batch: %+v, %v", rs, err)
	}
	for _, tc := range []struct {
		name  string
		chain string
		addrs []string
		code  fault.Code
	}{
		{"bad checksum", "bitcoin-regtest", []string{f.deposit[:len(f.deposit)-1] + "q"}, fault.Invalid},
		{"unknown chain", "moon", []string{f.deposit}, fault.Invalid},
		{"empty", "bitcoin-regtest", nil, fault.Invalid},
		{"too many", "bitcoin-regtest", make([]string, screen.MaxBatch+1), fault.TooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Batch(ctx, f.alpha, tc.chain, tc.addrs); fault.CodeOf(err) != tc.code {
				t.Errorf("err %v, want %s", err, tc.code)
			}
		})
	}
}

// TestScreenCluster checks that a flag on an address of the cluster
// counts for the others, at half weight, and says which address carries
// it.
func TestScreenCluster(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	other := regtest(t, "other")
	// other's coins and the flagged wallet's are spent together: one
	// entity (common-input ownership).
	blk := &chain.Block{Chain: "bitcoin-regtest", Height: 2, Hash: h("b2"), Parent: h("b1"), Time: time.Unix(1516926000, 0), Txs: []chain.Tx{
		{Hash: h("cb2"), Coinbase: true, Outputs: []chain.Output{{Index: 0, Value: 10_000, Kind: "p2wpkh", Address: other, Key: other}}},
		{Hash: h("joint"), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: h("move"), Index: 1}}, {Prev: chain.Outpoint{Tx: h("cb2")}}},
			Outputs: []chain.Output{{Index: 0, Value: 48_000, Kind: "p2wpkh", Address: regtest(t, "payee"), Key: regtest(t, "payee")}}},
	}}
	if err := f.st.Apply(ctx, blk); err != nil {
		t.Fatal(err)
	}
	f.submit(t, f.bravo,
		fmt.Sprintf(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-0000000000e4",%s,"pattern":"[cryptocurrency-wallet:value = '%s' AND cryptocurrency-wallet:chain = 'bitcoin-regtest']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","indicator_types":["malicious-activity"],"object_marking_refs":[%q]}`, ts, f.wall, stix.TLPGreenID),
	)
	s := screen.New(f.svc, f.st, screen.Options{Clusters: cluster.NewIndex(f.st)})
	r, err := s.Screen(ctx, f.bravo, "bitcoin-regtest", other)
	if err != nil {
		t.Fatal(err)
	}
	// malicious-activity weighs 90; through the cluster, half: 45.
	if r.ClusterSize != 2 || len(r.Direct) != 1 || r.Direct[0].Via != f.wall || r.Score != 45 || r.Level != "medium" {
		t.Errorf("screening of a cluster member: %+v", r)
	}
}
