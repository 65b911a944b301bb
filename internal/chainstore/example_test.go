package chainstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
)

func Example() {
	ctx := context.Background()
	s, err := chainstore.Open("unused", chainstore.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	h := func(c byte) string { return fmt.Sprintf("%064x", c) }
	genesis := &chain.Block{Chain: "bitcoin", Height: 0, Hash: h(1), Time: time.Unix(1231006505, 0), Txs: []chain.Tx{{
		Hash: h(0xa), Coinbase: true, Inputs: make([]chain.Input, 1),
		Outputs: []chain.Output{{Index: 0, Value: 50e8, Kind: "p2pkh", Address: "alice", Key: "alice"}},
	}}}
	next := &chain.Block{Chain: "bitcoin", Height: 1, Hash: h(2), Parent: h(1), Time: time.Unix(1231469665, 0), Txs: []chain.Tx{{
		Hash: h(0xb), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: h(0xa), Index: 0}}},
		Outputs: []chain.Output{
			{Index: 0, Value: 10e8, Kind: "p2pkh", Address: "bob", Key: "bob"},
			{Index: 1, Value: 40e8, Kind: "p2pkh", Address: "alice", Key: "alice"},
		},
	}}}
	if err := s.ApplyFrom(ctx, "example", genesis, next); err != nil {
		panic(err)
	}
	tx, _ := s.Tx(ctx, "bitcoin", h(0xb))
	fmt.Println("spends", tx.Inputs[0].Address, tx.Inputs[0].Value, "at height", tx.Height)
	a, _ := s.Address(ctx, "bitcoin", "alice")
	fmt.Println("alice received", a.Balances[0].Received, "sent", a.Balances[0].Sent, "in", a.TxCount, "txs")
	c, _ := s.Cursor("bitcoin", "example")
	fmt.Println("cursor at", c.Height)

	g := s.Graph("bitcoin")
	g.RLock()
	defer g.RUnlock()
	o := g.Input(g.Tx(1).FirstIn)
	fmt.Println("graph: tx 1 spends output", o, "of tx", g.TxOf(o), "worth", g.Output(o).Value)
	// Output:
	// spends alice 5000000000 at height 1
	// alice received 9000000000 sent 5000000000 in 2 txs
	// cursor at 1
	// graph: tx 1 spends output 0 of tx 0 worth 5000000000
}
