package trace_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
)

// chainBuilder builds hand-made blocks on a chain, one transaction per
// call, in an in-memory chain index: the real index and graph a trace
// reads, with transactions whose every value is chosen by the test.
type chainBuilder struct {
	t      *testing.T
	chain  string
	st     *chainstore.Store
	height int64
	parent string
	txs    []chain.Tx // of the block being built
	names  map[string]string
	// step is the time between two blocks. Default: ten minutes.
	step time.Duration
}

func newBuilder(t *testing.T, chainID string) *chainBuilder {
	t.Helper()
	st, err := chainstore.Open("mem", chainstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &chainBuilder{t: t, chain: chainID, st: st, parent: hash("genesis-parent"), names: map[string]string{}}
}

// hash returns a deterministic 32-byte hex hash for a name.
func hash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// out is an output: an address and a value.
type out struct {
	addr  string
	value int64
}

// utxo adds a transaction named name that spends the outputs ins
// ("name:vout") and pays outs, to the block being built. A nil ins makes
// it a coinbase.
func (b *chainBuilder) utxo(name string, ins []string, outs ...out) string {
	b.t.Helper()
	tx := chain.Tx{Hash: hash(name), Coinbase: ins == nil}
	for _, in := range ins {
		n, v, ok := strings.Cut(in, ":")
		idx, err := strconv.Atoi(v)
		if !ok || err != nil {
			b.t.Fatalf("input %q", in)
		}
		tx.Inputs = append(tx.Inputs, chain.Input{Prev: chain.Outpoint{Tx: hash(n), Index: uint32(idx)}})
	}
	for j, o := range outs {
		op := chain.Output{Index: uint32(j), Value: o.value, Kind: "p2wpkh", Address: o.addr, Key: o.addr}
		if o.addr == "" {
			op.Kind = "nulldata"
		}
		tx.Outputs = append(tx.Outputs, op)
	}
	b.txs = append(b.txs, tx)
	b.names[tx.Hash] = name
	return tx.Hash
}

// account adds an account-chain transaction of transfers.
func (b *chainBuilder) account(name string, transfers ...chain.Transfer) string {
	tx := chain.Tx{Hash: "0x" + hash(name), Transfers: transfers}
	b.txs = append(b.txs, tx)
	b.names[tx.Hash] = name
	return tx.Hash
}

// mine puts the transactions added since the last block in a block and
// applies it.
func (b *chainBuilder) mine() {
	b.t.Helper()
	h := hash("block-" + strconv.FormatInt(b.height, 10))
	parent := b.parent
	if strings.HasPrefix(b.chain, "ethereum") {
		h, parent = "0x"+h, "0x"+strings.TrimPrefix(parent, "0x")
	}
	step := b.step
	if step == 0 {
		step = 10 * time.Minute
	}
	blk := &chain.Block{Chain: b.chain, Height: b.height, Hash: h, Parent: parent,
		Time: time.Date(2018, 1, 26, 0, 0, 0, 0, time.UTC).Add(time.Duration(b.height) * step), Txs: b.txs}
	if err := b.st.Apply(context.Background(), blk); err != nil {
		b.t.Fatalf("apply block %d: %v", b.height, err)
	}
	b.parent = h
	b.height++
	b.txs = nil
}

// name returns the test's name of a transaction hash.
func (b *chainBuilder) name(h string) string {
	if n, ok := b.names[h]; ok {
		return n
	}
	return h
}

func xfer(from, to string, amount int64, kind chain.TransferKind) chain.Transfer {
	return chain.Transfer{From: from, To: to, Asset: "ethereum:ETH", Amount: big.NewInt(amount), Kind: kind}
}

// eth returns a test's Ethereum address for a name.
func eth(name string) string { return "0x" + hash(name)[:40] }
