package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/store/sqlite"
)

const chainID = "bitcoin-regtest"

func h(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:])
}

// regtest returns a valid regtest P2WPKH address for a name.
func regtest(t testing.TB, name string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	a, err := btcutil.NewAddressWitnessPubKeyHash(sum[:20], &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

const ts = `"spec_version":"2.1","created":"2018-01-26T00:00:00.000Z","modified":"2018-01-26T00:00:00.000Z"`

// fixture is an intel service with an operator and an exchange, an alerts
// service and a chain index in memory.
type fixture struct {
	intel    *intel.Service
	op       access.Viewer
	exchange access.Viewer
	other    access.Viewer
	store    *Store
	svc      *Service
	chain    *chainstore.Store
	addr     map[string]string // name -> address
}

func mustFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in, op, err := intel.Bootstrap(ctx, st, "operator", intel.Options{Address: address.Canonical})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{intel: in, op: access.Viewer{Org: op.ID, Role: access.Admin}, addr: map[string]string{}}
	ex, err := in.CreateOrg(ctx, f.op, "exchange", "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := in.CreateOrg(ctx, f.op, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	f.exchange = access.Viewer{Org: ex.ID, Role: access.Contributor}
	f.other = access.Viewer{Org: other.ID, Role: access.Contributor}
	f.store, err = OpenStore(ctx, Memory, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	f.svc = NewService(f.store, in, Options{Operator: op.ID})
	f.chain, err = chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.chain.Close() })
	for _, n := range []string{"victim", "thief", "a1", "a2", "p1", "p2", "clean", "deposit", "change", "elsewhere"} {
		f.addr[n] = regtest(t, n)
	}
	return f
}

func (f *fixture) submit(t testing.TB, v access.Viewer, objs ...string) {
	t.Helper()
	var parsed []*stix.Object
	for _, o := range objs {
		p, err := stix.Parse([]byte(o))
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, p)
	}
	if _, err := f.intel.Submit(context.Background(), v, parsed, intel.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
}

const (
	incidentID = "incident--00000000-0000-4000-8000-0000000000a1"
	actorID    = "threat-actor--00000000-0000-4000-8000-0000000000a2"
	indicator  = "indicator--00000000-0000-4000-8000-0000000000a6"
)

// incident submits, as the operator and TLP:GREEN, a theft whose
// destination is the thief's address, attributed to an actor, and an
// indicator flagging the thief's wallet.
func (f *fixture) incident(t testing.TB) {
	t.Helper()
	wallet := "cryptocurrency-wallet--00000000-0000-5000-8000-0000000000a3"
	f.submit(t, f.op,
		fmt.Sprintf(`{"type":"incident","id":%q,%s,"name":"Theft from Exchange V","object_marking_refs":[%q]}`, incidentID, ts, stix.TLPGreenID),
		fmt.Sprintf(`{"type":"threat-actor","id":%q,%s,"name":"Lazarus Group","object_marking_refs":[%q]}`, actorID, ts, stix.TLPGreenID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000a4",%s,"relationship_type":"attributed-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q]}`, ts, incidentID, actorID, stix.TLPGreenID),
		fmt.Sprintf(`{"type":"cryptocurrency-wallet","id":%q,"chain":%q,"value":%q,"object_marking_refs":[%q]}`, wallet, chainID, f.addr["thief"], stix.TLPGreenID),
		fmt.Sprintf(`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-0000000000a5",%s,"relationship_type":"related-to","source_ref":%q,"target_ref":%q,"object_marking_refs":[%q],"extensions":{%q:{"extension_type":"property-extension","role":"theft-destination"}}}`, ts, wallet, incidentID, stix.TLPGreenID, stix.RoleExtensionID),
		fmt.Sprintf(`{"type":"indicator","id":%q,%s,"pattern":"[cryptocurrency-wallet:value = '%s' AND cryptocurrency-wallet:chain = '%s']","pattern_type":"stix","valid_from":"2018-01-26T00:00:00Z","object_marking_refs":[%q]}`, indicator, ts, f.addr["thief"], chainID, stix.TLPGreenID),
	)
}

func out(addr string, v int64, i uint32) chain.Output {
	return chain.Output{Index: i, Value: v, Kind: "p2wpkh", Address: addr, Key: addr}
}

func spend(tx string, i uint32) chain.Input {
	return chain.Input{Prev: chain.Outpoint{Tx: tx, Index: i}}
}

// block returns block height of the theft chain, with parent the block
// below (named b<height-1>) and the given transactions.
func block(height int64, name string, parent string, txs ...chain.Tx) *chain.Block {
	return &chain.Block{Chain: chainID, Height: height, Hash: h(name), Parent: h(parent), Time: time.Unix(1516924800+height*600, 0), Txs: txs}
}

// theft returns the blocks of a theft and a peel chain: the victim's
// 1,000,000 sat go to the thief (900,000), then through a1 and a2 with a
// 99,000 peel each (fee 1,000 each hop).
func (f *fixture) theft() []*chain.Block {
	a := f.addr
	return []*chain.Block{
		block(0, "b0", "none", chain.Tx{Hash: h("cb0"), Coinbase: true, Outputs: []chain.Output{out(a["victim"], 1_000_000, 0), out(a["clean"], 300_000, 1)}}),
		block(1, "b1", "b0", chain.Tx{Hash: h("cb1"), Coinbase: true, Outputs: []chain.Output{out(a["elsewhere"], 50, 0)}},
			chain.Tx{Hash: h("theft"), Inputs: []chain.Input{spend(h("cb0"), 0)}, Outputs: []chain.Output{out(a["thief"], 900_000, 0), out(a["victim"], 99_000, 1)}}),
		block(2, "b2", "b1", chain.Tx{Hash: h("cb2"), Coinbase: true, Outputs: []chain.Output{out(a["elsewhere"], 50, 0)}},
			chain.Tx{Hash: h("peel1"), Inputs: []chain.Input{spend(h("theft"), 0)}, Outputs: []chain.Output{out(a["a1"], 800_000, 0), out(a["p1"], 99_000, 1)}}),
		block(3, "b3", "b2", chain.Tx{Hash: h("cb3"), Coinbase: true, Outputs: []chain.Output{out(a["elsewhere"], 50, 0)}},
			chain.Tx{Hash: h("peel2"), Inputs: []chain.Input{spend(h("peel1"), 0)}, Outputs: []chain.Output{out(a["a2"], 700_000, 0), out(a["p2"], 99_000, 1)}}),
	}
}

// deposit returns block 4: a2's 700,000 (tainted) and 300,000 clean pay
// 500,000 to the deposit address and 499,000 change (fee 1,000). FIFO:
// 500,000 of the deposit is tainted; haircut: 70% of it, 350,000.
func (f *fixture) deposit(name string) *chain.Block {
	a := f.addr
	return block(4, name, "b3", chain.Tx{Hash: h("cb4" + name), Coinbase: true, Outputs: []chain.Output{out(a["elsewhere"], 50, 0)}},
		chain.Tx{Hash: h("deposit" + name), Inputs: []chain.Input{spend(h("peel2"), 0), spend(h("cb0"), 1)},
			Outputs: []chain.Output{out(a["deposit"], 500_000, 0), out(a["change"], 499_000, 1)}})
}

func (f *fixture) apply(t testing.TB, blocks ...*chain.Block) {
	t.Helper()
	if err := f.chain.ApplyFrom(context.Background(), "test", blocks...); err != nil {
		t.Fatal(err)
	}
}
