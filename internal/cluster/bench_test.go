package cluster_test

import (
	"context"
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
)

// flatGraph is a UTXO graph in chainstore.Graph's layout (flat arrays of
// fixed-width records, a transaction's counts following from the next
// one's first numbers), built directly: a million transactions take a
// fraction of a second here, and about ten minutes through the index's
// write path. It is for the benchmark only; the tests use the index.
type flatGraph struct {
	txs    []flatTx
	hashes [][32]byte
	ins    []uint64
	outs   []chainstore.OutRec
}

type flatTx struct {
	firstIn, firstOut uint64
	height            int32
}

func (g *flatGraph) RLock()             {}
func (g *flatGraph) RUnlock()           {}
func (g *flatGraph) Model() chain.Model { return chain.UTXO }
func (g *flatGraph) NumTx() uint32      { return uint32(len(g.txs)) }
func (g *flatGraph) Tx(n uint32) chainstore.TxRec {
	r := g.txs[n]
	endIn, endOut := uint64(len(g.ins)), uint64(len(g.outs))
	if int(n)+1 < len(g.txs) {
		endIn, endOut = g.txs[n+1].firstIn, g.txs[n+1].firstOut
	}
	return chainstore.TxRec{FirstIn: r.firstIn, FirstOut: r.firstOut, NumIn: uint32(endIn - r.firstIn), NumOut: uint32(endOut - r.firstOut), Height: r.height}
}
func (g *flatGraph) Output(o uint64) chainstore.OutRec { return g.outs[o] }
func (g *flatGraph) Input(i uint64) uint64             { return g.ins[i] }
func (g *flatGraph) TxOf(o uint64) uint32 {
	lo, hi := 0, len(g.txs)
	for lo < hi {
		m := (lo + hi) / 2
		if g.txs[m].firstOut > o {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return uint32(lo - 1)
}
func (g *flatGraph) TxID(n uint32) [32]byte                 { return g.hashes[n] }
func (g *flatGraph) TxHash(n uint32) string                 { return "" }
func (g *flatGraph) AddrNum(string) (uint32, error)         { return 0, chain.ErrNotFound }
func (g *flatGraph) AddrKey(uint32) (string, error)         { return "", chain.ErrNotFound }
func (g *flatGraph) Transfers(uint32) (uint64, uint32)      { return 0, 0 }
func (g *flatGraph) Transfer(uint64) chainstore.TransferRec { return chainstore.TransferRec{} }
func (g *flatGraph) TransferAmount(uint64) *big.Int         { return new(big.Int) }
func (g *flatGraph) OutTransfers(uint32) []uint64           { return nil }

var _ cluster.Graph = (*flatGraph)(nil)

// newFlatGraph makes n transactions with synth's shape: blocks of 2,000
// transactions opened by a coinbase of 200 outputs; payments of one input
// (60%), two (30%) or three to six (10%) to one to three outputs, 70% of
// them to fresh addresses; every seventh block a Wasabi round.
func newFlatGraph(n int) *flatGraph {
	rng := rand.New(rand.NewPCG(1, 1))
	g := &flatGraph{}
	var pool []uint64 // unspent output numbers
	addrs := uint32(0)
	addr := func() uint32 {
		if addrs == 0 || rng.IntN(10) < 7 {
			addrs++
			return addrs - 1
		}
		return rng.Uint32N(addrs)
	}
	start := func(height int32) {
		var h [32]byte
		binary.LittleEndian.PutUint64(h[:], rng.Uint64())
		g.txs = append(g.txs, flatTx{firstIn: uint64(len(g.ins)), firstOut: uint64(len(g.outs)), height: height})
		g.hashes = append(g.hashes, h)
	}
	pay := func(a uint32, v uint64) {
		g.outs = append(g.outs, chainstore.OutRec{Value: v, Addr: a, SpentBy: chainstore.NoTx})
	}
	spend := func() {
		k := rng.IntN(len(pool))
		g.ins = append(g.ins, pool[k])
		g.outs[pool[k]].SpentBy = uint32(len(g.txs) - 1)
		pool[k] = pool[len(pool)-1]
		pool = pool[:len(pool)-1]
	}
	const perBlock = 2000
	for height := int32(0); len(g.txs) < n; height++ {
		first := uint64(len(g.outs))
		start(height)
		g.ins = append(g.ins, chainstore.InputCoinbase)
		for range 200 {
			pay(addr(), 50)
		}
		for i := 1; i < perBlock && len(g.txs) < n && len(pool) > 0; i++ {
			if i == 1 && height%7 == 3 && len(pool) >= 10 {
				start(height)
				for range 10 {
					spend()
				}
				for range 4 {
					pay(addr(), 10_000_000)
				}
				for j := range 3 {
					pay(addr(), 1_234_567+uint64(j))
				}
				pay(addr(), 30_303)
				continue
			}
			nIn := 1
			switch k := rng.IntN(10); {
			case k == 9:
				nIn = 3 + rng.IntN(4)
			case k >= 6:
				nIn = 2
			}
			if nIn > len(pool) {
				nIn = len(pool)
			}
			start(height)
			for range nIn {
				spend()
			}
			for range 1 + rng.IntN(3) {
				pay(addr(), 10)
			}
		}
		// The block's outputs are spendable from the next block on.
		for o := first; o < uint64(len(g.outs)); o++ {
			pool = append(pool, o)
		}
	}
	return g
}

var (
	flatOnce sync.Once
	flat1M   *flatGraph
	indexed  struct {
		once sync.Once
		b    *builder
	}
)

// BenchmarkRebuild measures a rebuild from scratch: on a synthetic graph
// of a million transactions in the index's layout, and on the real index
// holding about 100,000 synthetic transactions (built once, in some ten
// seconds, through the index's write path). It also measures the reorg
// check an Update makes on a million processed transactions.
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	rebuild := func(b *testing.B, g cluster.Graph) {
		c := cluster.New(g)
		for b.Loop() {
			if _, err := c.Rebuild(ctx); err != nil {
				b.Fatal(err)
			}
		}
		st := c.Stats()
		b.ReportMetric(float64(st.Txs)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		b.ReportMetric(float64(st.Merges), "merges")
	}
	b.Run("synthetic-1M", func(b *testing.B) {
		flatOnce.Do(func() { flat1M = newFlatGraph(1_000_000) })
		rebuild(b, flat1M)
	})
	b.Run("index-100k", func(b *testing.B) {
		indexed.once.Do(func() {
			// The builder outlives this benchmark: it is shared by the
			// runs that -count and the b.N probing make.
			bb := mustBuilderOpts(noCleanup{b}, "bitcoin", chainstore.Options{NoSync: true, GroupBlocks: 1 << 20, GroupTxs: 1 << 30})
			bb.hold = true
			synth(bb, rand.New(rand.NewPCG(1, 1)), 1000, 100)
			bb.flush()
			indexed.b = bb
		})
		rebuild(b, indexed.b.graph())
	})
	b.Run("update-check-1M", func(b *testing.B) {
		flatOnce.Do(func() { flat1M = newFlatGraph(1_000_000) })
		c := cluster.New(flat1M)
		if _, err := c.Update(ctx); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if d, err := c.Update(ctx); err != nil || d.Rebuilt {
				b.Fatal(d, err)
			}
		}
	})
}

// noCleanup is a testing.TB whose Cleanup never runs: for a fixture that
// lives as long as the process.
type noCleanup struct{ testing.TB }

func (noCleanup) Cleanup(func()) {}
