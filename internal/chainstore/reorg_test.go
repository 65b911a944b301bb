package chainstore

import (
	"context"
	"errors"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
)

// cleanStore applies blocks to a new store without a reorg.
func cleanStore(t *testing.T, blocks ...*chain.Block) *Store {
	t.Helper()
	s := MustOpen(t, "", Options{})
	for _, b := range blocks {
		MustApply(t, s, "", b)
	}
	return s
}

// sameIndex checks that s equals a clean ingest of blocks: every key and
// value but the headers of stale blocks, and the graph.
func sameIndex(t *testing.T, s *Store, blocks ...*chain.Block) {
	t.Helper()
	clean := cleanStore(t, blocks...)
	sameDump(t, dump(t, s, skipStale), dump(t, clean, nil))
	sameGraph(t, s.Graph("bitcoin"), clean.Graph("bitcoin"))
	sameGraph(t, rebuilt(t, s, "bitcoin"), s.Graph("bitcoin"))
}

// TestReorgBtcdBranches applies btcd's test chain 0..4, then the
// competing branch 3A, 4A, 5A (forking after block 2; 3A and 5A carry
// transactions of 3 and 4), then the old branch again, then the new one
// again: each time the index must equal a clean ingest of the winning
// branch.
func TestReorgBtcdBranches(t *testing.T) {
	ctx := context.Background()
	main, side := testChain(t)
	a3, a4, a5 := side[0], side[1], side[2]
	if a3.Parent != main[2].Hash || a4.Parent != a3.Hash || a5.Parent != a4.Hash {
		t.Fatal("test chain does not fork after block 2")
	}
	s := MustOpen(t, "", Options{})
	MustApply(t, s, "", main...)

	// 29c25c...:0 (10 BTC) is spent by 509866... in block 3 and by
	// c4d853... in block 3A; 8dec74...:0 by 94dfb6... in 4 and in 5A.
	const split = "29c25cf0ca03c7b3a0c001bd02e479c2d50f60119463c81d5bd24bdeaaca477f"
	spender := func(want string) {
		t.Helper()
		v, err := s.Tx(ctx, "bitcoin", split)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Outputs[0].SpentBy; got == nil || got.Tx != want {
			t.Fatalf("%s:0 spent by %+v, want %s", split, got, want)
		}
	}
	spender("509866fa6b6a33190bbf03473bc798adad72d08418832e7b391fb95a71fdc42c")

	// 3A's parent is block 2, not the tip: a reorg.
	MustApply(t, s, "", a3)
	st, err := s.Status("bitcoin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 4 || len(st.Segments) != 1 || st.Tip.Hash != a3.Hash || st.Tip.Height != 3 {
		t.Fatalf("after 3A: %+v", st)
	}
	for _, b := range main[3:] {
		v, err := s.Block(ctx, "bitcoin", b.Hash)
		if err != nil || v.State != "stale" || len(v.Txs) != 0 {
			t.Fatalf("block %s after the reorg: %+v, %v", b.Hash, v, err)
		}
	}
	if _, err := s.Tx(ctx, "bitcoin", main[3].Txs[2].Hash); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("tx of the rolled back block 3: %v", err)
	}
	spender("c4d8535471dded0c0a48ed5e5e421340112b2ae8073ee013b1230e8030e9d648")
	MustApply(t, s, "", a4, a5)
	sameIndex(t, s, main[0], main[1], main[2], a3, a4, a5)

	// Back to the old branch: 3 reorgs (5A, 4A, 3A rolled back), 4 extends.
	MustApply(t, s, "", main[3], main[4])
	spender("509866fa6b6a33190bbf03473bc798adad72d08418832e7b391fb95a71fdc42c")
	sameIndex(t, s, main...)

	// And to the new one again: undo a second time.
	MustApply(t, s, "", a3, a4, a5)
	sameIndex(t, s, main[0], main[1], main[2], a3, a4, a5)
	if c, err := s.Cursor("bitcoin", ""); err != nil || c.Hash != a5.Hash || c.Height != 5 {
		t.Fatalf("cursor %+v, %v", c, err)
	}

	// Re-applying an applied block is a no-op, even one below the tip.
	before := dump(t, s, nil)
	MustApply(t, s, "", main[0], main[2], a4, a5)
	sameDump(t, dump(t, s, nil), before)

	// A block on a rolled-back parent needs its parent first.
	if err := s.Apply(ctx, main[4]); !errors.Is(err, ErrStaleParent) {
		t.Fatalf("block 4 on stale 3: %v", err)
	}
}

// TestReorgAcrossSegments rolls back a block whose output a detached
// segment spent and which a later block's numbers sit above: the spend is
// detached, the numbers retired in place, and the views equal an ingest
// that never had the rolled-back block.
func TestReorgAcrossSegments(t *testing.T) {
	ctx := context.Background()
	g := synth("genesis", "", coinbase("cb0", "alice", 50))
	a1 := synth("a1", g.Hash, coinbase("cb1", "bob", 50), spendTx("pay1", "cb0", 0, out("carol", 30), out("alice", 20)))
	a2 := synth("a2", a1.Hash, coinbase("cb2", "bob", 50), spendTx("pay2", "pay1", 0, out("dave", 25), out("carol", 5)))
	// x hangs from an unknown parent but spends a2's output.
	x := synth("x", hashOf("unknown-parent"), coinbase("cbx", "erin", 50), spendTx("payx", "pay2", 0, out("frank", 25)))
	b2 := synth("b2", a1.Hash, coinbase("cb2b", "gina", 50), spendTx("pay2b", "pay1", 1, out("harry", 20)))

	s := MustOpen(t, "", Options{})
	MustApply(t, s, "", g, a1, a2, x)
	v, err := s.Tx(ctx, "bitcoin", hashOf("payx"))
	if err != nil || !v.Inputs[0].Known || v.Inputs[0].Address != "dave" {
		t.Fatalf("payx before: %+v %v", v, err)
	}
	MustApply(t, s, "", b2)

	v, err = s.Tx(ctx, "bitcoin", hashOf("payx"))
	if err != nil || v.Inputs[0].Known {
		t.Fatalf("payx after the reorg should spend an unknown output: %+v %v", v, err)
	}
	if _, err := s.Address(ctx, "bitcoin", "dave"); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("dave after the reorg: %v", err)
	}
	// The reference never saw a2: g, a1, x, b2.
	ref := cleanStore(t, g, a1, x, b2)
	for _, name := range []string{"alice", "bob", "carol", "erin", "frank", "gina", "harry"} {
		got, err1 := s.Address(ctx, "bitcoin", name)
		want, err2 := ref.Address(ctx, "bitcoin", name)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", name, err1, err2)
		}
		gb, wb := got.Balances[0], want.Balances[0]
		if gb.Received.Cmp(wb.Received) != 0 || gb.Sent.Cmp(wb.Sent) != 0 || gb.TxCount != wb.TxCount || got.TxCount != want.TxCount ||
			gb.FirstSeen.Tx != wb.FirstSeen.Tx || gb.LastSeen.Tx != wb.LastSeen.Tx {
			t.Fatalf("%s: got %+v want %+v", name, gb, wb)
		}
	}
	gr := s.Graph("bitcoin")
	gr.RLock()
	removed := 0
	for n := range gr.NumTx() {
		if gr.Tx(n).Removed() {
			removed++
		}
	}
	gr.RUnlock()
	if removed != 2 {
		t.Fatalf("%d removed tx numbers, want a2's 2", removed)
	}
	sameGraph(t, rebuilt(t, s, "bitcoin"), gr)
}
