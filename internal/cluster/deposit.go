package cluster

import (
	"fmt"
	"math/big"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
)

// The deposit-address heuristic. An exchange gives each customer an
// address of their own and sweeps what arrives there to its hot wallet
// soon after, less the sweep's fee; an address that does so is taken for
// the exchange's deposit address.
const (
	// ExchangeCategory is the label category of the hot wallets that
	// deposit addresses forward to.
	ExchangeCategory = "exchange"
	// DepositMaxDelay is the most blocks between a receipt and the
	// forwarding that sweeps it (about 20 minutes on Ethereum).
	DepositMaxDelay = 100
	// DepositTolerancePercent is how far the forwarded amount may differ
	// from what was received, in percent of what was received; for the
	// chain's own coin the forwarding transaction's fee paid by the
	// address is allowed too, if larger.
	DepositTolerancePercent = 1
)

// Deposit returns the label that the deposit-address heuristic derives
// for address a on an account chain: a transfer from a to an address
// labelled ExchangeCategory (the hot wallet) that forwards what a
// received of that asset since its previous transfer of it, within
// DepositMaxDelay blocks before the forwarding, to within
// DepositTolerancePercent or the forwarding's fee. The label is the hot
// wallet's, with its confidence reduced ([DerivedConfidence]), the
// forwarding transaction as Tx and a note that says so. The first
// forwarding that qualifies is the reason. False on a UTXO chain, or
// when a forwards nothing that qualifies.
func (l *Labeler) Deposit(a uint32) (Label, bool) {
	g := l.g
	if g.Model() != chain.Account || len(l.exchanges) == 0 {
		return Label{}, false
	}
	g.RLock()
	defer g.RUnlock()
	for _, t := range g.OutTransfers(a) {
		tr := g.Transfer(t)
		if !l.exchanges[tr.To] || !movesValue(tr.Kind) || tr.Tx >= g.NumTx() {
			continue
		}
		sent, received, blocks, ok := forwards(g, a, t, tr)
		if !ok {
			continue
		}
		hot := l.own[tr.To]
		key := l.keys[tr.To]
		lab := hot
		lab.Confidence = DerivedConfidence(hot.Confidence)
		tx := g.TxHash(tr.Tx)
		return Label{
			Label: lab, Via: ViaDeposit, Carrier: key, Tx: tx,
			Note: fmt.Sprintf("deposit address of %s: forwarded %s of the %s it received %s, to %s in %s",
				hot.Entity, sent, received, before(blocks), key, tx),
		}, true
	}
	return Label{}, false
}

// before says how long before a forwarding a receipt was.
func before(blocks int32) string {
	switch blocks {
	case 0:
		return "in the same block"
	case 1:
		return "1 block before"
	}
	return fmt.Sprintf("up to %d blocks before", blocks)
}

// movesValue reports whether a transfer of kind k moves value between
// holders (fees, burns and issuance do not).
func movesValue(k chainstore.TransferKind) bool {
	return k == chainstore.KindNative || k == chainstore.KindInternal || k == chainstore.KindToken
}

// forwards reports whether transfer t (tr) from a forwards what a
// received of its asset: it returns the amounts and how many blocks
// before the forwarding the first counted receipt was. The caller holds
// the graph's read lock.
func forwards(g Graph, a uint32, t uint64, tr chainstore.TransferRec) (sent, received *big.Int, blocks int32, ok bool) {
	h := g.Tx(tr.Tx).Height
	if h < 0 {
		// An unknown height: the delay cannot be measured.
		return nil, nil, 0, false
	}
	sent = amount(g, t, tr)
	// The fee a paid for the forwarding, in the chain's own coin (asset
	// number 0), excused from the amount.
	fee := new(big.Int)
	first, count := g.Transfers(tr.Tx)
	for u := first; u < first+uint64(count); u++ {
		if x := g.Transfer(u); x.From == a && x.Asset == 0 && (x.Kind == chainstore.KindFee || x.Kind == chainstore.KindBurn) {
			fee.Add(fee, amount(g, u, x))
		}
	}
	// Receipts of the asset since a's previous transfer of it (which
	// forwarded those before), back to DepositMaxDelay blocks.
	received = new(big.Int)
	earliest := h
scan:
	for n := tr.Tx; ; n-- {
		r := g.Tx(n)
		if !r.Removed() {
			if r.Height < 0 || h-r.Height > DepositMaxDelay {
				break
			}
			end := r.FirstOut + uint64(r.NumOut)
			if n == tr.Tx {
				end = t
			}
			for u := end; u > r.FirstOut; {
				u--
				x := g.Transfer(u)
				if x.Asset != tr.Asset || !movesValue(x.Kind) {
					continue
				}
				if x.From == a {
					break scan
				}
				if x.To == a {
					received.Add(received, amount(g, u, x))
					earliest = r.Height
				}
			}
		}
		if n == 0 {
			break
		}
	}
	if received.Sign() == 0 {
		return nil, nil, 0, false
	}
	tol := new(big.Int).Mul(received, big.NewInt(DepositTolerancePercent))
	tol.Quo(tol, big.NewInt(100))
	if tr.Asset == 0 && fee.Cmp(tol) > 0 {
		tol = fee
	}
	diff := new(big.Int).Sub(received, sent)
	if diff.Abs(diff).Cmp(tol) > 0 {
		return nil, nil, 0, false
	}
	return sent, received, h - earliest, true
}

// amount returns transfer t's exact amount.
func amount(g Graph, t uint64, x chainstore.TransferRec) *big.Int {
	if x.Amount == chainstore.AmountOverflow {
		return g.TransferAmount(t)
	}
	return new(big.Int).SetUint64(x.Amount)
}
