package heuristic

import (
	"strconv"

	"github.com/cointrail/cointrail/internal/chainstore"
)

// PeelStep reports whether tx has the shape of one peel (1 input, 2
// outputs besides OP_RETURN, the smaller at most 10% of the two outputs'
// total) and which output index is the larger (the change that continues
// the chain). The index counts OP_RETURN outputs, as tx.Outputs does.
func PeelStep(tx *Tx) (change int, ok bool) {
	if tx == nil || len(tx.Inputs) != PeelInputs {
		return 0, false
	}
	var idx [PeelOutputs]int
	n := 0
	for i, o := range tx.Outputs {
		if o.NullData {
			continue
		}
		if n == PeelOutputs {
			return 0, false
		}
		idx[n] = i
		n++
	}
	if n != PeelOutputs {
		return 0, false
	}
	firstLarger, ok := lopsided(tx.Outputs[idx[0]].Value, tx.Outputs[idx[1]].Value)
	if !ok {
		return 0, false
	}
	if firstLarger {
		return idx[0], true
	}
	return idx[1], true
}

// lopsided reports whether the split of x and y is a peel's (the smaller
// at most PeelMaxSharePercent of x + y) and whether x is the larger. Two
// zero outputs, or a total beyond 64 bits, are no peel.
func lopsided(x, y uint64) (xLarger, ok bool) {
	total, ok := sum([]Output{{Value: x}, {Value: y}})
	if !ok || total == 0 {
		return false, false
	}
	small := min(x, y)
	if mulLess(total, PeelMaxSharePercent, small, 100) {
		return false, false
	}
	return x > y, true
}

// Graph is the part of the chain index's dense graph that peel-chain
// detection reads, implemented by *chainstore.Graph of a UTXO chain. The
// caller holds the graph's read lock (chainstore.Graph.RLock) across a
// call, so that the graph does not change under it.
type Graph interface {
	// NumTx returns the number of transaction numbers.
	NumTx() uint32
	// Tx returns transaction n's record.
	Tx(n uint32) chainstore.TxRec
	// Output returns output o's record (chainstore.NoAddr: null data).
	Output(o uint64) chainstore.OutRec
	// Input returns the output input i spends, or
	// chainstore.InputCoinbase or chainstore.InputUnknown.
	Input(i uint64) uint64
	// TxOf returns the transaction that created output o.
	TxOf(o uint64) uint32
}

var _ Graph = (*chainstore.Graph)(nil)

// PeelChainLength returns the number of consecutive peel steps in the
// chain that transaction n belongs to, 0 when n is not a peel step (or
// not a transaction of g). It walks back through the creator of each
// step's input, while that creator is a peel step whose change is the
// input, and forward through the spender of each step's change, while
// that spender is a peel step (whose sole input is then the change). A
// chain of PeelChainMin or more is a peel chain. A coinbase is no peel
// step: it spends nothing. The walk costs one step per peel, so asking
// for every transaction of a chain of L peels costs L² steps.
func PeelChainLength(g Graph, n uint32) int {
	if n >= g.NumTx() {
		return 0
	}
	change, spent, ok := graphPeel(g, n)
	if !ok {
		return 0
	}
	length := 1
	// Creators precede spenders in the numbering; the order checks keep a
	// damaged graph from looping.
	for cur := n; spent != chainstore.InputCoinbase && spent != chainstore.InputUnknown; {
		prev := g.TxOf(spent)
		if prev >= cur {
			break
		}
		c, s, ok := graphPeel(g, prev)
		if !ok || c != spent {
			break
		}
		length++
		cur, spent = prev, s
	}
	for cur := n; ; {
		next := g.Output(change).SpentBy
		if next == chainstore.NoTx || next <= cur || next >= g.NumTx() {
			break
		}
		c, s, ok := graphPeel(g, next)
		if !ok || s != change {
			break
		}
		length++
		cur, change = next, c
	}
	return length
}

// graphPeel is PeelStep on transaction n of g, without building a Tx: it
// returns the output number of the change and of the output the sole
// input spends.
func graphPeel(g Graph, n uint32) (change, spent uint64, ok bool) {
	r := g.Tx(n)
	if r.Removed() || r.NumIn != PeelInputs {
		return 0, 0, false
	}
	spent = g.Input(r.FirstIn)
	if spent == chainstore.InputCoinbase {
		return 0, 0, false
	}
	var outs [PeelOutputs]uint64
	k := 0
	for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
		if g.Output(o).Addr == chainstore.NoAddr {
			continue
		}
		if k == PeelOutputs {
			return 0, 0, false
		}
		outs[k] = o
		k++
	}
	if k != PeelOutputs {
		return 0, 0, false
	}
	firstLarger, ok := lopsided(g.Output(outs[0]).Value, g.Output(outs[1]).Value)
	if !ok {
		return 0, 0, false
	}
	if firstLarger {
		return outs[0], spent, true
	}
	return outs[1], spent, true
}

// TxFromGraph builds transaction n of g as the detectors see it, so that
// a tracer can classify graph transactions without looking up address
// strings: a Script is the decimal address number ("" and NullData for
// chainstore.NoAddr), an input's Value and Script are those of the output
// it spends (0 and "" for a coinbase or unknown input), and exchange,
// when not nil, says which address numbers are exchanges. An n beyond g,
// or a transaction without inputs (an account chain's), gives an empty
// Tx.
func TxFromGraph(g Graph, n uint32, exchange func(addr uint32) bool) Tx {
	if n >= g.NumTx() {
		return Tx{}
	}
	r := g.Tx(n)
	if r.NumIn == 0 {
		return Tx{}
	}
	tx := Tx{Inputs: make([]Input, r.NumIn), Outputs: make([]Output, r.NumOut)}
	for j := range tx.Inputs {
		o := g.Input(r.FirstIn + uint64(j))
		if o == chainstore.InputCoinbase || o == chainstore.InputUnknown {
			continue
		}
		rec := g.Output(o)
		if rec.Addr == chainstore.NoAddr {
			continue
		}
		tx.Inputs[j] = Input{Value: rec.Value, Script: addrScript(rec.Addr), Exchange: exchange != nil && exchange(rec.Addr)}
	}
	for j := range tx.Outputs {
		rec := g.Output(r.FirstOut + uint64(j))
		if rec.Addr == chainstore.NoAddr {
			tx.Outputs[j] = Output{Value: rec.Value, NullData: true}
			continue
		}
		tx.Outputs[j] = Output{Value: rec.Value, Script: addrScript(rec.Addr)}
	}
	return tx
}

// addrScript is the Script of address number a.
func addrScript(a uint32) string { return strconv.FormatUint(uint64(a), 10) }
