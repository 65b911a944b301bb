package cluster_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/trace"
)

func ExampleClusterer_Explain() {
	ctx := context.Background()
	st, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	pay := func(i uint32, addr string, v int64) chain.Output {
		return chain.Output{Index: i, Value: v, Kind: "p2wpkh", Address: addr, Key: addr}
	}
	spend := func(tx string, i uint32) chain.Input { return chain.Input{Prev: chain.Outpoint{Tx: tx, Index: i}} }
	blk := &chain.Block{Chain: "bitcoin", Height: 0, Hash: h('a'), Parent: h('f'), Txs: []chain.Tx{
		{Hash: h('1'), Coinbase: true, Outputs: []chain.Output{pay(0, "alice", 50), pay(1, "bob", 50), pay(2, "bob", 50), pay(3, "carol", 50)}},
		// One wallet spends alice's and bob's coins: one entity.
		{Hash: h('2'), Inputs: []chain.Input{spend(h('1'), 0), spend(h('1'), 1)}, Outputs: []chain.Output{pay(0, "dave", 99)}},
		// And bob's with carol's.
		{Hash: h('3'), Inputs: []chain.Input{spend(h('1'), 2), spend(h('1'), 3)}, Outputs: []chain.Output{pay(0, "erin", 99)}},
	}}
	if err := st.Apply(ctx, blk); err != nil {
		fmt.Println(err)
		return
	}
	g := st.Graph("bitcoin")
	c := cluster.New(g)
	if _, err := c.Update(ctx); err != nil {
		fmt.Println(err)
		return
	}
	num := func(key string) uint32 { n, _ := g.AddrNum(key); return n }
	key := func(n uint32) string { k, _ := g.AddrKey(n); return k }
	path, _ := c.Explain(num("alice"), num("carol"))
	g.RLock()
	for _, m := range path {
		fmt.Printf("%s and %s spent together in %.8s\n", key(m.A), key(m.B), g.TxHash(m.Tx))
	}
	g.RUnlock()

	l, err := cluster.NewLabeler(c, map[string]trace.Label{"carol": {Entity: "Exchange A", Category: "exchange", Confidence: conf(90)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	lab, _ := l.LabelOf(num("alice"))
	fmt.Println(lab.Entity, *lab.Confidence, lab.Note)
	// Output:
	// alice and bob spent together in 22222222
	// bob and carol spent together in 33333333
	// Exchange A 45 via cluster of 3 addresses, label on carol
}
