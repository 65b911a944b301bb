package trace_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/trace"
)

// split builds one transaction with a tainted input of 100 and a clean one
// of 50, paying X 60 (an exchange) and Y 70 (kept, unspent), with a fee of
// 20: the shape on which the models differ most.
func split(t *testing.T) *chainBuilder {
	b := newBuilder(t, "bitcoin-regtest")
	b.utxo("cb0", nil, out{"thief", 100})
	b.mine()
	b.utxo("cb1", nil, out{"user", 50})
	b.mine()
	b.utxo("A", []string{"cb0:0", "cb1:0"}, out{"exchange-x", 60}, out{"wallet-y", 70})
	b.mine()
	return b
}

var exchangeLabels = map[string]trace.Label{
	"exchange-x":    {Entity: "Exchange X", Category: "exchange"},
	eth("exchange"): {Entity: "Exchange E", Category: "exchange"},
}

// TestUTXOModels checks each model's split of taint 100 over outputs of
// 60 and 70 and a fee of 20, computed by hand:
//
//	FIFO:    inputs [taint 100][clean 50] over [X 60][Y 70][fee 20]: X 60, Y 40, fee 0
//	LIFO:    inputs [clean 50][taint 100]: X 10, Y 70, fee 20
//	TIHO:    [taint 100][clean 50] over the largest first, [Y 70][X 60][fee]: Y 70, X 30, fee 0
//	haircut: X 100*60/150 = 40, Y 46.67, fee 13.33: rounded down 40 + 46 + 13 = 99; the unit left goes to
//	         the largest remainder (Y: 7000 mod 150 = 100; fee: 2000 mod 150 = 50): Y 47
//	poison:  every output wholly: X 60, Y 70, fee 20
func TestUTXOModels(t *testing.T) {
	b := split(t)
	seed := []trace.Seed{{Kind: trace.SeedOutput, Output: hash("cb0") + ":0"}}
	for _, tc := range []struct {
		model             trace.Model
		x, y, fee, seeded int64
	}{
		{trace.FIFO, 60, 40, 0, 100},
		{trace.LIFO, 10, 70, 20, 100},
		{trace.TIHO, 30, 70, 0, 100},
		{trace.Haircut, 40, 47, 13, 100},
		{trace.Poison, 60, 70, 20, 100},
	} {
		t.Run(string(tc.model), func(t *testing.T) {
			res, err := trace.New(b.st).Trace(context.Background(), b.chain, seed, trace.Options{Model: tc.model, Labels: exchangeLabels})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Endpoints) != 1 || res.Endpoints[0].Address != "exchange-x" || res.Endpoints[0].Amount.Int64() != tc.x {
				t.Fatalf("endpoints %+v, want exchange-x %d", res.Endpoints, tc.x)
			}
			e := res.Endpoints[0]
			if e.Entity != "Exchange X" || e.Category != "exchange" || e.Hops != 1 || e.FirstTx != hash("A") || e.FirstBlock != 2 {
				t.Errorf("endpoint %+v", e)
			}
			if len(e.Path) != 2 || e.Path[0] != hash("cb0") || e.Path[1] != hash("A") {
				t.Errorf("path %v", e.Path)
			}
			unspent := res.StopTotals[trace.StopUnspent]
			if unspent.Amount.Int64() != tc.y || res.Unspent.Int64() != tc.y {
				t.Errorf("unspent %v / %v, want %d", unspent.Amount, res.Unspent, tc.y)
			}
			if res.Fees.Int64() != tc.fee {
				t.Errorf("fees %v, want %d", res.Fees, tc.fee)
			}
			if res.Tainted.Int64() != tc.seeded {
				t.Errorf("tainted %v, want %d", res.Tainted, tc.seeded)
			}
			if tc.model != trace.Poison {
				conserved(t, res)
			}
			if tc.model == trace.FIFO || tc.model == trace.LIFO || tc.model == trace.TIHO {
				if len(e.BySeed) != 1 || e.BySeed[0].Seed != 0 || e.BySeed[0].Amount.Int64() != tc.x {
					t.Errorf("by seed %+v", e.BySeed)
				}
			}
		})
	}
}

// conserved checks that the taint seeded is exactly what reached the
// endpoints, the stops and the fees.
func conserved(t *testing.T, res *trace.Result) {
	t.Helper()
	sum := new(big.Int).Set(res.Fees.Int)
	for _, e := range res.Endpoints {
		sum.Add(sum, e.Amount.Int)
	}
	for _, s := range res.StopTotals {
		sum.Add(sum, s.Amount.Int)
	}
	if sum.Cmp(res.Tainted.Int) != 0 {
		t.Errorf("taint not conserved: seeded %v, accounted %v (endpoints %+v, stops %+v, fees %v)", res.Tainted, sum, res.Endpoints, res.StopTotals, res.Fees)
	}
}

// TestAccountModels traces ETH from a thief that held 50 clean wei
// before it received 100 stolen wei, then sent 120 to a middle address
// (paying a fee of 10) that sent the 120 on to an exchange. By hand:
//
//	FIFO:    lots [clean 50][stolen 100]; 120 takes 50 clean + 70 stolen; the fee 10 stolen; left 20 stolen
//	LIFO:    120 takes 100 stolen + 20 clean; the fee 10 clean; left 20 clean
//	TIHO:    stolen first: as LIFO here
//	haircut: 100*120/150 = 80 carried; taint 20 of balance 30; fee 20*10/30 = 6 (rounded down); left 14
//	poison:  the thief is flagged: 120 and the fee 10 wholly
func TestAccountModels(t *testing.T) {
	b := newBuilder(t, "ethereum")
	thief, victim, mid, exch, miner := eth("thief"), eth("victim"), eth("mid"), eth("exchange"), eth("miner")
	b.account("fund", xfer(eth("someone"), thief, 50, chain.Native))
	b.account("fund-victim", xfer(eth("someone"), victim, 1000, chain.Native))
	b.mine()
	b.account("theft", xfer(victim, thief, 100, chain.Native))
	b.mine()
	b.account("move", xfer(thief, mid, 120, chain.Native), xfer(thief, miner, 10, chain.Fee))
	b.mine()
	b.account("deposit", xfer(mid, exch, 120, chain.Native))
	b.mine()

	for _, tc := range []struct {
		model               trace.Model
		endpoint, fee, left int64
	}{
		{trace.FIFO, 70, 10, 20},
		{trace.LIFO, 100, 0, 0},
		{trace.TIHO, 100, 0, 0},
		{trace.Haircut, 80, 6, 14},
		{trace.Poison, 120, 10, 20},
	} {
		for _, seed := range []trace.Seed{
			{Kind: trace.SeedTx, Tx: "0x" + hash("theft")},
			{Kind: trace.SeedAddress, Address: thief, Asset: "ethereum:ETH", FromHeight: 1},
		} {
			t.Run(string(tc.model)+"/"+string(seed.Kind), func(t *testing.T) {
				res, err := trace.New(b.st).Trace(context.Background(), "ethereum", []trace.Seed{seed}, trace.Options{Model: tc.model, Labels: exchangeLabels})
				if err != nil {
					t.Fatal(err)
				}
				if res.Tainted.Int64() != 100 {
					t.Errorf("tainted %v, want 100", res.Tainted)
				}
				if len(res.Endpoints) != 1 || res.Endpoints[0].Address != exch || res.Endpoints[0].Amount.Int64() != tc.endpoint {
					t.Fatalf("endpoints %+v, want %s %d", res.Endpoints, exch, tc.endpoint)
				}
				if e := res.Endpoints[0]; e.Hops != 2 || e.FirstTx != "0x"+hash("deposit") || len(e.Path) != 3 {
					t.Errorf("endpoint %+v", e)
				}
				if res.Fees.Int64() != tc.fee {
					t.Errorf("fees %v, want %d", res.Fees, tc.fee)
				}
				if res.Unspent.Int64() != tc.left {
					t.Errorf("left with the thief %v, want %d", res.Unspent, tc.left)
				}
				if tc.model != trace.Poison {
					conserved(t, res)
				}
			})
		}
	}
}

// TestSTIX checks that a trace written as STIX is valid, marked as asked,
// and says how much reached each endpoint.
func TestSTIX(t *testing.T) {
	b := peels(t)
	res, err := trace.New(b.st).Trace(context.Background(), b.chain, []trace.Seed{{Kind: trace.SeedOutput, Output: hash("cb0") + ":0"}}, trace.Options{Labels: exchangeLabels})
	if err != nil {
		t.Fatal(err)
	}
	const inc = "incident--00000000-0000-4000-8000-000000000001"
	const peer = "identity--00000000-0000-4000-8000-000000000002"
	objs, err := res.STIX(trace.ShareOptions{TLP: stix.TLPAmber, Recipients: []string{peer}, Incident: inc})
	if err != nil {
		t.Fatal(err)
	}
	var report *stix.Object
	roles := map[string]string{}
	wallets := map[string]string{}
	for _, o := range objs {
		if o.TLP() != stix.TLPAmber || len(o.Recipients()) != 1 || o.Recipients()[0] != peer {
			t.Errorf("%s: marking %v recipients %v", o.ID, o.TLP(), o.Recipients())
		}
		switch o.Type {
		case "report":
			report = o
		case stix.TypeCryptocurrencyWallet:
			wallets[o.ID] = o.String("value")
		case "relationship":
			if o.String("target_ref") != inc {
				t.Errorf("relationship %s targets %s", o.ID, o.String("target_ref"))
			}
			roles[o.String("source_ref")] = o.WalletRole()
		}
	}
	if report == nil || !strings.Contains(report.String("description"), "1000 base units") {
		t.Fatalf("report %v", report)
	}
	got := map[string]string{}
	for id, role := range roles {
		got[wallets[id]] = role
	}
	// The exchange is where the taint was cashed out; thief2 and thief3
	// carried it there. a1, a2 and the OP_RETURN are off the path.
	want := map[string]string{"exchange-x": "cash-out", "thief2": "laundering", "thief3": "laundering", "thief": "laundering"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("roles %v, want %v", got, want)
	}
	if refs := report.Strings("object_refs"); len(refs) != len(objs) { // every other object and the incident
		t.Errorf("report refs %d, objects %d", len(refs), len(objs))
	}
}
