package chainstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cointrail/cointrail/internal/chain"
)

// Sentinels of the dense graph.
const (
	// NoTx is the spending transaction of an unspent output (and of a
	// removed one).
	NoTx = math.MaxUint32
	// NoAddr is the address number of an output filed under no address
	// (null data) and of a removed output.
	NoAddr = math.MaxUint32
	// InputCoinbase is the spent output of a coinbase input.
	InputCoinbase = math.MaxUint64
	// InputUnknown is the spent output of an input whose previous output
	// is not in the index (history without its beginning), or of a
	// removed input.
	InputUnknown = math.MaxUint64 - 1
	// AmountOverflow is the Amount of a transfer that does not fit 64
	// bits; [Graph.TransferAmount] has it exactly.
	AmountOverflow = math.MaxUint64
	// UnknownHeight is the height of a transaction whose block's height
	// is not known (a detached segment without BIP34 heights).
	UnknownHeight = -1
	// RemovedHeight is the height of a transaction number that a reorg
	// retired without reusing it: its outputs are removed (value 0,
	// NoAddr) and its inputs unknown. Only a rollback below the top of the
	// numbering leaves one; the usual reorg at the tip cuts numbers back.
	RemovedHeight = math.MinInt32
)

// TxRec is a transaction of the graph. Its inputs are the input numbers
// [FirstIn, FirstIn+NumIn) and its outputs [FirstOut, FirstOut+NumOut).
type TxRec struct {
	FirstIn, FirstOut uint64
	NumIn, NumOut     uint32
	Height            int32
}

// Removed reports whether the number was retired by a reorg.
func (r TxRec) Removed() bool { return r.Height == RemovedHeight }

// OutRec is an output of the graph: its value in base units, its address
// number (NoAddr when it has none), and the number of the transaction
// that spends it (NoTx while unspent).
type OutRec struct {
	Value   uint64
	Addr    uint32
	SpentBy uint32
}

// TransferRec is a transfer of an account chain's graph. Amount is
// AmountOverflow when the amount does not fit 64 bits.
type TransferRec struct {
	Amount          uint64
	From, To, Asset uint32
	Tx              uint32
	Kind            TransferKind
}

// TransferKind is the kind of a transfer as a small number.
type TransferKind uint8

// The transfer kinds of [chain.TransferKind], numbered.
const (
	KindOther TransferKind = iota // a kind this version does not know
	KindNative
	KindInternal
	KindToken
	KindNFT
	KindFee
	KindBurn
	KindWithdrawal
	KindReward
)

var kindNames = [...]chain.TransferKind{"", chain.Native, chain.Internal, chain.Token, chain.NFT, chain.Fee, chain.Burn, chain.Withdrawal, chain.Reward}

// String returns the kind's name in the chain model.
func (k TransferKind) String() string {
	if int(k) < len(kindNames) && k != KindOther {
		return string(kindNames[k])
	}
	return "other"
}

func kindCode(k string) TransferKind {
	for i, n := range kindNames {
		if i > 0 && string(n) == k {
			return TransferKind(i)
		}
	}
	return KindOther
}

// txRow is a transaction's fixed-width record: first input number, first
// output (or transfer) number, each as two 32-bit halves, and height: 20
// bytes, with 4-byte alignment so a slice of them has no padding.
type txRow [5]uint32

func makeTxRow(firstIn, firstOut uint64, height int32) txRow {
	return txRow{uint32(firstIn), uint32(firstIn >> 32), uint32(firstOut), uint32(firstOut >> 32), uint32(height)}
}

func (r *txRow) firstIn() uint64  { return uint64(r[0]) | uint64(r[1])<<32 }
func (r *txRow) firstOut() uint64 { return uint64(r[2]) | uint64(r[3])<<32 }
func (r *txRow) height() int32    { return int32(r[4]) }

// xferRow is a transfer's fixed-width record (the kind lives apart, one
// byte each).
type xferRow struct {
	Amount          uint64
	From, To, Asset uint32
	Tx              uint32
}

// Graph is the dense numbered graph of one chain, in the layout of
// BlockSci: transactions numbered in the order they were applied (chain
// order for a chain followed from its start), outputs and inputs numbered
// in the same order, address keys numbered at first sight, and
// fixed-width records in flat arrays, so that a sweep reads memory in
// order and a hop is an array index.
//
// UTXO chains: a transaction is 20 bytes (first input, first output,
// height; counts follow from the next transaction), an output 16 (value,
// address number, spending transaction), an input 8 (the number of the
// output it spends, or InputCoinbase / InputUnknown); the transaction
// hashes take 32 bytes each beside them. Transaction and address numbers
// are 32-bit (Apply fails beyond 2^32-1 of either); output and input
// numbers 64-bit.
//
// Account chains: a transaction is 20 bytes (its first transfer number and
// height); a transfer 25 (amount, from, to, asset, transaction, kind),
// amounts beyond 64 bits in a side table; each address keeps the list of
// its outgoing transfers.
//
// The graph lives in memory and is rebuilt from the index's graph rows on
// Open (a sequential scan); Apply extends it after each commit, and a
// reorg cuts it back.
//
// Concurrency: the record readers (NumTx, Tx, Output, Input, TxOf,
// TxHash, TxID, Transfer, ...) must be called between RLock and RUnlock,
// from any number of goroutines; Apply takes the write lock for the
// moment it extends the graph, so a reader that holds RLock across a
// whole trace sees one consistent graph and delays Apply for that long.
// The lookups through the index (TxNum, AddrNum, AddrKey, OutputNum) need
// no lock; a number they return may be one the graph gets only when the
// block's Apply finishes: check it against NumTx (or NumOutputs) under
// RLock. Record readers do not allocate; they panic on a number out of
// range, as a slice index does.
type Graph struct {
	s     *Store
	chain string
	model byte
	keys  keys

	mu sync.RWMutex
	// gen counts the times the graph was cut back or rebuilt (a reorg):
	// numbers handed out before may since mean something else.
	gen    atomic.Uint64
	txs    []txRow
	hashes []hash32
	// UTXO:
	outs []OutRec
	ins  []uint64
	// Account:
	xfers   []xferRow
	kinds   []TransferKind
	bigNums []uint64 // transfer numbers with AmountOverflow, ascending
	bigAmts []*big.Int
	addrOut [][]uint64 // outgoing transfer numbers by address number
}

func newGraph(s *Store, chainID string, model byte) *Graph {
	return &Graph{s: s, chain: chainID, model: model, keys: newKeys(chainID)}
}

// RLock locks the graph for reading; see [Graph] for what it guards.
func (g *Graph) RLock() { g.mu.RLock() }

// RUnlock undoes one RLock.
func (g *Graph) RUnlock() { g.mu.RUnlock() }

// Chain returns the graph's chain id.
func (g *Graph) Chain() string { return g.chain }

// Model returns the chain's model.
func (g *Graph) Model() chain.Model {
	if g.model == modelAccount {
		return chain.Account
	}
	return chain.UTXO
}

// Generation changes whenever a reorg cuts the graph back or it is
// rebuilt: transaction, output and address numbers learnt before may
// since name something else. It needs no lock.
func (g *Graph) Generation() uint64 { return g.gen.Load() }

// NumTx returns the number of transaction numbers (removed ones included).
func (g *Graph) NumTx() uint32 { return uint32(len(g.txs)) }

// NumOutputs returns the number of output numbers.
func (g *Graph) NumOutputs() uint64 { return uint64(len(g.outs)) }

// NumInputs returns the number of input numbers.
func (g *Graph) NumInputs() uint64 { return uint64(len(g.ins)) }

// NumTransfers returns the number of transfer numbers.
func (g *Graph) NumTransfers() uint64 { return uint64(len(g.xfers)) }

// Tx returns transaction n's record. On an account chain FirstOut and
// NumOut are its transfers (see Transfers) and NumIn is 0.
func (g *Graph) Tx(n uint32) TxRec {
	r := &g.txs[n]
	var endIn, endOut uint64
	if int(n)+1 < len(g.txs) {
		next := &g.txs[n+1]
		endIn, endOut = next.firstIn(), next.firstOut()
	} else if g.model == modelUTXO {
		endIn, endOut = uint64(len(g.ins)), uint64(len(g.outs))
	} else {
		endOut = uint64(len(g.xfers))
	}
	fi, fo := r.firstIn(), r.firstOut()
	if g.model == modelAccount {
		endIn = fi
	}
	return TxRec{FirstIn: fi, FirstOut: fo, NumIn: uint32(endIn - fi), NumOut: uint32(endOut - fo), Height: r.height()}
}

// TxID returns transaction n's hash as bytes, in display order.
func (g *Graph) TxID(n uint32) [32]byte { return g.hashes[n] }

// TxHash returns transaction n's hash as the chain displays it. It
// allocates the string; TxID does not.
func (g *Graph) TxHash(n uint32) string { return showHash(g.model, g.hashes[n]) }

// Output returns output o's record.
func (g *Graph) Output(o uint64) OutRec { return g.outs[o] }

// Input returns the number of the output input i spends, or InputCoinbase
// or InputUnknown.
func (g *Graph) Input(i uint64) uint64 { return g.ins[i] }

// TxOf returns the number of the transaction that created output o (or,
// on an account chain, that made transfer o), by binary search.
func (g *Graph) TxOf(o uint64) uint32 {
	n := sort.Search(len(g.txs), func(i int) bool { return g.txs[i].firstOut() > o })
	return uint32(n - 1)
}

// SpendingInput returns the input number that spends output o, if it is
// spent.
func (g *Graph) SpendingInput(o uint64) (uint64, bool) {
	tx := g.outs[o].SpentBy
	if tx == NoTx {
		return 0, false
	}
	r := g.Tx(tx)
	for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
		if g.ins[i] == o {
			return i, true
		}
	}
	return 0, false
}

// Transfers returns the transfer numbers [first, first+count) of
// transaction n on an account chain.
func (g *Graph) Transfers(n uint32) (first uint64, count uint32) {
	r := g.Tx(n)
	return r.FirstOut, r.NumOut
}

// Transfer returns transfer t's record.
func (g *Graph) Transfer(t uint64) TransferRec {
	x := &g.xfers[t]
	return TransferRec{Amount: x.Amount, From: x.From, To: x.To, Asset: x.Asset, Tx: x.Tx, Kind: g.kinds[t]}
}

// TransferAmount returns transfer t's exact amount. It allocates.
func (g *Graph) TransferAmount(t uint64) *big.Int {
	if a := g.xfers[t].Amount; a != AmountOverflow {
		return new(big.Int).SetUint64(a)
	}
	i := sort.Search(len(g.bigNums), func(i int) bool { return g.bigNums[i] >= t })
	if i < len(g.bigNums) && g.bigNums[i] == t {
		return new(big.Int).Set(g.bigAmts[i])
	}
	return new(big.Int).SetUint64(AmountOverflow)
}

// OutTransfers returns the numbers of the transfers from address a, in
// chain order. The slice belongs to the graph: read it under RLock and do
// not modify it.
func (g *Graph) OutTransfers(a uint32) []uint64 {
	if int(a) < len(g.addrOut) {
		return g.addrOut[a]
	}
	return nil
}

// TxNum returns the number of the transaction with hash h.
func (g *Graph) TxNum(h string) (uint32, error) {
	hh, err := parseHash(h)
	if err != nil {
		return 0, err
	}
	var rec txRec
	if err := g.s.getRec(g.s.db, g.keys.tx(hh), func(p []byte) (err error) { rec, err = decodeTx(g.model, p); return err }); err != nil {
		return 0, wrapNotFound(err, "tx %s on %s", h, g.chain)
	}
	return rec.Num, nil
}

// AddrNum returns the number of address key key.
func (g *Graph) AddrNum(key string) (uint32, error) {
	var rec addrRec
	if err := g.s.getRec(g.s.db, g.keys.addr(canonKey(g.model, key)), func(p []byte) (err error) { rec, err = decodeAddr(p); return err }); err != nil {
		return 0, wrapNotFound(err, "address %s on %s", key, g.chain)
	}
	return rec.Num, nil
}

// AddrKey returns the address key numbered n.
func (g *Graph) AddrKey(n uint32) (string, error) {
	var key string
	if err := g.s.getRec(g.s.db, g.keys.addrNum(n), func(p []byte) error { key = string(p); return nil }); err != nil {
		return "", wrapNotFound(err, "address number %d on %s", n, g.chain)
	}
	return key, nil
}

// AssetID returns the asset id numbered n (0 is the native asset).
func (g *Graph) AssetID(n uint32) (string, error) {
	var id string
	if err := g.s.getRec(g.s.db, g.keys.asset(n), func(p []byte) error { id = string(p); return nil }); err != nil {
		return "", wrapNotFound(err, "asset number %d on %s", n, g.chain)
	}
	return id, nil
}

// AssetNum returns the number of asset id (0 is the native asset).
func (g *Graph) AssetNum(id string) (uint32, error) {
	var n uint32
	err := g.s.getRec(g.s.db, g.keys.assetID(id), func(p []byte) error {
		d := dec{b: p}
		n = d.u32()
		return d.done()
	})
	if err != nil {
		return 0, wrapNotFound(err, "asset %s on %s", id, g.chain)
	}
	return n, nil
}

// OutputNum returns the number of the output op names.
func (g *Graph) OutputNum(op chain.Outpoint) (uint64, error) {
	h, err := parseHash(op.Tx)
	if err != nil {
		return 0, err
	}
	var rec outRec
	if err := g.s.getRec(g.s.db, g.keys.out(h, op.Index), func(p []byte) (err error) { rec, err = decodeOut(p); return err }); err != nil {
		return 0, wrapNotFound(err, "output %s on %s", op, g.chain)
	}
	return rec.Num, nil
}

// GraphSize is what a graph holds and the bytes its arrays take.
type GraphSize struct {
	Txs, Inputs, Outputs, Transfers       uint64
	TxBytes, InputBytes, OutputBytes      uint64 // len × record size
	HashBytes, TransferBytes, OtherBytes  uint64
	AllocatedBytes                        uint64 // cap × record size, all arrays
	BytesPerTx, BytesPerIn, BytesPerOut   float64
	BytesPerTransfer, HashBytesPerTx      float64
	OverflowAmounts, AddressesWithOutList uint64
}

// Size measures the graph. The caller holds RLock.
func (g *Graph) Size() GraphSize {
	s := GraphSize{
		Txs: uint64(len(g.txs)), Inputs: uint64(len(g.ins)), Outputs: uint64(len(g.outs)), Transfers: uint64(len(g.xfers)),
		TxBytes:         uint64(len(g.txs)) * uint64(unsafe.Sizeof(txRow{})),
		InputBytes:      uint64(len(g.ins)) * 8,
		OutputBytes:     uint64(len(g.outs)) * uint64(unsafe.Sizeof(OutRec{})),
		HashBytes:       uint64(len(g.hashes)) * 32,
		TransferBytes:   uint64(len(g.xfers))*uint64(unsafe.Sizeof(xferRow{})) + uint64(len(g.kinds)),
		OverflowAmounts: uint64(len(g.bigNums)),
	}
	for _, l := range g.addrOut {
		if len(l) > 0 {
			s.AddressesWithOutList++
		}
		s.OtherBytes += 24 + uint64(cap(l))*8
	}
	s.AllocatedBytes = uint64(cap(g.txs))*20 + uint64(cap(g.ins))*8 + uint64(cap(g.outs))*16 + uint64(cap(g.hashes))*32 +
		uint64(cap(g.xfers))*uint64(unsafe.Sizeof(xferRow{})) + uint64(cap(g.kinds)) + s.OtherBytes
	if s.Txs > 0 {
		s.BytesPerTx = float64(s.TxBytes) / float64(s.Txs)
		s.HashBytesPerTx = float64(s.HashBytes) / float64(s.Txs)
	}
	if s.Inputs > 0 {
		s.BytesPerIn = float64(s.InputBytes) / float64(s.Inputs)
	}
	if s.Outputs > 0 {
		s.BytesPerOut = float64(s.OutputBytes) / float64(s.Outputs)
	}
	if s.Transfers > 0 {
		s.BytesPerTransfer = float64(s.TransferBytes) / float64(s.Transfers)
	}
	return s
}

// graphDelta is what one committed batch does to a graph: the rollback
// steps first, in order, then the appended records.
type graphDelta struct {
	steps []func(*Graph)
	// Appended records start at these numbers.
	baseTx       uint32
	baseOut      uint64
	baseIn       uint64
	baseTransfer uint64
	txs          []txRow
	hashes       []hash32
	ins          []uint64
	outs         []OutRec
	spends       []spend
	xfers        []xferRow
	kinds        []TransferKind
	bigNums      []uint64
	bigAmts      []*big.Int
}

type spend struct {
	out uint64
	tx  uint32
}

func (d *graphDelta) empty() bool { return len(d.steps) == 0 && len(d.txs) == 0 && len(d.spends) == 0 }

// apply applies d. It fails when the appended records do not start where
// the graph ends (a bug: the caller rebuilds the graph from the index).
func (g *Graph) apply(d *graphDelta) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, step := range d.steps {
		step(g)
	}
	if len(d.txs) == 0 && len(d.spends) == 0 {
		return nil
	}
	if uint32(len(g.txs)) != d.baseTx || uint64(len(g.outs)) != d.baseOut || uint64(len(g.ins)) != d.baseIn || uint64(len(g.xfers)) != d.baseTransfer {
		return fmt.Errorf("chainstore: graph of %s at tx %d out %d in %d transfer %d, delta starts at %d %d %d %d",
			g.chain, len(g.txs), len(g.outs), len(g.ins), len(g.xfers), d.baseTx, d.baseOut, d.baseIn, d.baseTransfer)
	}
	g.txs = append(g.txs, d.txs...)
	g.hashes = append(g.hashes, d.hashes...)
	g.ins = append(g.ins, d.ins...)
	g.outs = append(g.outs, d.outs...)
	for _, sp := range d.spends {
		g.outs[sp.out].SpentBy = sp.tx
	}
	if len(d.xfers) > 0 {
		first := uint64(len(g.xfers))
		g.xfers = append(g.xfers, d.xfers...)
		g.kinds = append(g.kinds, d.kinds...)
		g.bigNums = append(g.bigNums, d.bigNums...)
		g.bigAmts = append(g.bigAmts, d.bigAmts...)
		for i := range d.xfers {
			g.addOut(d.xfers[i].From, first+uint64(i))
		}
	}
	return nil
}

func (g *Graph) addOut(a uint32, t uint64) {
	if a == NoAddr {
		return
	}
	if int(a) >= len(g.addrOut) {
		n := int(a) + 1
		if n < 2*len(g.addrOut) {
			n = 2 * len(g.addrOut)
		}
		grown := make([][]uint64, int(a)+1, n)
		copy(grown, g.addrOut)
		g.addrOut = grown
	}
	g.addrOut[a] = append(g.addrOut[a], t)
}

func (g *Graph) removeOut(a uint32, t uint64) {
	if int(a) >= len(g.addrOut) {
		return
	}
	l := g.addrOut[a]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i] == t {
			g.addrOut[a] = append(l[:i], l[i+1:]...)
			return
		}
	}
}

// truncate cuts the graph back to tx, out, in and transfer numbers.
func (g *Graph) truncate(tx uint32, out, in, transfer uint64) {
	g.gen.Add(1)
	if int(tx) < len(g.txs) {
		g.txs = g.txs[:tx]
		g.hashes = g.hashes[:tx]
	}
	if out < uint64(len(g.outs)) {
		g.outs = g.outs[:out]
	}
	if in < uint64(len(g.ins)) {
		g.ins = g.ins[:in]
	}
	if transfer < uint64(len(g.xfers)) {
		for t := uint64(len(g.xfers)) - 1; ; t-- {
			g.removeOut(g.xfers[t].From, t)
			if t == transfer {
				break
			}
		}
		g.xfers = g.xfers[:transfer]
		g.kinds = g.kinds[:transfer]
		i := sort.Search(len(g.bigNums), func(i int) bool { return g.bigNums[i] >= transfer })
		g.bigNums, g.bigAmts = g.bigNums[:i], g.bigAmts[:i]
	}
}

// kill retires transaction n in place: a rollback below the top of the
// numbering.
func (g *Graph) kill(n uint32) {
	g.gen.Add(1)
	if int(n) >= len(g.txs) {
		return
	}
	r := g.Tx(n)
	removed := int32(RemovedHeight)
	g.txs[n][4] = uint32(removed)
	g.hashes[n] = hash32{}
	if g.model == modelUTXO {
		for o := r.FirstOut; o < r.FirstOut+uint64(r.NumOut); o++ {
			g.outs[o] = OutRec{Addr: NoAddr, SpentBy: NoTx}
		}
		for i := r.FirstIn; i < r.FirstIn+uint64(r.NumIn); i++ {
			g.ins[i] = InputUnknown
		}
		return
	}
	for t := r.FirstOut; t < r.FirstOut+uint64(r.NumOut); t++ {
		g.removeOut(g.xfers[t].From, t)
		g.xfers[t] = xferRow{From: NoAddr, To: NoAddr, Asset: NoAddr, Tx: NoTx}
		g.kinds[t] = KindOther
		i := sort.Search(len(g.bigNums), func(i int) bool { return g.bigNums[i] >= t })
		if i < len(g.bigNums) && g.bigNums[i] == t {
			g.bigNums = append(g.bigNums[:i], g.bigNums[i+1:]...)
			g.bigAmts = append(g.bigAmts[:i], g.bigAmts[i+1:]...)
		}
	}
}

func (g *Graph) unspend(o uint64) {
	if o < uint64(len(g.outs)) {
		g.outs[o].SpentBy = NoTx
	}
}

func (g *Graph) setInput(i, v uint64) {
	if i < uint64(len(g.ins)) {
		g.ins[i] = v
	}
}

// rowHeight is the graph's 32-bit height of a block height.
func rowHeight(h int64) int32 {
	if h < 0 || h > math.MaxInt32 {
		return UnknownHeight
	}
	return int32(h)
}

// removedRowHeight marks a graph row retired by a reorg.
const removedRowHeight = math.MinInt64

// load replaces the graph's records with those of the rows in r (read in
// number order) and st's counters.
func (g *Graph) load(ctx context.Context, r pebble.Reader, st *stateRec) error {
	g.gen.Add(1)
	fresh := newGraph(g.s, g.chain, g.model)
	fresh.txs = make([]txRow, 0, st.NextTx)
	fresh.hashes = make([]hash32, 0, st.NextTx)
	if g.model == modelUTXO {
		fresh.outs = make([]OutRec, 0, st.NextOut)
		fresh.ins = make([]uint64, 0, st.NextIn)
	} else {
		fresh.xfers = make([]xferRow, 0, st.NextTransfer)
		fresh.kinds = make([]TransferKind, 0, st.NextTransfer)
	}
	lo := g.keys.graph(0)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo[:len(lo)-4])})
	if err != nil {
		return err
	}
	defer it.Close()
	var spends []spend
	for ok := it.First(); ok; ok = it.Next() {
		if len(fresh.txs)&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := it.Key()
		n := binary.BigEndian.Uint32(k[len(k)-4:])
		if n != uint32(len(fresh.txs)) {
			return fmt.Errorf("chainstore: graph of %s: row %d where %d was due: %w", g.chain, n, len(fresh.txs), errCorrupt)
		}
		row, err := decodeGraphRow(g.model, it.Value())
		if err != nil {
			return fmt.Errorf("chainstore: graph row %d of %s: %w", n, g.chain, err)
		}
		height := rowHeight(row.Height)
		if row.Height == removedRowHeight {
			height = RemovedHeight
		}
		if g.model == modelUTXO {
			if row.FirstIn != uint64(len(fresh.ins)) || row.FirstOut != uint64(len(fresh.outs)) {
				return fmt.Errorf("chainstore: graph row %d of %s starts at in %d out %d, not %d %d: %w", n, g.chain, row.FirstIn, row.FirstOut, len(fresh.ins), len(fresh.outs), errCorrupt)
			}
			fresh.txs = append(fresh.txs, makeTxRow(row.FirstIn, row.FirstOut, height))
			for _, c := range row.Ins {
				v := uint64(InputUnknown)
				switch c {
				case rowInCoinbase:
					v = InputCoinbase
				case rowInUnknown:
				default:
					v = c - 2
					spends = append(spends, spend{out: v, tx: n})
				}
				fresh.ins = append(fresh.ins, v)
			}
			for _, o := range row.Outs {
				fresh.outs = append(fresh.outs, OutRec{Value: o.Value, Addr: o.Addr, SpentBy: NoTx})
			}
		} else {
			if row.FirstTransfer != uint64(len(fresh.xfers)) {
				return fmt.Errorf("chainstore: graph row %d of %s starts at transfer %d, not %d: %w", n, g.chain, row.FirstTransfer, len(fresh.xfers), errCorrupt)
			}
			fresh.txs = append(fresh.txs, makeTxRow(0, row.FirstTransfer, height))
			for _, x := range row.Xfers {
				t := uint64(len(fresh.xfers))
				xr := xferRow{From: x.From, To: x.To, Asset: x.Asset, Tx: n}
				if height == RemovedHeight {
					xr.Tx = NoTx
				}
				if x.Amount.big != nil || x.Amount.u == AmountOverflow {
					xr.Amount = AmountOverflow
					fresh.bigNums = append(fresh.bigNums, t)
					fresh.bigAmts = append(fresh.bigAmts, x.Amount.Big())
				} else {
					xr.Amount = x.Amount.u
				}
				fresh.xfers = append(fresh.xfers, xr)
				fresh.kinds = append(fresh.kinds, TransferKind(x.Kind))
				if height != RemovedHeight {
					fresh.addOut(x.From, t)
				}
			}
		}
		fresh.hashes = append(fresh.hashes, row.Hash)
	}
	if err := it.Error(); err != nil {
		return err
	}
	if uint32(len(fresh.txs)) != st.NextTx || uint64(len(fresh.outs)) != st.NextOut || uint64(len(fresh.ins)) != st.NextIn || uint64(len(fresh.xfers)) != st.NextTransfer {
		return fmt.Errorf("chainstore: graph rows of %s end at tx %d out %d in %d transfer %d, counters at %d %d %d %d: %w",
			g.chain, len(fresh.txs), len(fresh.outs), len(fresh.ins), len(fresh.xfers), st.NextTx, st.NextOut, st.NextIn, st.NextTransfer, errCorrupt)
	}
	for _, sp := range spends {
		if sp.out >= uint64(len(fresh.outs)) {
			return fmt.Errorf("chainstore: graph of %s: tx %d spends output %d of %d: %w", g.chain, sp.tx, sp.out, len(fresh.outs), errCorrupt)
		}
		fresh.outs[sp.out].SpentBy = sp.tx
	}
	g.mu.Lock()
	g.txs, g.hashes, g.outs, g.ins = fresh.txs, fresh.hashes, fresh.outs, fresh.ins
	g.xfers, g.kinds, g.bigNums, g.bigAmts, g.addrOut = fresh.xfers, fresh.kinds, fresh.bigNums, fresh.bigAmts, fresh.addrOut
	g.mu.Unlock()
	return nil
}
