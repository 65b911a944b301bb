package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/cluster"
)

// builder builds hand-made blocks into an in-memory chain index, the real
// index and graph that clustering reads, with every value chosen by the
// test.
type builder struct {
	tb     testing.TB
	chain  string
	st     *chainstore.Store
	height int64
	parent string
	txs    []chain.Tx // of the block being built
	made   int        // blocks made, to name each one apart
	// For synth: the unspent outputs ("name:vout") and the number of
	// addresses made.
	pool  []string
	addrs int
	// held holds the blocks mined while hold is set, for flush to apply
	// in groups: much faster than a synced batch per block.
	hold bool
	held []*chain.Block
}

// MustBuilder returns a builder on a new in-memory index, closed when the
// test ends.
func MustBuilder(tb testing.TB, chainID string) *builder {
	tb.Helper()
	return mustBuilderOpts(tb, chainID, chainstore.Options{})
}

func mustBuilderOpts(tb testing.TB, chainID string, opts chainstore.Options) *builder {
	tb.Helper()
	opts.InMemory = true
	st, err := chainstore.Open("mem", opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return &builder{tb: tb, chain: chainID, st: st, parent: hexHash("genesis-parent")}
}

// hexHash returns a deterministic 32-byte hex hash for a name.
func hexHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

func (b *builder) account() bool { return strings.HasPrefix(b.chain, "ethereum") }

// txHash is the hash of the transaction named name, as the chain shows it.
func (b *builder) txHash(name string) string {
	if b.account() {
		return "0x" + hexHash(name)
	}
	return hexHash(name)
}

// out is an output: an address and a value.
type out struct {
	addr  string
	value int64
}

// utxo adds a transaction named name that spends ins ("name:vout") and
// pays outs to the block being built. A nil ins makes it a coinbase.
func (b *builder) utxo(name string, ins []string, outs ...out) {
	b.tb.Helper()
	tx := chain.Tx{Hash: b.txHash(name), Coinbase: ins == nil}
	for _, in := range ins {
		n, v, ok := strings.Cut(in, ":")
		idx, err := strconv.Atoi(v)
		if !ok || err != nil {
			b.tb.Fatalf("input %q", in)
		}
		tx.Inputs = append(tx.Inputs, chain.Input{Prev: chain.Outpoint{Tx: b.txHash(n), Index: uint32(idx)}})
	}
	for j, o := range outs {
		op := chain.Output{Index: uint32(j), Value: o.value, Kind: "p2wpkh", Address: o.addr, Key: o.addr}
		if o.addr == "" {
			op.Kind = "nulldata"
		}
		tx.Outputs = append(tx.Outputs, op)
	}
	b.txs = append(b.txs, tx)
}

// transfers adds an account-chain transaction of transfers.
func (b *builder) transfers(name string, ts ...chain.Transfer) {
	b.txs = append(b.txs, chain.Tx{Hash: b.txHash(name), Transfers: ts})
}

// mine puts the transactions added since the last block in a block on
// the builder's parent and applies it.
func (b *builder) mine() *chain.Block {
	b.tb.Helper()
	h, parent := hexHash(fmt.Sprintf("block-%s-%d", b.chain, b.made)), b.parent
	if b.account() {
		h, parent = "0x"+h, "0x"+strings.TrimPrefix(parent, "0x")
	}
	blk := &chain.Block{Chain: b.chain, Height: b.height, Hash: h, Parent: parent,
		Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(b.height) * 10 * time.Minute), Txs: b.txs}
	if b.hold {
		b.held = append(b.held, blk)
	} else if err := b.st.Apply(context.Background(), blk); err != nil {
		b.tb.Fatalf("apply block %d: %v", b.height, err)
	}
	b.made++
	b.parent, b.height, b.txs = h, b.height+1, nil
	return blk
}

// flush applies the blocks held.
func (b *builder) flush() {
	b.tb.Helper()
	if err := b.st.ApplyFrom(context.Background(), "", b.held...); err != nil {
		b.tb.Fatalf("apply: %v", err)
	}
	b.held = nil
}

// fork makes the next block a child of blk: a competing branch when blk
// is not the tip.
func (b *builder) fork(blk *chain.Block) {
	b.parent, b.height = blk.Hash, blk.Height+1
}

func (b *builder) graph() *chainstore.Graph { return b.st.Graph(b.chain) }

// addr returns the number of address key key.
func (b *builder) addr(key string) uint32 {
	b.tb.Helper()
	n, err := b.graph().AddrNum(key)
	if err != nil {
		b.tb.Fatalf("address %s: %v", key, err)
	}
	return n
}

// txNum returns the number of the transaction named name.
func (b *builder) txNum(name string) uint32 {
	b.tb.Helper()
	n, err := b.graph().TxNum(b.txHash(name))
	if err != nil {
		b.tb.Fatalf("tx %s: %v", name, err)
	}
	return n
}

// MustUpdate updates c, failing the test on error.
func MustUpdate(tb testing.TB, c *cluster.Clusterer) cluster.Delta {
	tb.Helper()
	d, err := c.Update(context.Background())
	if err != nil {
		tb.Fatalf("update: %v", err)
	}
	return d
}

// xfer is a transfer of ether in wei.
func xfer(from, to string, wei *big.Int, kind chain.TransferKind) chain.Transfer {
	return chain.Transfer{From: from, To: to, Asset: "ethereum:ETH", Amount: wei, Kind: kind}
}

// ether returns x ether in wei, plus extra wei.
func ether(x int64, extra int64) *big.Int {
	v := new(big.Int).Mul(big.NewInt(x), big.NewInt(1e18))
	return v.Add(v, big.NewInt(extra))
}

// eth returns a test's Ethereum address for a name.
func eth(name string) string { return "0x" + hexHash(name)[:40] }

func conf(n int) *int { return &n }
