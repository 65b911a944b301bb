package trace_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/trace"
)

// peels builds a short chain: a thief's 1,000 peeled twice (100 to a1,
// then 5 to a2), then 100 burned in an OP_RETURN output and 770 paid to an
// exchange, fees 10, 5 and 10.
func peels(t *testing.T) *chainBuilder {
	b := newBuilder(t, "bitcoin-regtest")
	b.utxo("cb0", nil, out{"thief", 1000})
	b.mine()
	b.utxo("P1", []string{"cb0:0"}, out{"a1", 100}, out{"thief2", 890})
	b.mine()
	b.utxo("P2", []string{"P1:1"}, out{"a2", 5}, out{"thief3", 880})
	b.mine()
	b.utxo("P3", []string{"P2:1"}, out{"", 100}, out{"exchange-x", 770})
	b.mine()
	return b
}

func TestStops(t *testing.T) {
	b := peels(t)
	from := []trace.Seed{{Kind: trace.SeedOutput, Output: hash("cb0") + ":0"}}
	for _, tc := range []struct {
		name     string
		seeds    []trace.Seed
		opts     trace.Options
		endpoint int64
		stops    map[string]int64
		fees     int64
	}{
		{"all", from, trace.Options{}, 770, map[string]int64{trace.StopUnspent: 105, trace.StopBurned: 100}, 25},
		{"address seed", []trace.Seed{{Kind: trace.SeedAddress, Address: "thief", Asset: "bitcoin-regtest:BTC"}}, trace.Options{}, 770,
			map[string]int64{trace.StopUnspent: 105, trace.StopBurned: 100}, 25},
		{"tx seed", []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0")}}, trace.Options{}, 770,
			map[string]int64{trace.StopUnspent: 105, trace.StopBurned: 100}, 25},
		{"hop limit", from, trace.Options{MaxHops: 2}, 0, map[string]int64{trace.StopUnspent: 105, trace.StopHops: 880}, 15},
		{"dust", from, trace.Options{Dust: big.NewInt(6)}, 770, map[string]int64{trace.StopUnspent: 100, trace.StopDust: 5, trace.StopBurned: 100}, 25},
		{"window", from, trace.Options{MaxHeight: 2}, 0, map[string]int64{trace.StopUnspent: 105, trace.StopWindow: 880}, 15},
		// 500 of the 1,000: FIFO keeps the taint at the front of each
		// output: a1 100, a2 5, the OP_RETURN 100, the exchange 295.
		{"partial seed", []trace.Seed{{Kind: trace.SeedOutput, Output: hash("cb0") + ":0", Amount: trace.Amount{Int: big.NewInt(500)}}}, trace.Options{}, 295,
			map[string]int64{trace.StopUnspent: 105, trace.StopBurned: 100}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Labels = exchangeLabels
			res, err := trace.New(b.st).Trace(context.Background(), b.chain, tc.seeds, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			for _, e := range res.Endpoints {
				got += e.Amount.Int64()
			}
			if got != tc.endpoint {
				t.Errorf("endpoints %+v, want %d", res.Endpoints, tc.endpoint)
			}
			if len(res.StopTotals) != len(tc.stops) {
				t.Errorf("stops %+v, want %v", res.StopTotals, tc.stops)
			}
			for reason, want := range tc.stops {
				if a := res.StopTotals[reason].Amount; a.Int == nil || a.Int64() != want {
					t.Errorf("%s: %v, want %d", reason, a, want)
				}
			}
			for _, s := range res.Stops {
				if s.Reason == "" || s.Tx == "" || s.Amount.Sign() <= 0 {
					t.Errorf("stop %+v", s)
				}
			}
			if res.Fees.Int64() != tc.fees {
				t.Errorf("fees %v, want %d", res.Fees, tc.fees)
			}
			conserved(t, res)
		})
	}
}

func TestBadSeeds(t *testing.T) {
	b := peels(t)
	tr := trace.New(b.st)
	for _, tc := range []struct {
		name  string
		chain string
		seeds []trace.Seed
		opts  trace.Options
		code  fault.Code
	}{
		{"no seed", b.chain, nil, trace.Options{}, fault.Invalid},
		{"unknown chain", "moonchain", []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0")}}, trace.Options{}, fault.Invalid},
		{"chain not ingested", "litecoin", []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0")}}, trace.Options{}, fault.NotFound},
		{"unknown output", b.chain, []trace.Seed{{Kind: trace.SeedOutput, Output: hash("nothing") + ":0"}}, trace.Options{}, fault.NotFound},
		{"bad outpoint", b.chain, []trace.Seed{{Kind: trace.SeedOutput, Output: "cb0"}}, trace.Options{}, fault.Invalid},
		{"unknown address", b.chain, []trace.Seed{{Kind: trace.SeedAddress, Address: "nobody"}}, trace.Options{}, fault.NotFound},
		{"wrong asset", b.chain, []trace.Seed{{Kind: trace.SeedAddress, Address: "thief", Asset: "ethereum:ETH"}}, trace.Options{}, fault.Invalid},
		{"bad model", b.chain, []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0")}}, trace.Options{Model: "fofo"}, fault.Invalid},
		{"negative dust", b.chain, []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0")}}, trace.Options{Dust: big.NewInt(-1)}, fault.Invalid},
		{"zero amount", b.chain, []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb0"), Amount: trace.Amount{Int: big.NewInt(0)}}}, trace.Options{}, fault.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Trace(context.Background(), tc.chain, tc.seeds, tc.opts)
			var f *fault.Error
			if !errors.As(err, &f) || fault.CodeOf(err) != tc.code {
				t.Fatalf("err %v (code %v), want code %v", err, fault.CodeOf(err), tc.code)
			}
		})
	}
}

// TestAnnotations checks that a trace marks the peel chain it follows.
func TestAnnotations(t *testing.T) {
	b := newBuilder(t, "bitcoin-regtest")
	b.utxo("cb", nil, out{"thief", 100_000})
	b.mine()
	prev := "cb:0"
	value := int64(100_000)
	for i, name := range []string{"peel1", "peel2", "peel3", "peel4"} {
		value -= 1000 + 10
		b.utxo(name, []string{prev}, out{"drop" + name, 1000}, out{"change" + name, value})
		prev = name + ":1"
		if i%2 == 1 {
			b.mine()
		}
	}
	res, err := trace.New(b.st).Trace(context.Background(), b.chain, []trace.Seed{{Kind: trace.SeedTx, Tx: hash("cb")}}, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Annotations) != 4 {
		t.Fatalf("annotations %+v", res.Annotations)
	}
	for _, a := range res.Annotations {
		if len(a.Kinds) != 1 || a.Kinds[0] != "peel-chain" || a.PeelLength != 4 {
			t.Errorf("annotation %+v of %s", a, b.name(a.Tx))
		}
	}
}

// TestManyLabels traces with more labels than a trace resolves up front:
// labels are then looked up address by address, with the same result.
func TestManyLabels(t *testing.T) {
	b := peels(t)
	labels := map[string]trace.Label{"exchange-x": {Entity: "Exchange X", Category: "exchange"}}
	for i := range 5000 {
		labels[fmt.Sprintf("elsewhere-%d", i)] = trace.Label{Entity: "Other", Category: "exchange"}
	}
	tr := trace.New(b.st)
	for range 2 { // the second time from the tracer's memory of keys
		res, err := tr.Trace(context.Background(), b.chain, []trace.Seed{{Kind: trace.SeedOutput, Output: hash("cb0") + ":0"}}, trace.Options{Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Endpoints) != 1 || res.Endpoints[0].Entity != "Exchange X" || res.Endpoints[0].Amount.Int64() != 770 {
			t.Errorf("endpoints %+v", res.Endpoints)
		}
	}
}
