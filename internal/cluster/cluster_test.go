package cluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/heuristic"
	"github.com/cointrail/cointrail/internal/trace"
)

// mergeChain builds a chain whose merges the tests know:
//
//	ab:   spends a and b                  -> a+b
//	bc:   spends b and c                  -> +c
//	ac:   spends a and c (already one)    -> no merge
//	dd:   spends d twice                  -> no merge (one address)
//	ef:   spends e and f                  -> e+f
//	gx:   spends g and an unknown output  -> no merge
//	cd:   spends c and d, in a later block -> +d
func mergeChain(tb testing.TB) *builder {
	tb.Helper()
	b := MustBuilder(tb, "bitcoin")
	b.utxo("cb0", nil, out{"a", 50}, out{"b", 50}, out{"b", 50}, out{"c", 50}, out{"a", 50}, out{"c", 50}, out{"d", 50}, out{"d", 50})
	b.utxo("cb1", nil, out{"e", 50}, out{"f", 50}, out{"g", 50}, out{"c", 50}, out{"d", 50})
	b.mine()
	b.utxo("ab", []string{"cb0:0", "cb0:1"}, out{"h", 99})
	b.utxo("bc", []string{"cb0:2", "cb0:3"}, out{"i", 99})
	b.utxo("ac", []string{"cb0:4", "cb0:5"}, out{"j", 99})
	b.utxo("dd", []string{"cb0:6", "cb0:7"}, out{"k", 99})
	b.utxo("ef", []string{"cb1:0", "cb1:1"}, out{"l", 99})
	b.utxo("gx", []string{"cb1:2", "nowhere:0"}, out{"m", 99})
	b.mine()
	b.utxo("cd", []string{"cb1:3", "cb1:4"}, out{"n", 99})
	b.mine()
	return b
}

func TestMergesAndExplain(t *testing.T) {
	b := mergeChain(t)
	c := cluster.New(b.graph())
	d := MustUpdate(t, c)
	if d.Rebuilt || d.From != 0 || d.To != b.graph().NumTx() || d.Merges != 4 {
		t.Fatalf("delta %+v", d)
	}
	st := c.Stats()
	// ab, bc, ac, ef, cd and dd? dd spends one address: not multi-input.
	if st.MultiInput != 5 || st.Merges != 4 || st.Clusters != 2 || st.Addresses != 6 || st.CoinJoins != 0 {
		t.Errorf("stats %+v", st)
	}
	a := b.addr
	step := func(x, y, tx string) cluster.Merge { return cluster.Merge{A: a(x), B: a(y), Tx: b.txNum(tx)} }
	for _, tc := range []struct {
		name string
		x, y string
		same bool
		path []cluster.Merge
	}{
		{"itself", "a", "a", true, []cluster.Merge{}},
		{"one merge", "a", "b", true, []cluster.Merge{step("a", "b", "ab")}},
		{"two merges", "a", "c", true, []cluster.Merge{step("a", "b", "ab"), step("b", "c", "bc")}},
		{"two merges, the other way", "c", "a", true, []cluster.Merge{step("c", "b", "bc"), step("b", "a", "ab")}},
		{"three merges, a later block", "a", "d", true, []cluster.Merge{step("a", "b", "ab"), step("b", "c", "bc"), step("c", "d", "cd")}},
		{"the other cluster", "f", "e", true, []cluster.Merge{step("f", "e", "ef")}},
		{"two clusters", "a", "e", false, nil},
		{"unknown input", "g", "a", false, nil},
		{"output address only", "h", "a", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Same(a(tc.x), a(tc.y)); got != tc.same {
				t.Errorf("Same = %v", got)
			}
			path, ok := c.Explain(a(tc.x), a(tc.y))
			if ok != tc.same || !reflect.DeepEqual(path, tc.path) {
				t.Errorf("Explain = %v %v, want %v %v", path, ok, tc.path, tc.same)
			}
		})
	}
	for _, tc := range []struct {
		addr string
		size int
		of   []string
	}{
		{"c", 4, []string{"a", "b", "c", "d"}},
		{"e", 2, []string{"e", "f"}},
		{"g", 1, []string{"g"}},
	} {
		members, size := c.Members(a(tc.addr), 0)
		var keys []string
		for _, m := range members {
			k, err := b.graph().AddrKey(m)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		if size != tc.size || c.Size(a(tc.addr)) != tc.size || fmt.Sprint(keys) != fmt.Sprint(tc.of) {
			t.Errorf("cluster of %s: %v (size %d), want %v", tc.addr, keys, size, tc.of)
		}
	}
	if m, size := c.Members(a("a"), 2); len(m) != 2 || size != 4 {
		t.Errorf("members with a limit: %v of %d", m, size)
	}
	// An address number beyond any input is a cluster of one.
	if c.Size(1<<30) != 1 || c.Root(1<<30) != 1<<30 {
		t.Error("an unseen address number is not alone")
	}
}

// wasabi adds a Wasabi-1.0-shaped round named name to b: inputs from n
// distinct addresses (funded by a coinbase of their own), equal outputs
// of 0.1 BTC to distinct addresses, a change for each of some of the
// inputs and the coordinator's fee.
func wasabi(b *builder, name string, inputs, equal, changes int) {
	var funds []out
	for i := range inputs {
		funds = append(funds, out{fmt.Sprintf("%s-in%d", name, i), 11_000_000 + int64(i)})
	}
	b.utxo(name+"-fund", nil, funds...)
	var ins []string
	for i := range inputs {
		ins = append(ins, fmt.Sprintf("%s-fund:%d", name, i))
	}
	var outs []out
	for i := range equal {
		outs = append(outs, out{fmt.Sprintf("%s-mix%d", name, i), heuristic.WasabiDenomination})
	}
	for i := range changes {
		outs = append(outs, out{fmt.Sprintf("%s-change%d", name, i), 1_234_567 + int64(i)})
	}
	outs = append(outs, out{name + "-coordinator", 30_303})
	b.utxo(name, ins, outs...)
}

// TestCoinJoinBarrier: a Wasabi 1.0 round's inputs are not one entity;
// the same inputs spent without the round's shape are.
func TestCoinJoinBarrier(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		inputs, equal, changes int
		coinJoin               bool
	}{
		{"wasabi 1.0", 10, 5, 4, true},
		{"wasabi 1.0, the fewest equal outputs", 12, 3, 2, true},
		{"too few inputs", 9, 3, 4, false},
		{"too few equal outputs", 10, 2, 1, false},
		{"equal outputs under (outputs-1)/2", 10, 3, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := MustBuilder(t, "bitcoin")
			wasabi(b, "round", tc.inputs, tc.equal, tc.changes)
			b.mine()
			g := b.graph()
			g.RLock()
			tx := heuristic.TxFromGraph(g, b.txNum("round"), nil)
			kind, isCJ := heuristic.CoinJoin(&tx)
			g.RUnlock()
			if isCJ != tc.coinJoin || (isCJ && kind != heuristic.Wasabi10) {
				t.Fatalf("the test's round is %q %v, want a CoinJoin: %v", kind, isCJ, tc.coinJoin)
			}
			c := cluster.New(g)
			MustUpdate(t, c)
			in0 := b.addr("round-in0")
			size := c.Size(in0)
			st := c.Stats()
			if tc.coinJoin {
				if size != 1 || st.Merges != 0 || st.CoinJoins != 1 || st.MultiInput != 1 {
					t.Errorf("CoinJoin merged: size %d, stats %+v", size, st)
				}
				return
			}
			if size != tc.inputs || st.Merges != tc.inputs-1 || st.CoinJoins != 0 {
				t.Errorf("not merged: size %d, stats %+v", size, st)
			}
		})
	}
}

// TestCoinJoinPrefilter holds the prefilter that skips the detectors to
// them: no transaction with fewer than 3 distinct input addresses or
// fewer than 3 outputs is a CoinJoin, whatever its values.
func TestCoinJoinPrefilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{heuristic.WasabiDenomination, heuristic.WhirlpoolPool1M, 5_000, 10_000, 1_000_000}
	for i := range 20_000 {
		tx := heuristic.Tx{}
		addrs, outs := 1+rng.IntN(3), 1+rng.IntN(12)
		if i%2 == 0 {
			addrs = 1 + rng.IntN(2)
		} else {
			outs = 1 + rng.IntN(2)
			addrs = 1 + rng.IntN(30)
		}
		for j := range 1 + rng.IntN(40) {
			tx.Inputs = append(tx.Inputs, heuristic.Input{Value: values[rng.IntN(len(values))] + uint64(rng.IntN(200)), Script: fmt.Sprint(j % addrs)})
		}
		for j := range outs {
			tx.Outputs = append(tx.Outputs, heuristic.Output{Value: values[rng.IntN(len(values))], Script: fmt.Sprint("o", j)})
		}
		if k, ok := heuristic.CoinJoin(&tx); ok {
			t.Fatalf("a %q with %d input addresses and %d outputs: %+v", k, addrs, outs, tx)
		}
	}
}

// synth adds blocks of random transactions to b: coinbases, payments of
// one to three inputs from a pool of reused addresses, and now and then a
// Wasabi round. It returns the blocks.
// coinbaseOuts is the number of outputs of each synthetic coinbase, which
// keeps the pool of coins to spend from running dry.
const coinbaseOuts = 10

// synth adds blocks of random transactions to b, shaped roughly like
// Bitcoin's: coinbases, payments of mostly one or two inputs to mostly
// fresh addresses (some reused, so clusters grow), and every seventh block
// a Wasabi round. It returns the blocks.
func synth(b *builder, rng *rand.Rand, blocks, txsPerBlock int) []*chain.Block {
	var made []*chain.Block
	addr := func() string {
		if b.addrs == 0 || rng.IntN(10) < 7 {
			b.addrs++
			return fmt.Sprintf("s%d", b.addrs-1)
		}
		return fmt.Sprintf("s%d", rng.IntN(b.addrs))
	}
	for range blocks {
		h := b.height
		name := fmt.Sprintf("cb-%d-%d", b.made, h)
		var cb []out
		for range coinbaseOuts {
			cb = append(cb, out{addr(), 50})
		}
		b.utxo(name, nil, cb...)
		for j := range coinbaseOuts {
			b.pool = append(b.pool, fmt.Sprintf("%s:%d", name, j))
		}
		var fresh []string
		for i := range txsPerBlock {
			name := fmt.Sprintf("t-%d-%d-%d", b.made, h, i)
			if i == 0 && h%7 == 3 {
				wasabi(b, name, 10, 4, 3)
				continue
			}
			nIn := 1
			switch k := rng.IntN(10); {
			case k == 9:
				nIn = 3 + rng.IntN(4)
			case k >= 6:
				nIn = 2
			}
			if nIn > len(b.pool) {
				break
			}
			ins := make([]string, 0, nIn)
			for range nIn {
				k := rng.IntN(len(b.pool))
				ins = append(ins, b.pool[k])
				b.pool[k] = b.pool[len(b.pool)-1]
				b.pool = b.pool[:len(b.pool)-1]
			}
			nOut := 1 + rng.IntN(3)
			outs := make([]out, 0, nOut)
			for range nOut {
				outs = append(outs, out{addr(), 10})
			}
			b.utxo(name, ins, outs...)
			// Spendable from the next block on.
			for j := range nOut {
				fresh = append(fresh, fmt.Sprintf("%s:%d", name, j))
			}
		}
		made = append(made, b.mine())
		b.pool = append(b.pool, fresh...)
	}
	return made
}

// TestUpdateEqualsRebuild: a Clusterer updated after every block makes the
// same merges, in the same order, as one built once at the end.
func TestUpdateEqualsRebuild(t *testing.T) {
	b := MustBuilder(t, "bitcoin")
	rng := rand.New(rand.NewPCG(7, 7))
	inc := cluster.New(b.graph())
	for range 30 {
		synth(b, rng, 1, 20)
		MustUpdate(t, inc)
	}
	full := cluster.New(b.graph())
	MustUpdate(t, full)
	t.Logf("%+v", full.Stats())
	if inc.Stats() != full.Stats() || inc.Stats().Merges < 50 || inc.Stats().CoinJoins == 0 {
		t.Fatalf("stats %+v, full %+v", inc.Stats(), full.Stats())
	}
	if !reflect.DeepEqual(inc.Merges(), full.Merges()) {
		t.Error("merges differ")
	}
	again, err := full.Rebuild(context.Background())
	if err != nil || !again.Rebuilt || !reflect.DeepEqual(inc.Merges(), full.Merges()) {
		t.Errorf("rebuild %+v, %v", again, err)
	}
	if d := MustUpdate(t, inc); d.Rebuilt || d.From != d.To || d.Merges != 0 {
		t.Errorf("an update without new blocks: %+v", d)
	}
}

// TestReorgRebuild applies a branch that merges x and y, then a competing
// branch (Apply with a parent below the tip) that spends x with z
// instead: the Clusterer must rebuild and forget x+y.
func TestReorgRebuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		// updateBetween updates after the reorg, before the new branch
		// grows past the old one's numbers.
		updateBetween bool
		reason        string
	}{
		{"update after the cut", true, "cut it back"},
		{"numbers reused before the update", false, "another one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := MustBuilder(t, "bitcoin")
			b.utxo("cb0", nil, out{"x", 50}, out{"y", 50}, out{"z", 50}, out{"v", 50}, out{"w", 50})
			b.mine()
			fork := b.mine()
			b.utxo("xy", []string{"cb0:0", "cb0:1"}, out{"p", 99})
			b.mine()
			b.utxo("vw", []string{"cb0:3", "cb0:4"}, out{"q", 99})
			b.mine()
			c := cluster.New(b.graph())
			MustUpdate(t, c)
			x, y, z, v, w := b.addr("x"), b.addr("y"), b.addr("z"), b.addr("v"), b.addr("w")
			if !c.Same(x, y) || !c.Same(v, w) {
				t.Fatal("x+y, v+w not merged")
			}

			// The new branch's first block has fewer transactions than the
			// old branch: the numbering is cut back below what was
			// processed, then grows past it with the next block.
			b.fork(fork)
			b.utxo("xz", []string{"cb0:0", "cb0:2"}, out{"s", 99})
			b.mine()
			if tc.updateBetween {
				d := MustUpdate(t, c)
				if !d.Rebuilt || !strings.Contains(d.Reason, "cut it back") {
					t.Fatalf("after the cut: %+v", d)
				}
			}
			b.utxo("cb3b", nil, out{"t", 50})
			b.utxo("pay", []string{"xz:0"}, out{"u", 98})
			b.mine()
			d := MustUpdate(t, c)
			if d.Rebuilt != !tc.updateBetween || (!tc.updateBetween && !strings.Contains(d.Reason, tc.reason)) {
				t.Fatalf("after the new branch: %+v", d)
			}
			if c.Same(x, y) || c.Same(v, w) || !c.Same(x, z) {
				t.Errorf("after the reorg: x+y %v, v+w %v, x+z %v", c.Same(x, y), c.Same(v, w), c.Same(x, z))
			}
			full := cluster.New(b.graph())
			MustUpdate(t, full)
			if !reflect.DeepEqual(c.Merges(), full.Merges()) {
				t.Errorf("merges %v, a fresh build %v", c.Merges(), full.Merges())
			}
			if st := c.Stats(); st.Rebuilds != 1 || st.Merges != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestReorgRemoved rolls back a block below the top of the numbering (a
// detached segment was numbered after it): its transactions are retired
// in place, Removed, and their merges must go.
func TestReorgRemoved(t *testing.T) {
	b := MustBuilder(t, "bitcoin")
	b.utxo("cb0", nil, out{"x", 50}, out{"y", 50}, out{"z", 50})
	b.mine()
	a1 := b.mine()
	b.utxo("xy", []string{"cb0:0", "cb0:1"}, out{"p", 99})
	b.mine()
	// A segment of its own, from an unknown parent.
	b.parent, b.height = hexHash("unknown-parent"), 1000
	b.utxo("cbx", nil, out{"e", 50})
	b.mine()
	c := cluster.New(b.graph())
	MustUpdate(t, c)
	if !c.Same(b.addr("x"), b.addr("y")) {
		t.Fatal("x+y not merged")
	}
	b.fork(a1)
	b.utxo("cb2b", nil, out{"g", 50})
	b.mine()
	g := b.graph()
	g.RLock()
	removed := g.Tx(b.txNum("cbx") - 1).Removed()
	g.RUnlock()
	if !removed {
		t.Fatal("the test's reorg did not retire xy in place")
	}
	d := MustUpdate(t, c)
	if !d.Rebuilt || !strings.Contains(d.Reason, "removed") || c.Same(b.addr("x"), b.addr("y")) {
		t.Errorf("delta %+v, x+y %v", d, c.Same(b.addr("x"), b.addr("y")))
	}
}

func TestUpdateCancelled(t *testing.T) {
	b := MustBuilder(t, "bitcoin")
	synth(b, rand.New(rand.NewPCG(3, 3)), 3, 10)
	c := cluster.New(b.graph())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Update(ctx); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled update: %v", err)
	}
	if d := MustUpdate(t, c); d.To != b.graph().NumTx() {
		t.Errorf("the next update: %+v", d)
	}
}

// TestConcurrentUse updates and reads a Clusterer from several goroutines
// while blocks arrive (run with -race).
func TestConcurrentUse(t *testing.T) {
	b := MustBuilder(t, "bitcoin")
	rng := rand.New(rand.NewPCG(5, 5))
	synth(b, rng, 2, 20)
	c := cluster.New(b.graph())
	l, err := cluster.NewLabeler(c, map[string]trace.Label{"s1": {Entity: "E", Category: "exchange", Confidence: conf(50)}})
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := b.addr("s0"), b.addr("s1")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := c.Update(ctx); err != nil && ctx.Err() == nil {
				errs <- err
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c.Same(s0, s1)
				c.Explain(s0, s1)
				c.Members(s1, 10)
				l.LabelOf(s0)
				c.Stats()
			}
		})
	}
	synth(b, rng, 10, 20)
	cancel()
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	MustUpdate(t, c)
	full := cluster.New(b.graph())
	MustUpdate(t, full)
	if !reflect.DeepEqual(c.Merges(), full.Merges()) {
		t.Error("merges differ from a fresh build")
	}
}
