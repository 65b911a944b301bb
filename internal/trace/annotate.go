package trace

import (
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/heuristic"
)

// newAnnotator returns the function that annotates a transaction the
// trace passes with its shapes (package heuristic): CoinJoins, Whirlpool
// Tx0, fan-outs, consolidations, and peel chains of PeelChainMin steps or
// more. Account chains have no such shapes: their annotator does nothing.
func newAnnotator(r *run) func(n uint32) {
	if r.g.Model() != chain.UTXO {
		return func(uint32) {}
	}
	exchange := func(addr uint32) bool {
		l, ok := r.labelOf(addr)
		return ok && l.Category == "exchange"
	}
	return func(n uint32) {
		tx := heuristic.TxFromGraph(r.g, n, exchange)
		var kinds []string
		// One input and at most two outputs is no CoinJoin, Tx0, fan-out or
		// consolidation (each needs more inputs or outputs): only a peel.
		if len(tx.Inputs) > 1 || len(tx.Outputs) > 2 {
			for _, k := range heuristic.Classify(&tx) {
				kinds = append(kinds, string(k))
			}
		}
		peel := 0
		if _, ok := heuristic.PeelStep(&tx); ok {
			if l := heuristic.PeelChainLength(r.g, n); l >= heuristic.PeelChainMin {
				peel = l
				kinds = append(kinds, string(heuristic.PeelChain))
			}
		}
		if len(kinds) > 0 {
			r.res.Annotations = append(r.res.Annotations, Annotation{Tx: r.g.TxHash(n), Kinds: kinds, PeelLength: peel})
		}
	}
}
