package heuristic_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/heuristic"
)

const regtest = "bitcoin-regtest"

// hashOf returns a made-up transaction or block hash for a name.
func hashOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// pay is an output of sat to addr (its address key too).
func pay(addr string, sat int64) chain.Output {
	return chain.Output{Value: sat, Script: []byte(addr), Kind: "p2wpkh", Address: addr, Key: addr}
}

// nullData is an OP_RETURN output.
var nullData = chain.Output{Script: []byte{0x6a, 0x01, 0x00}, Kind: "nulldata"}

// coinbaseTx mints sat to addr.
func coinbaseTx(name, addr string, sat int64) chain.Tx {
	return chain.Tx{Hash: hashOf(name), Coinbase: true, Inputs: make([]chain.Input, 1), Outputs: numbered(pay(addr, sat))}
}

// spend spends output idx of transaction prev (a name) into outs.
func spend(name, prev string, idx uint32, outs ...chain.Output) chain.Tx {
	return chain.Tx{Hash: hashOf(name), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: hashOf(prev), Index: idx}}}, Outputs: numbered(outs...)}
}

func numbered(outs ...chain.Output) []chain.Output {
	for i := range outs {
		outs[i].Index = uint32(i)
	}
	return outs
}

// blocks chains regtest blocks of txs, one block per list, each after a
// coinbase of its own.
func blocks(txs ...[]chain.Tx) []*chain.Block {
	var out []*chain.Block
	parent := ""
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, list := range txs {
		name := "block" + strconv.Itoa(h)
		b := &chain.Block{
			Chain: regtest, Height: int64(h), Hash: hashOf(name), Parent: parent, Time: start.Add(time.Duration(h) * 10 * time.Minute),
			Txs: append([]chain.Tx{coinbaseTx("coinbase"+strconv.Itoa(h), "miner"+strconv.Itoa(h), 1e8)}, list...),
		}
		out = append(out, b)
		parent = b.Hash
	}
	return out
}

// MustPeelGraph returns the graph of a regtest chain holding:
//
//   - p1..p4: a peel chain of 4 from a 50 BTC coinbase output, peeling 2 BTC
//     a step, the change first or second, p3 with an OP_RETURN too; "end"
//     spends p4's change into three equal outputs (no peel);
//   - q1, q2: a peel chain of 2 (below PeelChainMin);
//   - side: a peel of p2's peeled output (not p2's change);
//   - split: one input into two equal halves (no peel);
//   - orphan: a peel of an output the index does not have.
func MustPeelGraph(tb testing.TB) *chainstore.Graph {
	tb.Helper()
	s, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	bs := blocks(
		[]chain.Tx{coinbaseTx("cbA", "alice", 50e8), coinbaseTx("cbB", "bob", 10e8)},
		[]chain.Tx{spend("p1", "cbA", 0, pay("x1", 2e8), pay("c1", 48e8))},
		[]chain.Tx{
			spend("p2", "p1", 1, pay("c2", 46e8), pay("x2", 2e8)),
			spend("q1", "cbB", 0, pay("d1", 9.5e8), pay("y1", 0.5e8)),
		},
		[]chain.Tx{
			spend("p3", "p2", 0, pay("c3", 44e8), nullData, pay("x3", 2e8)),
			spend("q2", "q1", 0, pay("d2", 9e8), pay("y2", 0.5e8)),
			spend("side", "p2", 1, pay("s1", 1.9e8), pay("s2", 0.1e8)),
			spend("split", "coinbase0", 0, pay("h1", 0.5e8), pay("h2", 0.5e8)),
		},
		[]chain.Tx{
			spend("p4", "p3", 0, pay("x4", 2e8), pay("c4", 42e8)),
			spend("orphan", "nowhere", 0, pay("o1", 0.95e8), pay("o2", 0.05e8)),
		},
		[]chain.Tx{spend("end", "p4", 1, pay("e1", 14e8), pay("e2", 14e8), pay("e3", 14e8))},
	)
	if err := s.ApplyFrom(context.Background(), "test", bs...); err != nil {
		tb.Fatal(err)
	}
	return s.Graph(regtest)
}

// mustTxNum returns the number of the transaction named name.
func mustTxNum(tb testing.TB, g *chainstore.Graph, name string) uint32 {
	tb.Helper()
	n, err := g.TxNum(hashOf(name))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return n
}

func TestPeelChainLength(t *testing.T) {
	g := MustPeelGraph(t)
	g.RLock()
	defer g.RUnlock()
	cases := []struct {
		tx   string
		want int
	}{
		{"p1", 4}, {"p2", 4}, {"p3", 4}, {"p4", 4},
		{"q1", 2}, {"q2", 2},
		{"side", 1},
		{"orphan", 1},
		{"split", 0},
		{"end", 0},
		{"cbA", 0},
	}
	for _, c := range cases {
		t.Run(c.tx, func(t *testing.T) {
			n := mustTxNum(t, g, c.tx)
			if got := heuristic.PeelChainLength(g, n); got != c.want {
				t.Fatalf("PeelChainLength(%s) = %d, want %d", c.tx, got, c.want)
			}
			if isChain := c.want >= heuristic.PeelChainMin; isChain != (c.tx[0] == 'p') {
				t.Fatalf("%s: peel chain %v", c.tx, isChain)
			}
		})
	}
	if got := heuristic.PeelChainLength(g, g.NumTx()); got != 0 {
		t.Fatalf("PeelChainLength past the end = %d", got)
	}
}

func TestTxFromGraph(t *testing.T) {
	g := MustPeelGraph(t)
	c2, err := g.AddrNum("c2")
	if err != nil {
		t.Fatal(err)
	}
	g.RLock()
	defer g.RUnlock()
	script := func(addr string) string {
		n, err := g.AddrNum(addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		return strconv.FormatUint(uint64(n), 10)
	}
	isC2 := func(a uint32) bool { return a == c2 }

	p3 := heuristic.TxFromGraph(g, mustTxNum(t, g, "p3"), isC2)
	want := heuristic.Tx{
		Inputs: []heuristic.Input{{Value: 46e8, Script: script("c2"), Exchange: true}},
		Outputs: []heuristic.Output{
			{Value: 44e8, Script: script("c3")},
			{NullData: true},
			{Value: 2e8, Script: script("x3")},
		},
	}
	if !equalTx(p3, want) {
		t.Fatalf("p3 = %+v, want %+v", p3, want)
	}
	if change, ok := heuristic.PeelStep(&p3); !ok || change != 0 {
		t.Fatalf("PeelStep(p3) = %d, %v", change, ok)
	}

	cases := []struct {
		name string
		tx   heuristic.Tx
		want heuristic.Tx
	}{
		{"coinbase", heuristic.TxFromGraph(g, mustTxNum(t, g, "cbA"), nil), heuristic.Tx{
			Inputs: []heuristic.Input{{}}, Outputs: []heuristic.Output{{Value: 50e8, Script: script("alice")}},
		}},
		{"unknown input", heuristic.TxFromGraph(g, mustTxNum(t, g, "orphan"), isC2), heuristic.Tx{
			Inputs: []heuristic.Input{{}}, Outputs: []heuristic.Output{{Value: 0.95e8, Script: script("o1")}, {Value: 0.05e8, Script: script("o2")}},
		}},
		{"no exchange func", heuristic.TxFromGraph(g, mustTxNum(t, g, "p3"), nil), heuristic.Tx{
			Inputs: []heuristic.Input{{Value: 46e8, Script: script("c2")}}, Outputs: want.Outputs,
		}},
		{"past the end", heuristic.TxFromGraph(g, g.NumTx(), nil), heuristic.Tx{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !equalTx(c.tx, c.want) {
				t.Fatalf("got %+v, want %+v", c.tx, c.want)
			}
		})
	}
}

func equalTx(a, b heuristic.Tx) bool {
	if len(a.Inputs) != len(b.Inputs) || len(a.Outputs) != len(b.Outputs) {
		return false
	}
	for i := range a.Inputs {
		if a.Inputs[i] != b.Inputs[i] {
			return false
		}
	}
	for i := range a.Outputs {
		if a.Outputs[i] != b.Outputs[i] {
			return false
		}
	}
	return true
}
