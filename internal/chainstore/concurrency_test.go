package chainstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadersDuringApply sweeps the graph and reads the index while
// blocks are applied and reorganised (run it with -race).
func TestReadersDuringApply(t *testing.T) {
	blocks, _ := mainnet(t)
	main, _ := testChain(t)
	s := MustOpen(t, "", Options{NoSync: true, GroupBlocks: 64})
	g := s.Graph("bitcoin")
	var done atomic.Bool
	var sweeps, reads atomic.Int64
	var wg sync.WaitGroup
	fail := make(chan string, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for !done.Load() {
			g.RLock()
			nt, no := g.NumTx(), g.NumOutputs()
			for n := range nt {
				r := g.Tx(n)
				for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
					if o := g.Input(i); o < InputUnknown && (o >= no || g.Output(o).SpentBy != n) {
						fail <- "input spends an output that does not name it"
						g.RUnlock()
						return
					}
				}
				for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
					if sp := g.Output(o).SpentBy; sp != NoTx && sp >= nt {
						fail <- "output spent by a transaction beyond NumTx"
						g.RUnlock()
						return
					}
				}
			}
			g.RUnlock()
			sweeps.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		ctx := context.Background()
		for i := 0; !done.Load(); i = (i + 7) % 1500 {
			if _, err := s.Tx(ctx, "bitcoin", blocks[i].Txs[0].Hash); err != nil && i > 0 {
				// Blocks come and go with the reorgs: only a failure of
				// another kind counts.
				if _, err2 := s.Status("bitcoin"); err2 != nil {
					fail <- err2.Error()
					return
				}
			}
			reads.Add(1)
		}
	}()
	MustApply(t, s, "", blocks[:1500]...)
	MustApply(t, s, "", main[1:]...) // reorg to btcd's test chain
	MustApply(t, s, "", blocks[1:2000]...)
	done.Store(true)
	wg.Wait()
	select {
	case msg := <-fail:
		t.Fatal(msg)
	default:
	}
	t.Logf("%d sweeps and %d reads during the applies", sweeps.Load(), reads.Load())
	sameGraph(t, rebuilt(t, s, "bitcoin"), g)
}
