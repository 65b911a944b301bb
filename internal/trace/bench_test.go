package trace_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/trace"
)

var (
	benchOnce  sync.Once
	benchStore *chainstore.Store
	benchSeed  string
)

// benchChain builds, once, a synthetic chain of about 100,000
// transactions in which every transaction spends one to three of the
// recent unspent outputs and pays two or three: value mixes quickly, so a
// trace from the first coinbase reaches most of the chain.
func benchChain(b *testing.B) (*chainstore.Store, string) {
	benchOnce.Do(func() {
		st, err := chainstore.Open("mem", chainstore.Options{InMemory: true, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 8))
		type utxo struct {
			tx    string
			n     uint32
			value int64
		}
		var pool []utxo
		parent := hash("bench-genesis")
		n := 0
		for height := int64(0); n < 100_000; height++ {
			blk := &chain.Block{Chain: "bitcoin-regtest", Height: height, Hash: hash("bench-block-" + strconv.FormatInt(height, 10)), Parent: parent,
				Time: time.Unix(1516924800+height*600, 0)}
			cb := chain.Tx{Hash: hash("bench-cb-" + strconv.FormatInt(height, 10)), Coinbase: true,
				Outputs: []chain.Output{{Index: 0, Value: 5_000_000_000, Kind: "p2wpkh", Address: "miner" + strconv.Itoa(rng.IntN(50)), Key: "miner" + strconv.Itoa(rng.IntN(50))}}}
			blk.Txs = append(blk.Txs, cb)
			if height == 0 {
				benchSeed = cb.Hash + ":0"
			}
			pool = append(pool, utxo{cb.Hash, 0, 5_000_000_000})
			for range 200 {
				if len(pool) < 4 {
					break
				}
				tx := chain.Tx{Hash: hash("bench-tx-" + strconv.Itoa(n))}
				var in int64
				for range 1 + rng.IntN(3) {
					// Spend from the recent end of the pool.
					k := len(pool) - 1 - rng.IntN(min(len(pool), 64))
					u := pool[k]
					pool[k] = pool[len(pool)-1]
					pool = pool[:len(pool)-1]
					tx.Inputs = append(tx.Inputs, chain.Input{Prev: chain.Outpoint{Tx: u.tx, Index: u.n}})
					in += u.value
				}
				fee := min(int64(1000), in/10)
				outs := 2 + rng.IntN(2)
				left := in - fee
				for j := range outs {
					v := left / int64(outs-j)
					if j < outs-1 {
						v = v/2 + rng.Int64N(v/2+1)
					}
					left -= v
					addr := "user" + strconv.Itoa(rng.IntN(20_000))
					tx.Outputs = append(tx.Outputs, chain.Output{Index: uint32(j), Value: v, Kind: "p2wpkh", Address: addr, Key: addr})
					pool = append(pool, utxo{tx.Hash, uint32(j), v})
				}
				blk.Txs = append(blk.Txs, tx)
				n++
			}
			if err := st.Apply(context.Background(), blk); err != nil {
				b.Fatal(err)
			}
			parent = blk.Hash
		}
		benchStore = st
	})
	if benchStore == nil {
		b.Fatal("bench chain not built")
	}
	return benchStore, benchSeed
}

// BenchmarkSweep runs full traces from the first coinbase under each
// model, no hop limit, and in the same run a bare haircut sweep over the
// graph's dense arrays (the memory-speed limit), and reports tx/s and
// the ratio.
func BenchmarkSweep(b *testing.B) {
	st, seed := benchChain(b)
	g := st.Graph("bitcoin-regtest")
	tr := trace.New(st) // one tracer, as a node has: it remembers address numbers and keys
	for _, m := range []trace.Model{trace.Haircut, trace.FIFO} {
		b.Run(string(m), func(b *testing.B) {
			var txs int
			var bare, full time.Duration
			for range b.N {
				bare += bareSweep(g)
				start := time.Now()
				res, err := tr.Trace(context.Background(), "bitcoin-regtest", []trace.Seed{{Kind: trace.SeedOutput, Output: seed}},
					trace.Options{Model: m, MaxHops: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				full += time.Since(start)
				txs = res.Stats.Txs
			}
			b.ReportMetric(float64(txs)*float64(b.N)/full.Seconds(), "tx/s")
			b.ReportMetric(float64(g.NumTx())*float64(b.N)/bare.Seconds(), "bare-tx/s")
			b.ReportMetric((float64(txs)/full.Seconds())/(float64(g.NumTx())/bare.Seconds()), "ratio")
			b.ReportMetric(float64(txs), "txs-traced")
		})
	}
}

// bareSweep is a haircut over dense arrays and nothing else: for each
// transaction in order, the taint of its inputs, shared over its outputs
// in proportion.
func bareSweep(g *chainstore.Graph) time.Duration {
	g.RLock()
	defer g.RUnlock()
	start := time.Now()
	taint := make([]uint64, g.NumOutputs())
	taint[0] = g.Output(0).Value
	for n := range g.NumTx() {
		r := g.Tx(n)
		var t, v uint64
		for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
			if o := g.Input(i); o < chainstore.InputUnknown {
				t += taint[o]
				v += g.Output(o).Value
			}
		}
		if t == 0 || v == 0 {
			continue
		}
		for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
			taint[o] = uint64(float64(t) * float64(g.Output(o).Value) / float64(v))
		}
	}
	return time.Since(start)
}
