package chainstore

import (
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/cockroachdb/pebble/v2"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chain/bitcoin/btcdtest"
)

// MustOpen opens a store in memory (or in dir when dir is not empty) and
// closes it when the test ends.
func MustOpen(tb testing.TB, dir string, opts Options) *Store {
	tb.Helper()
	if dir == "" {
		opts.InMemory = true
		dir = "mem"
	}
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// MustApply applies blocks from source, failing the test on error.
func MustApply(tb testing.TB, s *Store, source string, blocks ...*chain.Block) {
	tb.Helper()
	if err := s.ApplyFrom(context.Background(), source, blocks...); err != nil {
		tb.Fatalf("apply: %v", err)
	}
}

// readFramed reads the blocks of a blk file (magic, length, block; a frame
// whose magic is zero ends the file), bzip2-compressed when the name says.
func readFramed(tb testing.TB, path string) []*wire.MsgBlock {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".bz2") {
		r = bzip2.NewReader(f)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*wire.MsgBlock
	for len(data) >= 8 {
		magic := binary.LittleEndian.Uint32(data)
		if magic == 0 {
			break
		}
		if magic != uint32(wire.MainNet) {
			tb.Fatalf("%s: magic %08x", path, magic)
		}
		n := binary.LittleEndian.Uint32(data[4:])
		if uint64(n) > uint64(len(data)-8) {
			tb.Fatalf("%s: frame of %d bytes past the end", path, n)
		}
		mb := new(wire.MsgBlock)
		if err := mb.Deserialize(bytes.NewReader(data[8 : 8+n])); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, mb)
		data = data[8+n:]
	}
	return out
}

// rawFrames returns the raw blocks of a blk file, for the decode benchmark.
func rawFrames(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for len(data) >= 8 && binary.LittleEndian.Uint32(data) != 0 {
		n := binary.LittleEndian.Uint32(data[4:])
		out = append(out, data[8:8+n])
		data = data[8+n:]
	}
	return out
}

// scriptKey is the key of an output filed by its script.
func scriptKey(script []byte) string {
	sum := sha256.Sum256(script)
	return "script:" + hex.EncodeToString(sum[:])
}

// classify mirrors internal/chain/bitcoin's Classify (kind, display
// address, key): P2PK is keyed by its script and shown as the P2PKH
// address; null data has neither.
func classify(script []byte) (kind, addr, key string) {
	params := &chaincfg.MainNetParams
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(script, params)
	if err != nil {
		k := scriptKey(script)
		return "nonstandard", k, k
	}
	switch class {
	case txscript.PubKeyTy:
		if len(addrs) == 1 {
			if pk, ok := addrs[0].(*btcutil.AddressPubKey); ok {
				return "p2pk", pk.AddressPubKeyHash().EncodeAddress(), scriptKey(script)
			}
		}
		a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(script[1:len(script)-1]), params)
		if err != nil {
			break
		}
		return "p2pk", a.EncodeAddress(), scriptKey(script)
	case txscript.PubKeyHashTy, txscript.ScriptHashTy, txscript.WitnessV0PubKeyHashTy, txscript.WitnessV0ScriptHashTy, txscript.WitnessV1TaprootTy:
		kinds := map[txscript.ScriptClass]string{
			txscript.PubKeyHashTy: "p2pkh", txscript.ScriptHashTy: "p2sh", txscript.WitnessV0PubKeyHashTy: "p2wpkh",
			txscript.WitnessV0ScriptHashTy: "p2wsh", txscript.WitnessV1TaprootTy: "p2tr",
		}
		if len(addrs) == 1 {
			a := addrs[0].EncodeAddress()
			return kinds[class], a, a
		}
	case txscript.MultiSigTy:
		k := scriptKey(script)
		return "multisig", k, k
	case txscript.NullDataTy:
		return "nulldata", "", ""
	}
	k := scriptKey(script)
	return "nonstandard", k, k
}

// bip34Height reads the height a version 2+ coinbase commits to.
func bip34Height(mb *wire.MsgBlock) int64 {
	if mb.Header.Version < 2 || len(mb.Transactions) == 0 || len(mb.Transactions[0].TxIn) != 1 {
		return -1
	}
	s := mb.Transactions[0].TxIn[0].SignatureScript
	if len(s) < 2 || s[0] < 1 || s[0] > 5 || len(s) < 1+int(s[0]) {
		return -1
	}
	var h int64
	for i := int(s[0]); i >= 1; i-- {
		h = h<<8 | int64(s[i])
	}
	return h
}

// toBlock converts a wire block into the chain model, at height (-1:
// BIP34 or unknown).
func toBlock(mb *wire.MsgBlock, height int64) *chain.Block {
	if height < 0 {
		height = bip34Height(mb)
	}
	b := &chain.Block{
		Chain:  "bitcoin",
		Height: height,
		Hash:   mb.BlockHash().String(),
		Time:   mb.Header.Timestamp.UTC(),
	}
	if mb.Header.PrevBlock != (chainhash.Hash{}) {
		b.Parent = mb.Header.PrevBlock.String()
	}
	for i, tx := range mb.Transactions {
		t := chain.Tx{Hash: tx.TxHash().String()}
		t.Coinbase = i == 0 && len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
			tx.TxIn[0].PreviousOutPoint.Hash == (chainhash.Hash{})
		t.Inputs = make([]chain.Input, len(tx.TxIn))
		if !t.Coinbase {
			for j, in := range tx.TxIn {
				t.Inputs[j].Prev = chain.Outpoint{Tx: in.PreviousOutPoint.Hash.String(), Index: in.PreviousOutPoint.Index}
			}
		}
		for j, out := range tx.TxOut {
			kind, addr, key := classify(out.PkScript)
			t.Outputs = append(t.Outputs, chain.Output{Index: uint32(j), Value: out.Value, Script: out.PkScript, Kind: kind, Address: addr, Key: key})
		}
		b.Txs = append(b.Txs, t)
	}
	return b
}

// toBlocks converts blocks numbered from first (-1: heights unknown).
func toBlocks(mbs []*wire.MsgBlock, first int64) []*chain.Block {
	out := make([]*chain.Block, len(mbs))
	for i, mb := range mbs {
		h := int64(-1)
		if first >= 0 {
			h = first + int64(i)
		}
		out[i] = toBlock(mb, h)
	}
	return out
}

var (
	mainnetOnce   sync.Once
	mainnetBlocks []*chain.Block
	mainnetWire   []*wire.MsgBlock
)

// mainnet returns blocks 0 to 14131 of Bitcoin from btcd's test data,
// decoded once per test binary.
func mainnet(tb testing.TB) ([]*chain.Block, []*wire.MsgBlock) {
	tb.Helper()
	mainnetOnce.Do(func() {
		mainnetWire = readFramed(tb, btcdtest.Testdata(tb, "blk_0_to_14131.dat"))
		mainnetBlocks = toBlocks(mainnetWire, 0)
	})
	if len(mainnetBlocks) != 14132 {
		tb.Fatalf("read %d mainnet blocks, want 14132", len(mainnetBlocks))
	}
	return mainnetBlocks, mainnetWire
}

// testChain returns btcd's test chain: blocks 0 to 4 and the branch 3A,
// 4A, 5A forking after block 2.
func testChain(tb testing.TB) (main, side []*chain.Block) {
	tb.Helper()
	main = toBlocks(readFramed(tb, btcdtest.Testdata(tb, "blk_0_to_4.dat.bz2")), 0)
	for _, n := range []string{"blk_3A.dat.bz2", "blk_4A.dat.bz2", "blk_5A.dat.bz2"} {
		side = append(side, toBlocks(readFramed(tb, btcdtest.Testdata(tb, n)), -1)...)
	}
	if len(main) != 5 || len(side) != 3 {
		tb.Fatalf("test chain: %d and %d blocks", len(main), len(side))
	}
	return main, side
}

// kv is one key and value of a dump.
type kv struct{ k, v string }

// dump returns every key and value of the store, in key order, leaving
// out those skip names.
func dump(tb testing.TB, s *Store, skip func(k, v []byte) bool) []kv {
	tb.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	var out []kv
	for ok := it.First(); ok; ok = it.Next() {
		if skip != nil && skip(it.Key(), it.Value()) {
			continue
		}
		out = append(out, kv{string(it.Key()), string(it.Value())})
	}
	if err := it.Error(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// skipStale leaves out the headers of rolled-back blocks.
func skipStale(k, v []byte) bool {
	i := bytes.IndexByte(k, 0)
	return i >= 0 && i+1 < len(k) && k[i+1] == famBlock && len(v) > 0 && v[0] == blockStale
}

// sameDump fails the test if two dumps differ, naming the first
// differences.
func sameDump(tb testing.TB, got, want []kv) {
	tb.Helper()
	gm, wm := map[string]string{}, map[string]string{}
	for _, e := range got {
		gm[e.k] = e.v
	}
	for _, e := range want {
		wm[e.k] = e.v
	}
	var diffs []string
	for k, v := range wm {
		if g, ok := gm[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("missing %q", k))
		} else if g != v {
			diffs = append(diffs, fmt.Sprintf("differs %q: got %x want %x", k, g, v))
		}
	}
	for k := range gm {
		if _, ok := wm[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %q", k))
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("... %d differences in all", len(diffs)))
		}
		tb.Fatalf("index differs (%d keys vs %d):\n%s", len(got), len(want), strings.Join(diffs, "\n"))
	}
}

// graphImage is a graph's records, comparable with reflect.DeepEqual.
type graphImage struct {
	Txs     []txRow
	Hashes  []hash32
	Outs    []OutRec
	Ins     []uint64
	Xfers   []xferRow
	Kinds   []TransferKind
	BigNums []uint64
	BigAmts []string
	AddrOut [][]uint64
}

func imageOf(g *Graph) graphImage {
	g.RLock()
	defer g.RUnlock()
	im := graphImage{
		Txs: append([]txRow{}, g.txs...), Hashes: append([]hash32{}, g.hashes...), Outs: append([]OutRec{}, g.outs...),
		Ins: append([]uint64{}, g.ins...), Xfers: append([]xferRow{}, g.xfers...), Kinds: append([]TransferKind{}, g.kinds...),
		BigNums: append([]uint64{}, g.bigNums...),
	}
	for _, a := range g.bigAmts {
		im.BigAmts = append(im.BigAmts, a.String())
	}
	for _, l := range g.addrOut {
		im.AddrOut = append(im.AddrOut, append([]uint64{}, l...))
	}
	for len(im.AddrOut) > 0 && len(im.AddrOut[len(im.AddrOut)-1]) == 0 {
		im.AddrOut = im.AddrOut[:len(im.AddrOut)-1]
	}
	return im
}

// sameGraph fails the test if two graphs differ.
func sameGraph(tb testing.TB, got, want *Graph) {
	tb.Helper()
	g, w := imageOf(got), imageOf(want)
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("graphs differ:\n got txs %d outs %d ins %d xfers %d\nwant txs %d outs %d ins %d xfers %d\n%s",
			len(g.Txs), len(g.Outs), len(g.Ins), len(g.Xfers), len(w.Txs), len(w.Outs), len(w.Ins), len(w.Xfers), firstGraphDiff(g, w))
	}
}

func firstGraphDiff(g, w graphImage) string {
	gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
	for i := 0; i < gv.NumField(); i++ {
		a, b := gv.Field(i), wv.Field(i)
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			continue
		}
		for j := 0; j < min(a.Len(), b.Len()); j++ {
			if !reflect.DeepEqual(a.Index(j).Interface(), b.Index(j).Interface()) {
				return fmt.Sprintf("%s[%d]: got %v want %v", gv.Type().Field(i).Name, j, a.Index(j).Interface(), b.Index(j).Interface())
			}
		}
		return fmt.Sprintf("%s: lengths %d and %d", gv.Type().Field(i).Name, a.Len(), b.Len())
	}
	return ""
}

// rebuilt returns a copy of s's graph of chainID rebuilt from the index.
func rebuilt(tb testing.TB, s *Store, chainID string) *Graph {
	tb.Helper()
	cs, err := s.chain(chainID, false)
	if err != nil {
		tb.Fatal(err)
	}
	g := newGraph(s, chainID, cs.model)
	if err := g.load(context.Background(), s.db, &cs.st); err != nil {
		tb.Fatalf("rebuild graph: %v", err)
	}
	return g
}

// ledger computes address totals from blocks independently of the store:
// outputs by outpoint, and per address key received, sent and the
// transactions that touch it.
type ledger struct {
	outs  map[chain.Outpoint]ledgerOut
	addrs map[string]*ledgerAddr
}

type ledgerOut struct {
	names []string
	value int64
}

type ledgerAddr struct {
	received, sent int64
	txs            map[string]bool
	first, last    int64
}

func newLedger() *ledger {
	return &ledger{outs: map[chain.Outpoint]ledgerOut{}, addrs: map[string]*ledgerAddr{}}
}

func (l *ledger) touch(name, tx string, height int64) *ledgerAddr {
	a := l.addrs[name]
	if a == nil {
		a = &ledgerAddr{txs: map[string]bool{}, first: height}
		l.addrs[name] = a
	}
	a.txs[tx] = true
	a.last = height
	return a
}

func (l *ledger) apply(b *chain.Block) {
	for _, tx := range b.Txs {
		if !tx.Coinbase {
			for _, in := range tx.Inputs {
				o, ok := l.outs[in.Prev]
				if !ok {
					continue
				}
				delete(l.outs, in.Prev)
				for _, n := range o.names {
					l.touch(n, tx.Hash, b.Height).sent += o.value
				}
			}
		}
		for _, out := range tx.Outputs {
			var ns []string
			if out.Key != "" {
				ns = append(ns, out.Key)
			}
			if out.Address != "" && out.Address != out.Key {
				ns = append(ns, out.Address)
			}
			for _, n := range ns {
				l.touch(n, tx.Hash, b.Height).received += out.Value
			}
			l.outs[chain.Outpoint{Tx: tx.Hash, Index: out.Index}] = ledgerOut{names: ns, value: out.Value}
		}
	}
}

// checkLedger compares every address of l with the store.
func checkLedger(tb testing.TB, s *Store, l *ledger) {
	tb.Helper()
	ctx := context.Background()
	for name, a := range l.addrs {
		v, err := s.Address(ctx, "bitcoin", name)
		if err != nil {
			tb.Fatalf("address %s: %v", name, err)
		}
		if len(v.Balances) != 1 {
			tb.Fatalf("address %s: %d balances", name, len(v.Balances))
		}
		b := v.Balances[0]
		if b.Received.Int64() != a.received || b.Sent.Int64() != a.sent || b.Balance.Int64() != a.received-a.sent ||
			b.TxCount != uint64(len(a.txs)) || v.TxCount != uint64(len(a.txs)) || b.FirstSeen.Height != a.first || b.LastSeen.Height != a.last {
			tb.Fatalf("address %s: store received %s sent %s txs %d seen %d..%d; ledger %d %d %d seen %d..%d",
				name, b.Received, b.Sent, b.TxCount, b.FirstSeen.Height, b.LastSeen.Height, a.received, a.sent, len(a.txs), a.first, a.last)
		}
	}
}

// since logs how long a step took.
func since(tb testing.TB, what string, start time.Time) {
	tb.Helper()
	tb.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
}

// hashOf returns a made-up hash for a name.
func hashOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

var synthTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// synth makes a Bitcoin block named name on parent (a hash, "" for none).
func synth(name, parent string, txs ...chain.Tx) *chain.Block {
	synthTime = synthTime.Add(10 * time.Minute)
	return &chain.Block{Chain: "bitcoin", Height: -1, Hash: hashOf(name), Parent: parent, Time: synthTime, Txs: txs}
}

// out pays btc to addr.
func out(addr string, btc int64) chain.Output {
	return chain.Output{Value: btc * 1e8, Script: []byte(addr), Kind: "p2pkh", Address: addr, Key: addr}
}

func numbered(outs []chain.Output) []chain.Output {
	for i := range outs {
		outs[i].Index = uint32(i)
	}
	return outs
}

// coinbase makes a coinbase named name paying btc to addr.
func coinbase(name, addr string, btc int64) chain.Tx {
	return chain.Tx{Hash: hashOf(name), Coinbase: true, Inputs: make([]chain.Input, 1), Outputs: numbered([]chain.Output{out(addr, btc)})}
}

// spendTx makes a transaction named name spending output idx of prev.
func spendTx(name, prev string, idx uint32, outs ...chain.Output) chain.Tx {
	return chain.Tx{Hash: hashOf(name), Inputs: []chain.Input{{Prev: chain.Outpoint{Tx: hashOf(prev), Index: idx}}}, Outputs: numbered(outs)}
}
