// Package heuristic recognises the shapes of UTXO (Bitcoin-family)
// transactions that a trace annotates and clustering must respect: peel
// chains, CoinJoins (Wasabi 1.0, 1.1 and 2.0, Whirlpool, JoinMarket),
// Whirlpool's Tx0, fan-outs and consolidations (DESIGN section 6).
//
// The detectors follow the public ones, GraphSense's UTXO heuristics for
// the CoinJoins, Tx0 and the Stonewall veto and BlockSci's transaction
// identification for peel chains and consolidations, with the thresholds
// DESIGN section 6 fixes; constants.go holds every threshold once and
// names where it comes from. A shape is evidence, not proof: a CoinJoin
// label means "do not cluster its inputs", not "this was a mixer".
//
// The functions read only what they are given and are safe for concurrent
// use; the graph functions need the caller to hold the graph's read lock.
package heuristic

// Input is a transaction input as the detectors see it.
type Input struct {
	Value    uint64 // base units (satoshi); 0 when unknown
	Script   string // the spent output's address key ("" when unknown)
	Exchange bool   // the spent output's address is labelled as an exchange
}

// Output is a transaction output.
type Output struct {
	Value    uint64
	Script   string // address key; "" for OP_RETURN (null data)
	NullData bool   // OP_RETURN
}

// Tx is a transaction.
type Tx struct {
	Inputs  []Input
	Outputs []Output
}

// Kind names an annotation.
type Kind string

// The annotations.
const (
	PeelChain     Kind = "peel-chain"
	Wasabi10      Kind = "coinjoin-wasabi-1.0"
	Wasabi11      Kind = "coinjoin-wasabi-1.1"
	Wasabi20      Kind = "coinjoin-wasabi-2.0"
	WhirlpoolTx0  Kind = "whirlpool-tx0"
	Whirlpool     Kind = "coinjoin-whirlpool"
	JoinMarket    Kind = "coinjoin-joinmarket"
	FanOut        Kind = "fan-out"
	Consolidation Kind = "consolidation"
)

// IsCoinJoin reports whether k is one of the CoinJoin kinds (a barrier for
// clustering). Whirlpool Tx0 is not a CoinJoin: one wallet splits its own
// coin into premix outputs.
func IsCoinJoin(k Kind) bool {
	switch k {
	case Wasabi10, Wasabi11, Wasabi20, Whirlpool, JoinMarket:
		return true
	}
	return false
}

// CoinJoin returns the CoinJoin kind of tx after the vetoes, if any.
//
// The CoinJoin detectors read the inputs whose spent output is known
// (Script set) and the outputs other than OP_RETURN, as GraphSense's read
// the inputs and outputs that have an address. They are tried from the
// most specific shape to the least: Whirlpool, Wasabi 2.0, Wasabi 1.1 (an
// active mixing level above the base denomination), Wasabi 1.0,
// JoinMarket (whose shape the others' often have too). A transaction with the Stonewall shape, or
// with any input labelled as an exchange, is no CoinJoin: exchange batch
// payouts and Samourai's Stonewall look like CoinJoins to these detectors.
func CoinJoin(tx *Tx) (Kind, bool) {
	v := newView(tx)
	return v.coinJoin()
}

// Classify returns every shape tx has, in this order: its CoinJoin kind
// (after the vetoes, see [CoinJoin]), Whirlpool Tx0, fan-out,
// consolidation. It does not report peel chains, which need the graph
// ([PeelChainLength]). A transaction with no shape gives nil.
func Classify(tx *Tx) []Kind {
	v := newView(tx)
	var ks []Kind
	if k, ok := v.coinJoin(); ok {
		ks = append(ks, k)
	}
	if v.whirlpoolTx0() {
		ks = append(ks, WhirlpoolTx0)
	}
	if v.fanOut() {
		ks = append(ks, FanOut)
	}
	if v.consolidation() {
		ks = append(ks, Consolidation)
	}
	return ks
}

// view is a transaction with what the detectors count computed once.
type view struct {
	tx *Tx
	// ins are the inputs whose spent output is known; outs the outputs
	// other than OP_RETURN; nullData counts the OP_RETURN outputs.
	ins      []Input
	outs     []Output
	nullData int
	// counts holds how often each value occurs among outs, values lists
	// the distinct values in order of first appearance (for ties broken
	// as GraphSense's Counter.most_common breaks them), maxOut is the
	// largest.
	counts map[uint64]int
	values []uint64
	maxOut uint64
	// inScripts and outScripts count the distinct scripts of ins and
	// outs; topIn is how many of ins the most frequent script has.
	inScripts, outScripts, topIn int
}

func newView(tx *Tx) *view {
	if tx == nil {
		tx = &Tx{}
	}
	v := &view{tx: tx, counts: make(map[uint64]int, len(tx.Outputs))}
	byScript := make(map[string]int, len(tx.Inputs))
	for _, in := range tx.Inputs {
		if in.Script == "" {
			continue
		}
		v.ins = append(v.ins, in)
		byScript[in.Script]++
		v.topIn = max(v.topIn, byScript[in.Script])
	}
	v.inScripts = len(byScript)
	outScripts := make(map[string]struct{}, len(tx.Outputs))
	for _, o := range tx.Outputs {
		if o.NullData {
			v.nullData++
			continue
		}
		v.outs = append(v.outs, o)
		outScripts[o.Script] = struct{}{}
		if v.counts[o.Value] == 0 {
			v.values = append(v.values, o.Value)
		}
		v.counts[o.Value]++
		v.maxOut = max(v.maxOut, o.Value)
	}
	v.outScripts = len(outScripts)
	return v
}

// coinJoin runs the CoinJoin detectors and the vetoes.
func (v *view) coinJoin() (Kind, bool) {
	for _, in := range v.tx.Inputs {
		if in.Exchange {
			return "", false
		}
	}
	var k Kind
	switch {
	case v.whirlpool():
		k = Whirlpool
	case v.wasabi20():
		k = Wasabi20
	case v.wasabi11():
		k = Wasabi11
	case v.wasabi10():
		k = Wasabi10
	case v.joinMarket():
		k = JoinMarket
	default:
		return "", false
	}
	if v.stonewall() {
		return "", false
	}
	return k, true
}

// mode returns the most frequent output value among those keep accepts
// and how often it occurs; a tie goes to the value that appears first, or
// with preferLarger to the larger value. It returns a zero count when keep
// accepts none.
func (v *view) mode(keep func(uint64) bool, preferLarger bool) (val uint64, n int) {
	for _, x := range v.values {
		if keep != nil && !keep(x) {
			continue
		}
		c := v.counts[x]
		if c > n || (c == n && preferLarger && x > val) {
			val, n = x, c
		}
	}
	return val, n
}

// within reports whether x lies in [d-tol, d+tol], without overflow.
func within(x, d, tol uint64) bool {
	lo := uint64(0)
	if d > tol {
		lo = d - tol
	}
	hi := d + tol
	if hi < d {
		hi = ^uint64(0)
	}
	return x >= lo && x <= hi
}

// inputAddressTooBig reports whether one input address holds more than
// pct percent of the inputs.
func (v *view) inputAddressTooBig(pct int) bool {
	return v.topIn*100 > pct*len(v.ins)
}

// outScriptsDistinct reports whether no two outputs pay the same script.
func (v *view) outScriptsDistinct() bool { return v.outScripts == len(v.outs) }
