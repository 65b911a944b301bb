package bitcoin_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
)

// wallet builds, signs and submits the test's transactions, and keeps
// what the test expects the chain to say: the balance of every address it
// paid or spent from, and each transaction it sent.
type wallet struct {
	t    *testing.T
	node *btcdtest.Node
	// want is each address's expected balance in satoshi.
	want map[string]int64
	// addrOf is the address each created output shows ("" for none).
	addrOf map[wire.OutPoint]string
	fees   int64
	sent   []sentTx
}

// sentTx is a transaction the test submitted, with what each output is
// expected to decode to.
type sentTx struct {
	tx   *wire.MsgTx
	outs []payment
}

// payment is one output to create: its script, value, and the kind and
// address the decoder must report.
type payment struct {
	script []byte
	value  int64
	kind   string
	addr   string // the shown address; "" for nulldata
	// counted says whether the output adds to want[addr] (false for
	// outputs keyed by their script, such as bare multisig).
	counted bool
}

func (w *wallet) pay(addr btcutil.Address, kind string, value int64) payment {
	s, err := txscript.PayToAddrScript(addr)
	if err != nil {
		w.t.Fatal(err)
	}
	return payment{script: s, value: value, kind: kind, addr: addr.EncodeAddress(), counted: true}
}

// send signs and submits a transaction spending ins to outs, paying the
// difference as fee.
func (w *wallet) send(ins []btcdtest.Coin, outs ...payment) *wire.MsgTx {
	w.t.Helper()
	var in, out int64
	txouts := make([]*wire.TxOut, len(outs))
	for i, o := range outs {
		txouts[i] = wire.NewTxOut(o.value, o.script)
		out += o.value
	}
	for _, c := range ins {
		in += c.Value
		addr, ok := w.addrOf[c.OutPoint]
		if !ok {
			w.t.Fatalf("spending %v, which the test did not create", c.OutPoint)
		}
		w.want[addr] -= c.Value
	}
	if in-out <= 0 {
		w.t.Fatalf("transaction pays %d of %d in", out, in)
	}
	tx := btcdtest.Sign(w.t, ins, txouts)
	w.node.Send(w.t, tx)
	w.fees += in - out
	for i, o := range outs {
		if o.counted {
			w.want[o.addr] += o.value
		}
		w.addrOf[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = o.addr
	}
	w.sent = append(w.sent, sentTx{tx: tx, outs: outs})
	return tx
}

// coin returns output index of tx as a coin of key.
func coin(tx *wire.MsgTx, index uint32, key *btcdtest.Key) btcdtest.Coin {
	return btcdtest.Output(tx, index, key)
}

// TestBtcdNode runs a real btcd on simnet, mines, sends real signed
// transactions between several keys (legacy, segwit v0 and taproot inputs;
// P2PKH, P2WPKH, P2TR, P2PK, bare multisig and OP_RETURN outputs; several
// inputs and outputs; a spend of an unconfirmed output), then reads every
// block back through the RPC source and rebuilds the balances from the
// decoded blocks alone. They must equal, to the satoshi, both what the test
// created and what the node's address index reports, and every spend the
// test made must appear as an input of the outpoint it spent.
func TestBtcdNode(t *testing.T) {
	node := btcdtest.Start(t)
	p := node.Params
	alice := btcdtest.NewKey(t, p, "alice")
	bob := btcdtest.NewKey(t, p, "bob")
	carol := btcdtest.NewKey(t, p, "carol")
	dave := btcdtest.NewKey(t, p, "dave")
	miner := node.Miner
	w := &wallet{t: t, node: node, want: map[string]int64{}, addrOf: map[wire.OutPoint]string{}}

	// Simnet's coinbase maturity is 100 blocks, and segwit and taproot
	// activate through BIP 9 windows of 100 blocks: both are active for the
	// block after 299.
	const btc = 100_000_000
	mined := 300
	hashes := node.Generate(t, mined)
	var coinbases []btcdtest.Coin
	for _, h := range hashes[:4] {
		c := node.CoinbaseCoin(t, h)
		w.addrOf[c.OutPoint] = miner.P2PKH.EncodeAddress()
		coinbases = append(coinbases, c)
	}

	// Three legacy inputs, five outputs.
	tx1 := w.send(coinbases[:3],
		w.pay(alice.P2PKH, "p2pkh", 30*btc+50_000_000),
		w.pay(bob.P2WPKH, "p2wpkh", 45*btc+25_000_000),
		w.pay(carol.P2PKH, "p2pkh", 12*btc+34_567_891),
		w.pay(dave.P2WPKH, "p2wpkh", 7*btc),
		w.pay(miner.P2WPKH, "p2wpkh", 150*btc-(30*btc+50_000_000)-(45*btc+25_000_000)-(12*btc+34_567_891)-7*btc-12_345),
	)
	// A segwit and a legacy input, spending the unconfirmed tx1; an
	// OP_RETURN output.
	nulldata, err := txscript.NullDataScript([]byte("cointrail"))
	if err != nil {
		t.Fatal(err)
	}
	tx2 := w.send([]btcdtest.Coin{coin(tx1, 1, bob), coin(tx1, 0, alice)},
		w.pay(carol.P2WPKH, "p2wpkh", 20*btc),
		w.pay(dave.P2TR, "p2tr", 25*btc),
		payment{script: nulldata, value: 0, kind: "nulldata"},
		w.pay(alice.P2WPKH, "p2wpkh", 30*btc+50_000_000+45*btc+25_000_000-45*btc-20_000),
	)
	blockA := node.Generate(t, 1)
	mined++
	if mp := node.Mempool(t); len(mp) != 0 {
		t.Fatalf("mempool after mining: %v", mp)
	}

	// P2PK and bare multisig outputs; a taproot key-path spend.
	multisig, err := txscript.MultiSigScript([]*btcutil.AddressPubKey{pubKeyAddr(t, p, alice), pubKeyAddr(t, p, bob)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tx3 := w.send([]btcdtest.Coin{coin(tx2, 0, carol), coin(tx1, 2, carol), coinbases[3]},
		w.pay(bob.P2PKH, "p2pkh", 10*btc),
		w.pay(alice.P2TR, "p2tr", 15*btc),
		payment{script: bob.P2PKScript(t), value: 5 * btc, kind: "p2pk", addr: bob.P2PKH.EncodeAddress(), counted: true},
		payment{script: multisig, value: 1 * btc, kind: "multisig", addr: bitcoin.ScriptKey(multisig)},
		w.pay(carol.P2WPKH, "p2wpkh", 20*btc+12*btc+34_567_891+50*btc-31*btc-30_000),
	)
	tx4 := w.send([]btcdtest.Coin{coin(tx2, 1, dave), coin(tx1, 3, dave)},
		w.pay(miner.P2PKH, "p2pkh", 20*btc),
		w.pay(dave.P2WPKH, "p2wpkh", 25*btc+7*btc-20*btc-15_000),
	)
	node.Generate(t, 1)
	mined++
	// Spend the P2PK output, a P2PKH and a P2TR output in one transaction.
	w.send([]btcdtest.Coin{coin(tx3, 2, bob), coin(tx3, 0, bob), coin(tx3, 1, alice)},
		w.pay(alice.P2PKH, "p2pkh", 7*btc),
		w.pay(carol.P2PKH, "p2pkh", 3*btc),
		w.pay(bob.P2WPKH, "p2wpkh", 5*btc+10*btc+15*btc-10*btc-25_000),
	)
	_ = tx4
	node.Generate(t, 2)
	mined += 2
	if mp := node.Mempool(t); len(mp) != 0 {
		t.Fatalf("mempool after mining: %v", mp)
	}
	// The miner's coinbases: the subsidy of every block and all the fees.
	w.want[miner.P2PKH.EncodeAddress()] += int64(mined)*50*btc + w.fees

	// Read every block back through the source under test.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src, err := bitcoin.NewRPC(node.URL, bitcoin.Simnet, bitcoin.RPCOptions{User: node.User, Password: node.Password})
	if err != nil {
		t.Fatal(err)
	}
	tip, err := src.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tip != int64(mined) {
		t.Fatalf("Tip = %d, want %d", tip, mined)
	}
	best, err := src.BestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}

	led := newLedger(t)
	txs := map[string]chain.Tx{}
	var prev *chain.Block
	for h := int64(0); h <= tip; h++ {
		var b *chain.Block
		if h%50 == 0 || h == tip {
			// BlockAt, as the index calls it.
			if b, err = src.BlockAt(ctx, h); err != nil {
				t.Fatalf("BlockAt(%d): %v", h, err)
			}
		} else {
			// By hash, to see the height the coinbase commits to.
			hash, err := src.BlockHash(ctx, h)
			if err != nil {
				t.Fatalf("BlockHash(%d): %v", h, err)
			}
			if b, err = src.BlockByHash(ctx, hash); err != nil {
				t.Fatalf("BlockByHash(%s): %v", hash, err)
			}
		}
		if b.Height != h {
			t.Errorf("block %d: Height %d (BIP34 height from btcd's coinbase, or set by BlockAt)", h, b.Height)
		}
		if b.Chain != "bitcoin-simnet" {
			t.Errorf("block %d: Chain %q", h, b.Chain)
		}
		if prev != nil && b.Parent != prev.Hash {
			t.Errorf("block %d: Parent %s, want %s", h, b.Parent, prev.Hash)
		}
		if h == 0 && (b.Parent != "" || b.Hash != p.GenesisHash.String()) {
			t.Errorf("genesis: Hash %s Parent %q", b.Hash, b.Parent)
		}
		if h == tip && b.Hash != best {
			t.Errorf("tip %s, getbestblockhash %s", b.Hash, best)
		}
		led.apply(b)
		for _, tx := range b.Txs {
			txs[tx.Hash] = tx
		}
		prev = b
	}
	if _, err := src.BlockAt(ctx, tip+1); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("BlockAt(tip+1) = %v, want chain.ErrNotFound", err)
	}

	// The block that carries segwit spends commits to their witnesses in
	// an OP_RETURN output of its coinbase.
	wb := node.Block(t, blockA[0])
	if got := txs[wb.Transactions[0].TxHash().String()]; !slices.ContainsFunc(got.Outputs, func(o chain.Output) bool { return o.Kind == "nulldata" }) {
		t.Errorf("coinbase of block %s: no nulldata witness commitment in %+v", blockA[0], got.Outputs)
	}

	// Every transaction the test sent, as decoded.
	for _, s := range w.sent {
		id := s.tx.TxHash().String()
		got, ok := txs[id]
		if !ok {
			t.Errorf("tx %s not in any decoded block", id)
			continue
		}
		if got.Coinbase || len(got.Inputs) != len(s.tx.TxIn) || len(got.Outputs) != len(s.outs) {
			t.Errorf("tx %s: coinbase %v, %d inputs, %d outputs; want %d, %d", id, got.Coinbase, len(got.Inputs), len(got.Outputs), len(s.tx.TxIn), len(s.outs))
			continue
		}
		for i, in := range s.tx.TxIn {
			want := chain.Outpoint{Tx: in.PreviousOutPoint.Hash.String(), Index: in.PreviousOutPoint.Index}
			if got.Inputs[i].Prev != want {
				t.Errorf("tx %s input %d spends %v, want %v", id, i, got.Inputs[i].Prev, want)
			}
			if led.spentBy[want] != id {
				t.Errorf("ledger: %v spent by %q, want %s", want, led.spentBy[want], id)
			}
		}
		for i, o := range s.outs {
			g := got.Outputs[i]
			wantKey := o.addr
			if o.kind == "p2pk" || o.kind == "multisig" {
				wantKey = bitcoin.ScriptKey(o.script)
			}
			if g.Index != uint32(i) || g.Value != o.value || g.Kind != o.kind || g.Address != o.addr || g.Key != wantKey || string(g.Script) != string(o.script) {
				t.Errorf("tx %s output %d = {%d %d %s %q %q}, want {%d %d %s %q %q}", id, i, g.Index, g.Value, g.Kind, g.Address, g.Key, i, o.value, o.kind, o.addr, wantKey)
			}
		}
	}

	// Balances: decoded blocks, the test's own account, and the node.
	bal := led.balances()
	for _, addr := range slices.Sorted(maps.Keys(w.want)) {
		want := w.want[addr]
		if got := bal[addr]; got != want {
			t.Errorf("balance of %s: decoded blocks say %d, the test sent %d", addr, got, want)
		}
		if got := node.Balance(t, addr); got != want {
			t.Errorf("balance of %s: btcd's address index says %d, the test sent %d", addr, got, want)
		}
		if c, err := address.Canonical("bitcoin-simnet", addr); err != nil || c != addr {
			t.Errorf("address %s: canonical form %q, %v", addr, c, err)
		}
	}
	if got := bal[bitcoin.ScriptKey(multisig)]; got != 1*btc {
		t.Errorf("multisig output keyed by its script: %d, want %d", got, 1*btc)
	}
	t.Logf("%d blocks, %d transactions sent, %d addresses balanced, fees %d sat", tip+1, len(w.sent), len(w.want), w.fees)
}

func pubKeyAddr(t *testing.T, p *chaincfg.Params, k *btcdtest.Key) *btcutil.AddressPubKey {
	t.Helper()
	a, err := btcutil.NewAddressPubKey(k.Pub.SerializeCompressed(), p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ledger rebuilds the unspent outputs from decoded blocks alone.
type ledger struct {
	t       *testing.T
	utxo    map[chain.Outpoint]chain.Output
	spentBy map[chain.Outpoint]string
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, utxo: map[chain.Outpoint]chain.Output{}, spentBy: map[chain.Outpoint]string{}}
}

// apply spends the inputs and adds the outputs of each transaction of b,
// in order, failing on a spend of an unknown or spent output.
func (l *ledger) apply(b *chain.Block) {
	for _, tx := range b.Txs {
		for _, in := range tx.Inputs {
			if tx.Coinbase {
				if in.Prev != (chain.Outpoint{}) {
					l.t.Errorf("coinbase %s: input spends %v", tx.Hash, in.Prev)
				}
				continue
			}
			if _, ok := l.utxo[in.Prev]; !ok {
				l.t.Errorf("block %d tx %s spends %v, which is not unspent", b.Height, tx.Hash, in.Prev)
			}
			delete(l.utxo, in.Prev)
			l.spentBy[in.Prev] = tx.Hash
		}
		for _, o := range tx.Outputs {
			l.utxo[chain.Outpoint{Tx: tx.Hash, Index: o.Index}] = o
		}
	}
}

// balances sums the unspent outputs by address (and by script key for
// outputs keyed by their script, such as bare multisig).
func (l *ledger) balances() map[string]int64 {
	bal := map[string]int64{}
	for _, o := range l.utxo {
		if o.Address != "" {
			bal[o.Address] += o.Value
		}
	}
	return bal
}
