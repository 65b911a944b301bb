package heuristic_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/heuristic"
)

func Example() {
	// A Whirlpool mix in the 0.01 BTC pool: two new entrants bring the
	// pool size plus the mix's miner fee, three coins remix.
	mix := &heuristic.Tx{
		Inputs: []heuristic.Input{
			{Value: 1_005_000, Script: "a"}, {Value: 1_005_000, Script: "b"},
			{Value: 1_000_000, Script: "c"}, {Value: 1_000_000, Script: "d"}, {Value: 1_000_000, Script: "e"},
		},
		Outputs: []heuristic.Output{
			{Value: 1_000_000, Script: "v"}, {Value: 1_000_000, Script: "w"}, {Value: 1_000_000, Script: "x"},
			{Value: 1_000_000, Script: "y"}, {Value: 1_000_000, Script: "z"},
		},
	}
	k, ok := heuristic.CoinJoin(mix)
	fmt.Println(k, ok, heuristic.IsCoinJoin(k))

	// The same inputs spent by an exchange's hot wallet are no CoinJoin.
	mix.Inputs[0].Exchange = true
	fmt.Println(heuristic.Classify(mix))

	// Forty coins swept into one.
	sweep := &heuristic.Tx{Outputs: []heuristic.Output{{Value: 39_000_000, Script: "cold"}}}
	for i := range 40 {
		sweep.Inputs = append(sweep.Inputs, heuristic.Input{Value: 1_000_000, Script: fmt.Sprint("deposit", i)})
	}
	fmt.Println(heuristic.Classify(sweep))

	// One peel: 0.5 BTC peeled off, the change is output 1.
	peel := &heuristic.Tx{
		Inputs:  []heuristic.Input{{Value: 10e8, Script: "hot"}},
		Outputs: []heuristic.Output{{Value: 0.5e8, Script: "payee"}, {Value: 9.49e8, Script: "change"}},
	}
	fmt.Println(heuristic.PeelStep(peel))
	// Output:
	// coinjoin-whirlpool true true
	// []
	// [consolidation]
	// 1 true
}

func ExamplePeelChainLength() {
	s, err := chainstore.Open("example", chainstore.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	h := func(c byte) string { return fmt.Sprintf("%064x", c) }
	out := func(i uint32, key string, sat int64) chain.Output {
		return chain.Output{Index: i, Value: sat, Kind: "p2wpkh", Address: key, Key: key}
	}
	// A coinbase of 50 BTC, then three peels of 1 BTC each, each spending
	// the previous change (output 1).
	b := &chain.Block{Chain: "bitcoin-regtest", Height: 0, Hash: h(1), Time: time.Unix(1_700_000_000, 0), Txs: []chain.Tx{
		{Hash: h(0x10), Coinbase: true, Inputs: make([]chain.Input, 1), Outputs: []chain.Output{out(0, "miner", 50e8)}},
	}}
	prev, left := h(0x10), int64(50e8)
	for i := range 3 {
		left -= 1e8
		b.Txs = append(b.Txs, chain.Tx{
			Hash:    h(byte(0x11 + i)),
			Inputs:  []chain.Input{{Prev: chain.Outpoint{Tx: prev, Index: uint32(min(i, 1))}}},
			Outputs: []chain.Output{out(0, fmt.Sprint("payee", i), 1e8), out(1, fmt.Sprint("change", i), left)},
		})
		prev = h(byte(0x11 + i))
	}
	if err := s.ApplyFrom(context.Background(), "example", b); err != nil {
		panic(err)
	}
	g := s.Graph("bitcoin-regtest")
	g.RLock()
	defer g.RUnlock()
	for n := range g.NumTx() {
		l := heuristic.PeelChainLength(g, n)
		fmt.Println(n, l, l >= heuristic.PeelChainMin)
	}
	// Output:
	// 0 0 false
	// 1 3 true
	// 2 3 true
	// 3 3 true
}
