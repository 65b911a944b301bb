package chainstore

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
)

// This file holds the records the index stores as Pebble values, with their
// encoders and decoders. Every decoder reads untrusted bytes (a damaged
// file, a newer schema) and must fail with errCorrupt, never panic or
// allocate more than the input can describe: FuzzDecodeRecords checks it.

// errCorrupt reports a stored record that does not decode.
var errCorrupt = errors.New("chainstore: corrupt record")

// hash32 is a block or transaction hash in the order the chain displays it.
type hash32 = [32]byte

// enc appends the primitives of the record encoding.
type enc struct{ b []byte }

func (e *enc) u(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) v(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte1(c byte)  { e.b = append(e.b, c) }
func (e *enc) hash(h hash32) { e.b = append(e.b, h[:]...) }
func (e *enc) bytes(p []byte) {
	e.u(uint64(len(p)))
	e.b = append(e.b, p...)
}
func (e *enc) str(s string) {
	e.u(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) amount(a amount) { e.bytes(a.magnitude()) }

// dec reads what enc wrote. The first failure latches err; every later read
// returns a zero value.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() { d.err = errCorrupt; d.b = nil }

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 { // overflow, or not minimal
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) v() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// u32 reads a uvarint that must fit 32 bits.
func (d *dec) u32() uint32 {
	v := d.u()
	if v > math.MaxUint32 {
		d.fail()
		return 0
	}
	return uint32(v)
}

func (d *dec) byte1() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) hash() (h hash32) {
	if d.err != nil || len(d.b) < 32 {
		d.fail()
		return h
	}
	copy(h[:], d.b)
	d.b = d.b[32:]
	return h
}

// raw returns the next length-prefixed bytes, aliasing the input.
func (d *dec) raw() []byte {
	n := d.u()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *dec) str() string { return string(d.raw()) }

func (d *dec) amount() amount {
	p := d.raw()
	if len(p) > 0 && p[0] == 0 {
		d.fail() // not minimal
		return amount{}
	}
	return amountFromMagnitude(p)
}

// count reads an item count, each item taking at least min bytes.
func (d *dec) count(min int) int {
	n := d.u()
	if d.err != nil || n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

// done checks that the whole record was read.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}

// amount is an exact non-negative amount: a uint64 while it fits, a
// big.Int beyond. The zero value is 0.
type amount struct {
	u   uint64
	big *big.Int // non-nil only when the value exceeds math.MaxUint64
}

func amountU(u uint64) amount { return amount{u: u} }

func amountBig(x *big.Int) amount {
	if x.IsUint64() {
		return amount{u: x.Uint64()}
	}
	return amount{big: new(big.Int).Set(x)}
}

func amountFromMagnitude(p []byte) amount {
	if len(p) <= 8 {
		var u uint64
		for _, c := range p {
			u = u<<8 | uint64(c)
		}
		return amount{u: u}
	}
	return amount{big: new(big.Int).SetBytes(p)}
}

func (a amount) isZero() bool { return a.big == nil && a.u == 0 }

// Big returns the amount as a new big.Int.
func (a amount) Big() *big.Int {
	if a.big != nil {
		return new(big.Int).Set(a.big)
	}
	return new(big.Int).SetUint64(a.u)
}

func (a amount) magnitude() []byte {
	if a.big != nil {
		return a.big.Bytes()
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], a.u)
	i := 0
	for i < 8 && b[i] == 0 {
		i++
	}
	return append([]byte(nil), b[i:]...)
}

func (a amount) add(b amount) amount {
	if a.big == nil && b.big == nil {
		if s := a.u + b.u; s >= a.u {
			return amount{u: s}
		}
	}
	return amountBig(new(big.Int).Add(a.Big(), b.Big()))
}

// sub returns a-b, or false when b > a.
func (a amount) sub(b amount) (amount, bool) {
	if a.big == nil && b.big == nil {
		if b.u > a.u {
			return amount{}, false
		}
		return amount{u: a.u - b.u}, true
	}
	d := new(big.Int).Sub(a.Big(), b.Big())
	if d.Sign() < 0 {
		return amount{}, false
	}
	return amountBig(d), true
}

func (a amount) cmp(b amount) int { return a.Big().Cmp(b.Big()) }

// stateRec (key c) is a chain's counters: the next number of each kind and
// the applied totals.
type stateRec struct {
	Model        byte // 0 UTXO, 1 account
	NextTx       uint32
	NextOut      uint64
	NextIn       uint64
	NextAddr     uint32
	NextAsset    uint32
	NextTransfer uint64
	NextSeg      uint32
	Blocks, Txs  uint64
}

func (r *stateRec) encode() []byte {
	e := enc{b: make([]byte, 0, 48)}
	e.byte1(r.Model)
	e.u(uint64(r.NextTx))
	e.u(r.NextOut)
	e.u(r.NextIn)
	e.u(uint64(r.NextAddr))
	e.u(uint64(r.NextAsset))
	e.u(r.NextTransfer)
	e.u(uint64(r.NextSeg))
	e.u(r.Blocks)
	e.u(r.Txs)
	return e.b
}

func decodeState(p []byte) (r stateRec, err error) {
	d := dec{b: p}
	r.Model = d.byte1()
	r.NextTx = d.u32()
	r.NextOut = d.u()
	r.NextIn = d.u()
	r.NextAddr = d.u32()
	r.NextAsset = d.u32()
	r.NextTransfer = d.u()
	r.NextSeg = d.u32()
	r.Blocks = d.u()
	r.Txs = d.u()
	if r.Model > 1 {
		d.fail()
	}
	return r, d.done()
}

// Block states.
const (
	blockApplied byte = 1 // in the index, with its undo data
	blockStale   byte = 2 // rolled back by a reorg: header only
)

// ranges are the numbers a block took, [First, End) of each kind: its undo
// data together with its transaction list.
type ranges struct {
	FirstTx, EndTx             uint32
	FirstOut, EndOut           uint64
	FirstIn, EndIn             uint64
	FirstAddr, EndAddr         uint32
	FirstTransfer, EndTransfer uint64
}

// blockRec (key b) is a block: its place, and while applied the undo data
// that rolls it back.
type blockRec struct {
	State  byte
	Seg    uint32
	Height int64 // -1: unknown
	Parent hash32
	Time   int64 // unix seconds
	NTx    uint32
	// Applied blocks only:
	Txs     []hash32 // in block order
	Skipped []uint32 // positions of transactions not indexed (duplicate ids)
	R       ranges
}

func (r *blockRec) encode() []byte {
	e := enc{b: make([]byte, 0, 96+32*len(r.Txs))}
	e.byte1(r.State)
	e.u(uint64(r.Seg))
	e.v(r.Height)
	e.hash(r.Parent)
	e.v(r.Time)
	e.u(uint64(r.NTx))
	if r.State != blockApplied {
		return e.b
	}
	e.u(uint64(len(r.Txs)))
	for _, h := range r.Txs {
		e.hash(h)
	}
	e.u(uint64(len(r.Skipped)))
	for _, p := range r.Skipped {
		e.u(uint64(p))
	}
	e.u(uint64(r.R.FirstTx))
	e.u(uint64(r.R.EndTx - r.R.FirstTx))
	e.u(r.R.FirstOut)
	e.u(r.R.EndOut - r.R.FirstOut)
	e.u(r.R.FirstIn)
	e.u(r.R.EndIn - r.R.FirstIn)
	e.u(uint64(r.R.FirstAddr))
	e.u(uint64(r.R.EndAddr - r.R.FirstAddr))
	e.u(r.R.FirstTransfer)
	e.u(r.R.EndTransfer - r.R.FirstTransfer)
	return e.b
}

func decodeBlock(p []byte) (r blockRec, err error) {
	d := dec{b: p}
	r.State = d.byte1()
	r.Seg = d.u32()
	r.Height = d.v()
	r.Parent = d.hash()
	r.Time = d.v()
	r.NTx = d.u32()
	switch r.State {
	case blockStale:
		return r, d.done()
	case blockApplied:
	default:
		d.fail()
		return r, d.done()
	}
	n := d.count(32)
	r.Txs = make([]hash32, n)
	for i := range r.Txs {
		r.Txs[i] = d.hash()
	}
	if n = d.count(1); n > 0 {
		r.Skipped = make([]uint32, n)
		for i := range r.Skipped {
			r.Skipped[i] = d.u32()
		}
	}
	r.R.FirstTx = d.u32()
	r.R.EndTx = add32(&d, r.R.FirstTx, d.u())
	r.R.FirstOut = d.u()
	r.R.EndOut = add64(&d, r.R.FirstOut, d.u())
	r.R.FirstIn = d.u()
	r.R.EndIn = add64(&d, r.R.FirstIn, d.u())
	r.R.FirstAddr = d.u32()
	r.R.EndAddr = add32(&d, r.R.FirstAddr, d.u())
	r.R.FirstTransfer = d.u()
	r.R.EndTransfer = add64(&d, r.R.FirstTransfer, d.u())
	return r, d.done()
}

func add32(d *dec, a uint32, n uint64) uint32 {
	if n > math.MaxUint32-uint64(a) {
		d.fail()
		return a
	}
	return a + uint32(n)
}

func add64(d *dec, a, n uint64) uint64 {
	if n > math.MaxUint64-a {
		d.fail()
		return a
	}
	return a + n
}

// segRec (key s) is a segment: a run of applied blocks, each the parent of
// the next.
type segRec struct {
	StartHash   hash32
	StartParent hash32 // the unknown parent the segment hangs from
	StartHeight int64  // -1: unknown
	Tip         hash32
	Blocks, Txs uint64
}

func (r *segRec) tipHeight() int64 {
	if r.StartHeight < 0 {
		return -1
	}
	return r.StartHeight + int64(r.Blocks) - 1
}

func (r *segRec) encode() []byte {
	e := enc{b: make([]byte, 0, 112)}
	e.hash(r.StartHash)
	e.hash(r.StartParent)
	e.v(r.StartHeight)
	e.hash(r.Tip)
	e.u(r.Blocks)
	e.u(r.Txs)
	return e.b
}

func decodeSeg(p []byte) (r segRec, err error) {
	d := dec{b: p}
	r.StartHash = d.hash()
	r.StartParent = d.hash()
	r.StartHeight = d.v()
	r.Tip = d.hash()
	r.Blocks = d.u()
	r.Txs = d.u()
	return r, d.done()
}

// Transaction flags.
const (
	txCoinbase       = 1 << 0
	txFailed         = 1 << 1
	txFailureUnknown = 1 << 2
)

// prevOut is an input's outpoint.
type prevOut struct {
	Tx    hash32
	Index uint32
}

// xferRec is an account transfer as the tx record keeps it.
type xferRec struct {
	From, To string
	Asset    uint32
	Amount   amount
	Kind     string
	TokenID  []byte // magnitude; nil when none
	HasToken bool
}

// txRec (key t) is a transaction: its number, block and position, and its
// inputs (outpoints) and output indexes, or its transfers.
type txRec struct {
	Num   uint32
	Block hash32
	Pos   uint32
	Flags byte
	// UTXO:
	Inputs []prevOut
	NOut   uint32
	OutIdx []uint32 // nil: 0..NOut-1
	// Account:
	Transfers []xferRec
}

func (r *txRec) outIndex(i int) uint32 {
	if r.OutIdx != nil {
		return r.OutIdx[i]
	}
	return uint32(i)
}

func (r *txRec) encode(model byte) []byte {
	e := enc{b: make([]byte, 0, 48+36*len(r.Inputs)+64*len(r.Transfers))}
	e.u(uint64(r.Num))
	e.hash(r.Block)
	e.u(uint64(r.Pos))
	e.byte1(r.Flags)
	if model == modelUTXO {
		e.u(uint64(len(r.Inputs)))
		for _, in := range r.Inputs {
			e.hash(in.Tx)
			e.u(uint64(in.Index))
		}
		e.u(uint64(r.NOut))
		if r.OutIdx == nil {
			e.byte1(0)
		} else {
			e.byte1(1)
			for _, x := range r.OutIdx {
				e.u(uint64(x))
			}
		}
		return e.b
	}
	e.u(uint64(len(r.Transfers)))
	for i := range r.Transfers {
		t := &r.Transfers[i]
		e.str(t.From)
		e.str(t.To)
		e.u(uint64(t.Asset))
		e.amount(t.Amount)
		e.str(t.Kind)
		if t.HasToken {
			e.byte1(1)
			e.bytes(t.TokenID)
		} else {
			e.byte1(0)
		}
	}
	return e.b
}

func decodeTx(model byte, p []byte) (r txRec, err error) {
	d := dec{b: p}
	r.Num = d.u32()
	r.Block = d.hash()
	r.Pos = d.u32()
	r.Flags = d.byte1()
	if model == modelUTXO {
		n := d.count(33)
		if n > 0 {
			r.Inputs = make([]prevOut, n)
		}
		for i := range r.Inputs {
			r.Inputs[i] = prevOut{Tx: d.hash(), Index: d.u32()}
		}
		r.NOut = d.u32()
		switch d.byte1() {
		case 0:
		case 1:
			if uint64(r.NOut) > uint64(len(d.b)) {
				d.fail()
				break
			}
			r.OutIdx = make([]uint32, r.NOut)
			for i := range r.OutIdx {
				r.OutIdx[i] = d.u32()
			}
		default:
			d.fail()
		}
		return r, d.done()
	}
	n := d.count(6)
	if n > 0 {
		r.Transfers = make([]xferRec, n)
	}
	for i := range r.Transfers {
		t := &r.Transfers[i]
		t.From = d.str()
		t.To = d.str()
		t.Asset = d.u32()
		t.Amount = d.amount()
		t.Kind = d.str()
		switch d.byte1() {
		case 0:
		case 1:
			t.HasToken = true
			t.TokenID = d.bytes()
		default:
			d.fail()
		}
	}
	return r, d.done()
}

// outRec (key o) is a UTXO output with its spending input once spent.
type outRec struct {
	Num     uint64
	Value   uint64
	Kind    string
	Key     string
	Address string
	Script  []byte
	Spent   bool
	SpentTx hash32
	SpentIn uint32
}

func (r *outRec) encode() []byte {
	e := enc{b: make([]byte, 0, 24+len(r.Kind)+len(r.Key)+len(r.Address)+len(r.Script)+37)}
	e.u(r.Num)
	e.u(r.Value)
	e.str(r.Kind)
	e.str(r.Key)
	if r.Address == r.Key {
		e.byte1(0)
	} else {
		e.byte1(1)
		e.str(r.Address)
	}
	e.bytes(r.Script)
	if r.Spent {
		e.byte1(1)
		e.hash(r.SpentTx)
		e.u(uint64(r.SpentIn))
	} else {
		e.byte1(0)
	}
	return e.b
}

func decodeOut(p []byte) (r outRec, err error) {
	d := dec{b: p}
	r.Num = d.u()
	r.Value = d.u()
	r.Kind = d.str()
	r.Key = d.str()
	switch d.byte1() {
	case 0:
		r.Address = r.Key
	case 1:
		if r.Address = d.str(); r.Address == r.Key {
			d.fail() // written once when equal
		}
	default:
		d.fail()
	}
	r.Script = d.bytes()
	switch d.byte1() {
	case 0:
	case 1:
		r.Spent = true
		r.SpentTx = d.hash()
		r.SpentIn = d.u32()
	default:
		d.fail()
	}
	return r, d.done()
}

// addrRec (key k) is an address key's number and the count of
// transactions that touch it (any asset).
type addrRec struct {
	Num uint32
	Txs uint64
}

func (r *addrRec) encode() []byte {
	e := enc{b: make([]byte, 0, 12)}
	e.u(uint64(r.Num))
	e.u(r.Txs)
	return e.b
}

func decodeAddr(p []byte) (r addrRec, err error) {
	d := dec{b: p}
	r.Num = d.u32()
	r.Txs = d.u()
	return r, d.done()
}

// seen is when an address was first or last seen: a transaction number
// with its block's height and time.
type seen struct {
	Tx     uint32
	Height int64
	Time   int64
}

// balRec (key a) is an address's totals in one asset.
type balRec struct {
	Received, Sent amount
	Txs            uint64
	First, Last    seen
}

func (r *balRec) encode() []byte {
	e := enc{b: make([]byte, 0, 48)}
	e.amount(r.Received)
	e.amount(r.Sent)
	e.u(r.Txs)
	for _, s := range [2]seen{r.First, r.Last} {
		e.u(uint64(s.Tx))
		e.v(s.Height)
		e.v(s.Time)
	}
	return e.b
}

func decodeBal(p []byte) (r balRec, err error) {
	d := dec{b: p}
	r.Received = d.amount()
	r.Sent = d.amount()
	r.Txs = d.u()
	for _, s := range [2]*seen{&r.First, &r.Last} {
		s.Tx = d.u32()
		s.Height = d.v()
		s.Time = d.v()
	}
	return r, d.done()
}

// histRec (key h) is what one transaction did to one address in one asset.
type histRec struct {
	Tx              hash32
	Height          int64
	Time            int64
	Received, Sent  amount
	Credits, Debits uint32
}

func (r *histRec) encode() []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.hash(r.Tx)
	e.v(r.Height)
	e.v(r.Time)
	e.amount(r.Received)
	e.amount(r.Sent)
	e.u(uint64(r.Credits))
	e.u(uint64(r.Debits))
	return e.b
}

func decodeHist(p []byte) (r histRec, err error) {
	d := dec{b: p}
	r.Tx = d.hash()
	r.Height = d.v()
	r.Time = d.v()
	r.Received = d.amount()
	r.Sent = d.amount()
	r.Credits = d.u32()
	r.Debits = d.u32()
	return r, d.done()
}

// cursorRec (key u) is where a source's ingest stands.
type cursorRec struct {
	Height int64
	Hash   hash32
	Time   int64
}

func (r *cursorRec) encode() []byte {
	e := enc{b: make([]byte, 0, 48)}
	e.v(r.Height)
	e.hash(r.Hash)
	e.v(r.Time)
	return e.b
}

func decodeCursor(p []byte) (r cursorRec, err error) {
	d := dec{b: p}
	r.Height = d.v()
	r.Hash = d.hash()
	r.Time = d.v()
	return r, d.done()
}

// Input codes in graph rows: 0 coinbase, 1 unknown, else output number + 2.
const (
	rowInCoinbase = 0
	rowInUnknown  = 1
)

// rowOut is an output as the graph row keeps it.
type rowOut struct {
	Value uint64
	Addr  uint32 // NoAddr when the output has no key
}

// rowXfer is a transfer as the graph row keeps it.
type rowXfer struct {
	From, To, Asset uint32
	Kind            uint8
	Amount          amount
}

// graphRow (key g) is one transaction of the dense graph, keyed by its
// number: what RebuildGraph reads, in order, to rebuild the graph without
// a random read.
type graphRow struct {
	Hash   hash32
	Height int64
	// UTXO:
	FirstIn, FirstOut uint64
	Ins               []uint64 // input codes
	Outs              []rowOut
	// Account:
	FirstTransfer uint64
	Xfers         []rowXfer
}

func (r *graphRow) encode(model byte) []byte {
	e := enc{b: make([]byte, 0, 56+4*len(r.Ins)+10*len(r.Outs)+24*len(r.Xfers))}
	e.hash(r.Hash)
	e.v(r.Height)
	if model == modelUTXO {
		e.u(r.FirstIn)
		e.u(r.FirstOut)
		e.u(uint64(len(r.Ins)))
		for _, c := range r.Ins {
			e.u(c)
		}
		e.u(uint64(len(r.Outs)))
		for _, o := range r.Outs {
			e.u(o.Value)
			e.u(uint64(o.Addr))
		}
		return e.b
	}
	e.u(r.FirstTransfer)
	e.u(uint64(len(r.Xfers)))
	for _, x := range r.Xfers {
		e.u(uint64(x.From))
		e.u(uint64(x.To))
		e.u(uint64(x.Asset))
		e.byte1(x.Kind)
		e.amount(x.Amount)
	}
	return e.b
}

func decodeGraphRow(model byte, p []byte) (r graphRow, err error) {
	d := dec{b: p}
	r.Hash = d.hash()
	r.Height = d.v()
	if model == modelUTXO {
		r.FirstIn = d.u()
		r.FirstOut = d.u()
		if n := d.count(1); n > 0 {
			r.Ins = make([]uint64, n)
			for i := range r.Ins {
				r.Ins[i] = d.u()
			}
		}
		if n := d.count(2); n > 0 {
			r.Outs = make([]rowOut, n)
			for i := range r.Outs {
				r.Outs[i] = rowOut{Value: d.u(), Addr: d.u32()}
			}
		}
		return r, d.done()
	}
	r.FirstTransfer = d.u()
	if n := d.count(5); n > 0 {
		r.Xfers = make([]rowXfer, n)
		for i := range r.Xfers {
			x := &r.Xfers[i]
			x.From = d.u32()
			x.To = d.u32()
			x.Asset = d.u32()
			x.Kind = d.byte1()
			x.Amount = d.amount()
		}
	}
	return r, d.done()
}

// Models as stateRec keeps them.
const (
	modelUTXO    byte = 0
	modelAccount byte = 1
)
