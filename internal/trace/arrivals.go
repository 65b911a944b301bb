package trace

import (
	"fmt"
	"math/big"

	"github.com/cointrail/cointrail/internal/chainstore"
)

// Arrival is tainted value reaching a watched address (Options.Watch):
// one output (UTXO) or transfer (account) that received taint.
type Arrival struct {
	Address string `json:"address"`
	// Output is "txid:vout" on a UTXO chain, "" on an account chain.
	Output string `json:"output,omitempty"`
	// Tx and Height are the transaction that brought the taint and its
	// block's height.
	Tx     string `json:"tx"`
	Height int64  `json:"height"`
	// Amount is the taint that arrived, in base units.
	Amount Amount `json:"amount"`
	Hops   int    `json:"hops"`
	// Path is the transactions from a seed to Tx, and Via the addresses
	// the taint went through on that path (the arrival's aside).
	Path []string `json:"path"`
	Via  []string `json:"via"`
}

// watchNums returns the address numbers of the keys of watch that the
// graph knows, or nil when watch is empty. An address the index has never
// seen has received nothing, so it is left out.
func watchNums(g *chainstore.Graph, watch map[string]bool) map[uint32]bool {
	if len(watch) == 0 {
		return nil
	}
	out := map[uint32]bool{}
	for key, ok := range watch {
		if !ok {
			continue
		}
		if n, err := g.AddrNum(key); err == nil {
			out[n] = true
		}
	}
	return out
}

// arriveUTXO lists output o of transaction n, just tainted with tn, if
// its address is watched.
func (r *run) arriveUTXO(o uint64, tn *taint, n uint32) {
	out := r.g.Output(o)
	if out.Addr == chainstore.NoAddr || !r.watch[out.Addr] {
		return
	}
	tr := r.g.Tx(n)
	a := Arrival{
		Address: r.name(out.Addr), Output: fmt.Sprintf("%s:%d", r.g.TxHash(n), o-tr.FirstOut), Tx: r.g.TxHash(n),
		Height: int64(tr.Height), Amount: amt(tn.amount), Hops: int(tn.hops),
	}
	a.Path, a.Via = r.path(o)
	r.res.Arrivals = append(r.res.Arrivals, a)
}

// arriveAccount lists transfer x, which carried taint, if its recipient
// is watched.
func (a *accountRun) arriveAccount(x uint64, tr chainstore.TransferRec, carried *big.Int, hops int32) {
	if tr.To == chainstore.NoAddr || !a.watch[tr.To] {
		return
	}
	ar := Arrival{
		Address: a.name(tr.To), Tx: a.g.TxHash(tr.Tx), Height: int64(a.g.Tx(tr.Tx).Height),
		Amount: Amount{new(big.Int).Set(carried)}, Hops: int(hops),
	}
	ar.Path, ar.Via = a.path(x)
	a.res.Arrivals = append(a.res.Arrivals, ar)
}
