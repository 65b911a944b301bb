package ethereum

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/cointrail/cointrail/internal/chain"
)

// ErrInconsistent reports pieces of a block that do not belong together:
// a receipt or trace of another transaction, a receipt of another block,
// an uncle the block does not name. From a node it means the chain
// reorganised while the block was read; reading it again is the remedy.
var ErrInconsistent = errors.New("ethereum: block data inconsistent (reorganised while read?)")

// TransferTopic is topic 0 of the ERC-20 and ERC-721 Transfer event:
// keccak256("Transfer(address,address,uint256)").
const TransferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

// gwei is 10^9 wei, the unit of withdrawal amounts.
var gwei = big.NewInt(1e9)

// assemble builds the block from its decoded parts. rs are the receipts in
// transaction order; ts the call traces in transaction order, or nil with
// traceErr saying why there are none; us the uncles, read only when the
// block earns a reward.
func assemble(chainID string, rules Rules, b *block, rs []receipt, ts []trace, traceErr error, us []uncle) (*Block, error) {
	if len(rs) != len(b.txs) {
		return nil, malformed("block %d has %d transactions but %d receipts", b.number, len(b.txs), len(rs))
	}
	if ts != nil && len(ts) != len(b.txs) {
		return nil, fmt.Errorf("%w: block %d has %d transactions but %d call traces", ErrInconsistent, b.number, len(b.txs), len(ts))
	}
	out := &Block{Block: chain.Block{
		Chain:  chainID,
		Height: b.number,
		Hash:   b.hash,
		Parent: b.parent,
		Time:   b.time,
		Txs:    make([]chain.Tx, 0, len(b.txs)+2),
	}}
	native := chain.NativeAsset(chainID)
	var untraced []error
	for i := range b.txs {
		t, rc := &b.txs[i], &rs[i]
		if rc.txHash != t.hash {
			return nil, fmt.Errorf("%w: block %d: receipt %d is of transaction %s, not %s", ErrInconsistent, b.number, i, rc.txHash, t.hash)
		}
		if rc.blockHash != b.hash {
			return nil, fmt.Errorf("%w: block %d: receipt of %s is of block %s, not %s", ErrInconsistent, b.number, t.hash, rc.blockHash, b.hash)
		}
		var root *frame
		if ts != nil {
			tr := &ts[i]
			if tr.txHash != "" && tr.txHash != t.hash {
				return nil, fmt.Errorf("%w: block %d: call trace %d is of transaction %s, not %s", ErrInconsistent, b.number, i, tr.txHash, t.hash)
			}
			if tr.err != "" {
				untraced = append(untraced, fmt.Errorf("transaction %s: tracer: %s", t.hash, clip(tr.err)))
			} else {
				root = tr.root
			}
		}
		tx, err := transfers(chainID, native, b, t, rc, root)
		if err != nil {
			return nil, fmt.Errorf("block %d: transaction %s: %w", b.number, t.hash, err)
		}
		if root != nil && !tx.Failed {
			if gaps := incomplete(root); len(gaps) > 0 {
				untraced = append(untraced, fmt.Errorf("transaction %s: value unknown in %v", t.hash, gaps))
			}
		}
		out.Txs = append(out.Txs, tx)
	}
	switch {
	case len(b.txs) == 0:
		out.Traced = true
	case ts == nil:
		out.TraceError = traceErr
	case len(untraced) > 0:
		out.TraceError = fmt.Errorf("ethereum: block %d: %w", b.number, errors.Join(untraced...))
	default:
		out.Traced = true
	}

	if len(b.withdrawals) > 0 {
		w := chain.Tx{Hash: b.hash + ":withdrawals"}
		for _, wd := range b.withdrawals {
			amount := new(big.Int).Mul(new(big.Int).SetUint64(wd.gwei), gwei)
			w.Transfers = add(w.Transfers, chain.RewardSource, wd.address, native, amount, chain.Withdrawal)
		}
		out.Txs = append(out.Txs, w)
	}

	if reward := rules.paysReward(b); reward != nil {
		rw, err := rewards(native, b, us, reward)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", b.number, err)
		}
		out.Txs = append(out.Txs, rw)
	}
	return out, nil
}

// transfers returns the transaction with its transfers, in this order:
// native value, internal transfers (depth first, in call order), token
// transfers (in log order), then the fee: burned base fee, tip, burned
// blob fee.
func transfers(chainID, native string, b *block, t *tx, rc *receipt, root *frame) (chain.Tx, error) {
	out := chain.Tx{Hash: t.hash}
	out.Failed, out.FailureUnknown = outcome(t, rc, root)

	if !out.Failed {
		to := t.to
		if to == "" {
			to = rc.contractAddress
		}
		if to == "" {
			to = t.creates
		}
		if to == "" {
			to = createAddress(t.from, t.nonce)
		}
		out.Transfers = add(out.Transfers, t.from, to, native, t.value, chain.Native)
	}

	if root != nil && !out.Failed && root.err == "" {
		for i := range root.calls {
			out.Transfers = internal(&root.calls[i], native, out.Transfers)
		}
	}

	if !out.Failed {
		for i := range rc.logs {
			if tr, ok := tokenTransfer(chainID, &rc.logs[i]); ok {
				out.Transfers = append(out.Transfers, tr)
			}
		}
	}

	price := rc.effectiveGasPrice
	if price == nil {
		price = impliedPrice(t, b.baseFee)
	}
	if price == nil {
		return chain.Tx{}, malformed("neither the receipt's effectiveGasPrice nor the transaction's gas price")
	}
	used := new(big.Int).SetUint64(rc.gasUsed)
	if b.baseFee != nil {
		if price.Cmp(b.baseFee) < 0 {
			return chain.Tx{}, malformed("gas price %s below the base fee %s", price, b.baseFee)
		}
		burn := new(big.Int).Mul(used, b.baseFee)
		tip := new(big.Int).Mul(used, new(big.Int).Sub(price, b.baseFee))
		out.Transfers = add(out.Transfers, t.from, chain.BurnAddress, native, burn, chain.Burn)
		out.Transfers = add(out.Transfers, t.from, b.miner, native, tip, chain.Fee)
	} else {
		out.Transfers = add(out.Transfers, t.from, b.miner, native, new(big.Int).Mul(used, price), chain.Fee)
	}
	if rc.blobGasUsed > 0 {
		if rc.blobGasPrice == nil {
			return chain.Tx{}, malformed("receipt: blobGasUsed without blobGasPrice")
		}
		blob := new(big.Int).Mul(new(big.Int).SetUint64(rc.blobGasUsed), rc.blobGasPrice)
		out.Transfers = add(out.Transfers, t.from, chain.BurnAddress, native, blob, chain.Burn)
	}
	return out, nil
}

// outcome says whether a transaction failed, or that its outcome is
// unknown.
//
// Since Byzantium the receipt's status says it. Before, receipts carry a
// state root instead, and the call trace's top-level error says it where
// there is a trace. Without one, two facts of the pre-Byzantium EVM still
// settle most transactions: it had no REVERT (EIP-140 came with the status
// field, EIP-658, in Byzantium), so every failure consumed all the gas the
// transaction offered, and a failure discards the logs. A transaction that
// used less gas than it offered, or left logs, succeeded; only one that
// used all its gas and left no logs is unknown.
func outcome(t *tx, rc *receipt, root *frame) (failed, unknown bool) {
	switch {
	case rc.status >= 0:
		return rc.status == 0, false
	case root != nil:
		return root.err != "", false
	case rc.gasUsed < t.gas, len(rc.logs) > 0:
		return false, false
	}
	return false, true
}

// impliedPrice is the gas price a transaction paid, for receipts without
// effectiveGasPrice: min(maxFeePerGas, baseFee + maxPriorityFeePerGas)
// for an EIP-1559 transaction in a block with a base fee, else gasPrice.
func impliedPrice(t *tx, baseFee *big.Int) *big.Int {
	if baseFee != nil && t.maxFee != nil && t.maxTip != nil {
		p := new(big.Int).Add(baseFee, t.maxTip)
		if p.Cmp(t.maxFee) > 0 {
			p.Set(t.maxFee)
		}
		return p
	}
	return t.gasPrice
}

// internal appends the value transfers of frame f and its subcalls. A
// frame that failed is skipped with all its subcalls: their effects were
// reverted.
func internal(f *frame, asset string, out []chain.Transfer) []chain.Transfer {
	if f.err != "" {
		return out
	}
	if movesValue(f.typ) && f.value != nil && f.from != "" && f.to != "" {
		out = add(out, f.from, f.to, asset, f.value, chain.Internal)
	}
	for i := range f.calls {
		out = internal(&f.calls[i], asset, out)
	}
	return out
}

// movesValue reports whether a call of type typ moves its value. CALLCODE
// carries a value but runs in the caller's context: the value goes from
// the caller to itself. DELEGATECALL and STATICCALL carry none.
func movesValue(typ string) bool {
	switch typ {
	case "CALL", "CREATE", "CREATE2", "SELFDESTRUCT", "SUICIDE":
		return true
	}
	return false
}

// incomplete lists the frames under root (not reverted) that move value
// but whose value or endpoints the trace does not give, such as
// SELFDESTRUCT in older callTracer output.
func incomplete(root *frame) []string {
	if root.err != "" {
		return nil
	}
	var gaps []string
	var walk func(f *frame, path string)
	walk = func(f *frame, path string) {
		if f.err != "" {
			return
		}
		if movesValue(f.typ) && (f.value == nil || f.value.Sign() > 0 && (f.from == "" || f.to == "")) {
			gaps = append(gaps, path+" "+f.typ)
		}
		for i := range f.calls {
			walk(&f.calls[i], fmt.Sprintf("%s.calls[%d]", path, i))
		}
	}
	for i := range root.calls {
		walk(&root.calls[i], fmt.Sprintf("calls[%d]", i))
	}
	return gaps
}

// tokenTransfer reads an ERC-20 or ERC-721 Transfer log: three topics and
// a 32-byte amount is ERC-20; four topics (the token id indexed) and no
// data is ERC-721. Any other log, a Transfer of another shape, or one
// whose address topics are not addresses, is not a transfer.
func tokenTransfer(chainID string, l *log) (chain.Transfer, bool) {
	if l.removed || len(l.topics) < 3 || l.topics[0] != TransferTopic {
		return chain.Transfer{}, false
	}
	from, ok1 := topicAddress(l.topics[1])
	to, ok2 := topicAddress(l.topics[2])
	if !ok1 || !ok2 {
		return chain.Transfer{}, false
	}
	tr := chain.Transfer{From: from, To: to, Asset: chain.TokenAsset(chainID, l.address)}
	switch {
	case len(l.topics) == 3 && len(l.data) == 32:
		tr.Kind = chain.Token
		tr.Amount = new(big.Int).SetBytes(l.data)
	case len(l.topics) == 4 && len(l.data) == 0:
		id, _ := hex.DecodeString(l.topics[3][2:])
		tr.Kind = chain.NFT
		tr.Amount = big.NewInt(1)
		tr.TokenID = new(big.Int).SetBytes(id)
	default:
		return chain.Transfer{}, false
	}
	return tr, true
}

// topicAddress reads an address from an ABI-encoded 32-byte word: twelve
// zero bytes, then the address.
func topicAddress(topic string) (string, bool) {
	// topic is "0x" and 64 lower-case hex digits.
	for _, c := range topic[2:26] {
		if c != '0' {
			return "", false
		}
	}
	return "0x" + topic[26:], true
}

// rewards returns the pseudo-transaction of a block's rewards: the block
// reward and Reward/32 per uncle to the miner, and (8 + uncle height −
// height) × Reward/8 to each uncle's miner.
func rewards(native string, b *block, us []uncle, reward *big.Int) (chain.Tx, error) {
	if len(us) != len(b.uncles) {
		return chain.Tx{}, fmt.Errorf("%w: the block names %d uncles, %d were read", ErrInconsistent, len(b.uncles), len(us))
	}
	out := chain.Tx{Hash: b.hash + ":rewards"}
	nephew := new(big.Int).Div(reward, big.NewInt(32))
	miner := new(big.Int).Mul(nephew, big.NewInt(int64(len(us))))
	miner.Add(miner, reward)
	out.Transfers = add(out.Transfers, chain.RewardSource, b.miner, native, miner, chain.Reward)
	for i, u := range us {
		if u.hash != b.uncles[i] {
			return chain.Tx{}, fmt.Errorf("%w: uncle %d is %s, the block names %s", ErrInconsistent, i, u.hash, b.uncles[i])
		}
		depth := b.number - u.number
		if depth < 1 || depth > 6 {
			return chain.Tx{}, malformed("uncle %s at height %d of block %d: not 1 to 6 blocks older", u.hash, u.number, b.number)
		}
		r := new(big.Int).Mul(big.NewInt(8-depth), reward)
		r.Div(r, big.NewInt(8))
		out.Transfers = add(out.Transfers, chain.RewardSource, u.miner, native, r, chain.Reward)
	}
	return out, nil
}

// add appends a transfer of a positive amount; zero amounts are left out.
func add(out []chain.Transfer, from, to, asset string, amount *big.Int, kind chain.TransferKind) []chain.Transfer {
	if amount == nil || amount.Sign() <= 0 {
		return out
	}
	return append(out, chain.Transfer{From: from, To: to, Asset: asset, Amount: new(big.Int).Set(amount), Kind: kind})
}
