package chainstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
)

// ent is a cached record of a writer: what the store holds (found) and
// whether the batch must write it back (dirty; a dirty entry that is not
// found is deleted).
type ent[T any] struct {
	rec          T
	found, dirty bool
}

// cache holds the records a writer reads and modifies, so that a record
// touched many times in a batch is read and written once.
type cache[T any] struct {
	m   map[string]*ent[T]
	dec func([]byte) (T, error)
	enc func(*T) []byte
}

func newCache[T any](dec func([]byte) (T, error), enc func(*T) []byte) cache[T] {
	return cache[T]{m: map[string]*ent[T]{}, dec: dec, enc: enc}
}

// fetcher reads key and hands its value to fn; a missing key is
// errNoRecord.
type fetcher func(key []byte, fn func([]byte) error) error

func (c *cache[T]) get(fetch fetcher, key []byte) (*ent[T], error) {
	if e, ok := c.m[string(key)]; ok {
		return e, nil
	}
	e := &ent[T]{}
	err := fetch(key, func(p []byte) (err error) { e.rec, err = c.dec(p); return err })
	switch {
	case err == nil:
		e.found = true
	case !errors.Is(err, errNoRecord):
		return nil, fmt.Errorf("read %x: %w", key, err)
	}
	c.m[string(key)] = e
	return e, nil
}

// put caches a new record to write.
func (c *cache[T]) put(key []byte, rec T) *ent[T] {
	e := &ent[T]{rec: rec, found: true, dirty: true}
	c.m[string(key)] = e
	return e
}

func (c *cache[T]) flush(b *pebble.Batch) error {
	for k, e := range c.m {
		if !e.dirty {
			continue
		}
		var err error
		if e.found {
			err = b.Set([]byte(k), c.enc(&e.rec), nil)
		} else {
			err = b.Delete([]byte(k), nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// agg is what one transaction does to one address (and asset).
type agg struct {
	recv, sent      amount
	credits, debits uint32
}

type aggKey struct {
	name  string
	asset uint32
}

// writer builds one batch: one or more blocks, or one reorg.
type writer struct {
	s       *Store
	cs      *chainState
	k       keys
	model   byte
	indexed bool
	r       pebble.Reader // the DB, or the indexed batch of a reorg
	b       *pebble.Batch
	st      stateRec

	blocks, txs int // applied in this batch, for the group bounds

	blockRecs cache[blockRec]
	segs      cache[segRec]
	outs      cache[outRec]
	addrs     cache[addrRec]
	bals      cache[balRec]
	assets    map[string]uint32
	txSeen    map[hash32]struct{}
	cursors   map[string]cursorRec

	agg          map[aggKey]*agg
	names        map[string]struct{}
	recompute    map[string]aggKey
	deletedAddrs map[uint32]bool
	// fresh are the addresses this batch numbered.
	fresh map[string]bool

	delta graphDelta
	based bool // delta's base numbers are set

	// it serves the point reads of a plain batch: one iterator seeked
	// again and again costs less than a Get each.
	it *pebble.Iterator

	last         tipRef          // the last block applied
	startParents map[hash32]bool // parents of the segments this batch started
}

func (s *Store) newWriter(cs *chainState, indexed bool) *writer {
	w := &writer{
		s: s, cs: cs, k: cs.k, model: cs.model, indexed: indexed, st: cs.st, last: cs.last, startParents: map[hash32]bool{},
		blockRecs: newCache(decodeBlock, (*blockRec).encode),
		segs:      newCache(decodeSeg, (*segRec).encode),
		outs:      newCache(decodeOut, (*outRec).encode),
		addrs:     newCache(decodeAddr, (*addrRec).encode),
		bals:      newCache(decodeBal, (*balRec).encode),
		assets:    map[string]uint32{},
		txSeen:    map[hash32]struct{}{},
		cursors:   map[string]cursorRec{},
		agg:       map[aggKey]*agg{},
		names:     map[string]struct{}{},
		recompute: map[string]aggKey{},

		deletedAddrs: map[uint32]bool{},
		fresh:        map[string]bool{},
	}
	if indexed {
		w.b = s.db.NewIndexedBatch()
		w.r = w.b
	} else {
		w.b = s.db.NewBatch()
		w.r = s.db
	}
	return w
}

func (w *writer) discard() {
	if w.it != nil {
		_ = w.it.Close()
		w.it = nil
	}
	_ = w.b.Close()
}

// fetch reads key as the batch sees it: through the indexed batch of a
// reorg, else through an iterator on the DB (the batch's own writes are
// in its caches).
func (w *writer) fetch(key []byte, fn func([]byte) error) error {
	if w.indexed {
		return w.s.getRec(w.r, key, fn)
	}
	if w.s.closed.Load() {
		return ErrClosed
	}
	if w.it == nil {
		it, err := w.s.db.NewIter(nil)
		if err != nil {
			return err
		}
		w.it = it
	}
	if !w.it.SeekPrefixGE(key) || !bytes.Equal(w.it.Key(), key) {
		if err := w.it.Error(); err != nil {
			return err
		}
		return errNoRecord
	}
	v, err := w.it.ValueAndErr()
	if err != nil {
		return err
	}
	return fn(v)
}

// commit writes the cached records, the counters and the cursors, commits
// the batch, and then extends the graph.
func (w *writer) commit() error {
	defer w.discard()
	if w.it != nil {
		if err := w.it.Close(); err != nil {
			return err
		}
		w.it = nil
	}
	if w.blocks == 0 && len(w.cursors) == 0 && len(w.delta.steps) == 0 {
		return nil
	}
	for _, f := range []func(*pebble.Batch) error{w.blockRecs.flush, w.segs.flush, w.outs.flush, w.addrs.flush, w.bals.flush} {
		if err := f(w.b); err != nil {
			return err
		}
	}
	for src, c := range w.cursors {
		if err := w.b.Set(w.k.cursor(src), c.encode(), nil); err != nil {
			return err
		}
	}
	if err := w.b.Set(w.k.state(), w.st.encode(), nil); err != nil {
		return err
	}
	if err := w.b.Set(chainKey(w.cs.id), nil, nil); err != nil {
		return err
	}
	opt := pebble.Sync
	if w.s.opts.NoSync {
		opt = pebble.NoSync
	}
	if err := w.b.Commit(opt); err != nil {
		return fmt.Errorf("chainstore: commit: %w", err)
	}
	w.cs.st = w.st
	w.cs.last = w.last
	for p := range w.startParents {
		w.cs.startParents[p] = true
	}
	if !w.cs.stored {
		w.s.cmu.Lock()
		w.cs.stored = true
		w.s.cmu.Unlock()
	}
	if err := w.cs.graph.apply(&w.delta); err != nil {
		w.s.log.Error("graph out of step with the index; rebuilding", "chain", w.cs.id, "err", err)
		return w.cs.graph.load(context.Background(), w.s.db, &w.cs.st)
	}
	return nil
}

// placement is where a block goes.
type placement struct {
	hash, parent hash32
	noop         bool
	reorg        bool
	newSeg       bool
	seg          uint32
	height       int64
}

func (w *writer) block(h hash32) (*ent[blockRec], error) {
	return w.blockRecs.get(w.fetch, w.k.block(h))
}

func (w *writer) seg(id uint32) (*ent[segRec], error) {
	e, err := w.segs.get(w.fetch, w.k.seg(id))
	if err == nil && !e.found {
		err = fmt.Errorf("segment %d: %w", id, errCorrupt)
	}
	return e, err
}

// place decides where b goes (see ApplyFrom).
func (w *writer) place(b *chain.Block) (placement, error) {
	var p placement
	p.hash, _ = parseHash(b.Hash)
	p.parent, _ = parseHash(b.Parent)
	if w.last.ok && p.parent == w.last.hash && !w.cs.startParents[p.parent] && !w.startParents[p.parent] {
		// On the block just applied, the tip of its segment: b cannot be
		// applied already (it would be above the tip, or the start of a
		// segment hanging from the parent).
		p.seg, p.height = w.last.seg, -1
		if w.last.height >= 0 {
			p.height = w.last.height + 1
		}
		return p, nil
	}
	be, err := w.block(p.hash)
	if err != nil {
		return p, err
	}
	if be.found && be.rec.State == blockApplied {
		p.noop, p.seg, p.height = true, be.rec.Seg, be.rec.Height
		return p, nil
	}
	if p.parent == (hash32{}) {
		p.newSeg, p.height = true, 0
		return p, nil
	}
	pe, err := w.block(p.parent)
	if err != nil {
		return p, err
	}
	if !pe.found {
		p.newSeg, p.height = true, b.Height
		if p.height < 0 {
			p.height = -1
		}
		return p, nil
	}
	if pe.rec.State != blockApplied {
		return p, fault.Wrap(fault.Conflict, ErrStaleParent, "block %s of %s: parent %s", b.Hash, b.Chain, b.Parent)
	}
	p.seg, p.height = pe.rec.Seg, -1
	if pe.rec.Height >= 0 {
		p.height = pe.rec.Height + 1
		if b.Height >= 0 && b.Height != p.height {
			w.s.log.Warn("block height differs from its parent's + 1; using the parent's", "chain", b.Chain, "block", b.Hash, "source_height", b.Height, "height", p.height)
		}
	}
	se, err := w.seg(p.seg)
	if err != nil {
		return p, err
	}
	p.reorg = se.rec.Tip != p.parent
	return p, nil
}

// applyPlaced applies b where place put it, rolling back first on a reorg.
func (w *writer) applyPlaced(b *chain.Block, p placement, source string) error {
	if w.st.NextAsset == 0 {
		if _, err := w.asset(chain.NativeAsset(w.cs.id)); err != nil {
			return err
		}
	}
	if p.noop {
		w.cursors[source] = cursorRec{Height: p.height, Hash: p.hash, Time: b.Time.Unix()}
		return nil
	}
	if p.reorg {
		if err := w.rollbackTo(p.seg, p.parent); err != nil {
			return fmt.Errorf("reorg: %w", err)
		}
	}
	if p.newSeg {
		p.seg = w.st.NextSeg
		w.st.NextSeg++
		w.startParents[p.parent] = true
		w.segs.put(w.k.seg(p.seg), segRec{StartHash: p.hash, StartParent: p.parent, StartHeight: p.height, Tip: p.hash})
	}
	if err := w.applyBlock(b, p); err != nil {
		return err
	}
	w.cursors[source] = cursorRec{Height: p.height, Hash: p.hash, Time: b.Time.Unix()}
	w.last = tipRef{ok: true, hash: p.hash, seg: p.seg, height: p.height}
	return nil
}

func (w *writer) setBase() {
	if !w.based {
		w.based = true
		w.delta.baseTx, w.delta.baseOut, w.delta.baseIn, w.delta.baseTransfer = w.st.NextTx, w.st.NextOut, w.st.NextIn, w.st.NextTransfer
	}
}

func (w *writer) applyBlock(b *chain.Block, p placement) error {
	w.setBase()
	st := &w.st
	br := blockRec{State: blockApplied, Seg: p.seg, Height: p.height, Parent: p.parent, Time: b.Time.Unix(), NTx: uint32(len(b.Txs))}
	br.R.FirstTx, br.R.FirstOut, br.R.FirstIn, br.R.FirstAddr, br.R.FirstTransfer = st.NextTx, st.NextOut, st.NextIn, st.NextAddr, st.NextTransfer
	br.Txs = make([]hash32, len(b.Txs))
	indexed := 0
	for pos := range b.Txs {
		tx := &b.Txs[pos]
		th, _ := parseHash(tx.Hash)
		br.Txs[pos] = th
		dup, err := w.txExists(th)
		if err != nil {
			return err
		}
		if dup {
			w.s.log.Warn("transaction already in the index; not indexed again", "chain", b.Chain, "block", b.Hash, "tx", tx.Hash)
			br.Skipped = append(br.Skipped, uint32(pos))
			continue
		}
		if w.model == modelUTXO {
			err = w.applyUTXO(tx, th, pos, p.hash, p.height, br.Time)
		} else {
			err = w.applyAccount(tx, th, pos, p.hash, p.height, br.Time)
		}
		if err != nil {
			return fmt.Errorf("tx %s: %w", tx.Hash, err)
		}
		indexed++
	}
	br.R.EndTx, br.R.EndOut, br.R.EndIn, br.R.EndAddr, br.R.EndTransfer = st.NextTx, st.NextOut, st.NextIn, st.NextAddr, st.NextTransfer
	w.blockRecs.put(w.k.block(p.hash), br)
	if p.height >= 0 {
		if err := w.b.Set(w.k.height(p.height, p.hash), nil, nil); err != nil {
			return err
		}
	}
	se, err := w.seg(p.seg)
	if err != nil {
		return err
	}
	se.rec.Tip = p.hash
	se.rec.Blocks++
	se.rec.Txs += uint64(indexed)
	se.dirty = true
	st.Blocks++
	st.Txs += uint64(indexed)
	w.blocks++
	w.txs += len(b.Txs)
	return nil
}

func (w *writer) txExists(th hash32) (bool, error) {
	if _, ok := w.txSeen[th]; ok {
		return true, nil
	}
	err := w.fetch(w.k.tx(th), func([]byte) error { return nil })
	if errors.Is(err, errNoRecord) {
		return false, nil
	}
	return err == nil, err
}

// addr returns name's address record, numbering a new one.
func (w *writer) addr(name string) (*ent[addrRec], error) {
	e, err := w.addrs.get(w.fetch, w.k.addr(name))
	if err != nil || e.found {
		return e, err
	}
	if w.st.NextAddr == math.MaxUint32 {
		return nil, fmt.Errorf("address numbers of %s exhausted (2^32-1)", w.cs.id)
	}
	e.rec = addrRec{Num: w.st.NextAddr}
	e.found, e.dirty = true, true
	w.st.NextAddr++
	w.fresh[name] = true
	return e, w.b.Set(w.k.addrNum(e.rec.Num), []byte(name), nil)
}

// asset returns the number of asset id, numbering a new one. Asset
// numbers are never taken back: the asset table only grows.
func (w *writer) asset(id string) (uint32, error) {
	if n, ok := w.assets[id]; ok {
		return n, nil
	}
	var n uint32
	err := w.fetch(w.k.assetID(id), func(p []byte) error {
		d := dec{b: p}
		n = d.u32()
		return d.done()
	})
	switch {
	case err == nil:
	case errors.Is(err, errNoRecord):
		if w.st.NextAsset == math.MaxUint32 {
			return 0, fmt.Errorf("asset numbers of %s exhausted", w.cs.id)
		}
		n = w.st.NextAsset
		w.st.NextAsset++
		e := enc{}
		e.u(uint64(n))
		if err := w.b.Set(w.k.assetID(id), e.b, nil); err != nil {
			return 0, err
		}
		if err := w.b.Set(w.k.asset(n), []byte(id), nil); err != nil {
			return 0, err
		}
	default:
		return 0, err
	}
	w.assets[id] = n
	return n, nil
}

func (w *writer) aggOf(name string, asset uint32) *agg {
	k := aggKey{name, asset}
	a := w.agg[k]
	if a == nil {
		a = &agg{}
		w.agg[k] = a
	}
	return a
}

// names returns the address keys an output is filed under: its Key (or
// its Address when it has no Key), and its Address too when that differs
// (a P2PK output: its script key and its P2PKH address).
func names(key, address string) (primary, alias string) {
	primary = key
	if primary == "" {
		primary = address
	}
	if address != "" && address != primary {
		alias = address
	}
	return primary, alias
}

// balance adds what a transaction did to an address's totals.
func (w *writer) balance(k aggKey, a *agg, num uint32, height, t int64) error {
	bk := w.k.bal(k.name, k.asset)
	var e *ent[balRec]
	if w.fresh[k.name] {
		// A new address has no totals yet: no need to look.
		if e = w.bals.m[string(bk)]; e == nil {
			e = &ent[balRec]{}
			w.bals.m[string(bk)] = e
		}
	} else {
		var err error
		if e, err = w.bals.get(w.fetch, bk); err != nil {
			return err
		}
	}
	now := seen{Tx: num, Height: height, Time: t}
	if !e.found {
		e.rec = balRec{First: now}
		e.found = true
	}
	e.rec.Received = e.rec.Received.add(a.recv)
	e.rec.Sent = e.rec.Sent.add(a.sent)
	e.rec.Txs++
	e.rec.Last = now
	e.dirty = true
	return nil
}

// history writes the history entries and totals of a transaction's
// aggregates and counts the transaction once per address.
func (w *writer) history(th hash32, num uint32, height, t int64) error {
	clear(w.names)
	for k, a := range w.agg {
		h := histRec{Tx: th, Height: height, Time: t, Received: a.recv, Sent: a.sent, Credits: a.credits, Debits: a.debits}
		if err := w.b.Set(w.k.hist(k.name, num, k.asset), h.encode(), nil); err != nil {
			return err
		}
		if err := w.balance(k, a, num, height, t); err != nil {
			return err
		}
		w.names[k.name] = struct{}{}
	}
	for name := range w.names {
		e, err := w.addr(name)
		if err != nil {
			return err
		}
		e.rec.Txs++
		e.dirty = true
	}
	return nil
}

func (w *writer) nextTx() (uint32, error) {
	if w.st.NextTx == math.MaxUint32 {
		return 0, fmt.Errorf("transaction numbers of %s exhausted (2^32-1)", w.cs.id)
	}
	n := w.st.NextTx
	w.st.NextTx++
	return n, nil
}

func (w *writer) applyUTXO(tx *chain.Tx, th hash32, pos int, bh hash32, height, t int64) error {
	num, err := w.nextTx()
	if err != nil {
		return err
	}
	w.txSeen[th] = struct{}{}
	rec := txRec{Num: num, Block: bh, Pos: uint32(pos), NOut: uint32(len(tx.Outputs))}
	if tx.Coinbase {
		rec.Flags |= txCoinbase
	}
	row := graphRow{Hash: th, Height: height, FirstIn: w.st.NextIn, FirstOut: w.st.NextOut}
	clear(w.agg)
	rec.Inputs = make([]prevOut, len(tx.Inputs))
	row.Ins = make([]uint64, len(tx.Inputs))
	for j := range tx.Inputs {
		if tx.Coinbase {
			rec.Inputs[j] = prevOut{Index: math.MaxUint32}
			row.Ins[j] = rowInCoinbase
			continue
		}
		prev := tx.Inputs[j].Prev
		ph, _ := parseHash(prev.Tx)
		rec.Inputs[j] = prevOut{Tx: ph, Index: prev.Index}
		row.Ins[j] = rowInUnknown
		e, err := w.outs.get(w.fetch, w.k.out(ph, prev.Index))
		if err != nil {
			return err
		}
		if !e.found {
			continue
		}
		if e.rec.Spent {
			w.s.log.Warn("input spends an output already spent; left unresolved", "chain", w.cs.id, "tx", tx.Hash, "input", j, "prev", prev.String())
			continue
		}
		e.rec.Spent, e.rec.SpentTx, e.rec.SpentIn, e.dirty = true, th, uint32(j), true
		row.Ins[j] = e.rec.Num + 2
		w.delta.spends = append(w.delta.spends, spend{out: e.rec.Num, tx: num})
		p, a := names(e.rec.Key, e.rec.Address)
		for _, name := range [2]string{p, a} {
			if name != "" {
				g := w.aggOf(name, 0)
				g.sent = g.sent.add(amountU(e.rec.Value))
				g.debits++
			}
		}
	}
	w.st.NextIn += uint64(len(tx.Inputs))
	row.Outs = make([]rowOut, len(tx.Outputs))
	for j := range tx.Outputs {
		out := &tx.Outputs[j]
		if out.Index != uint32(j) && rec.OutIdx == nil {
			rec.OutIdx = make([]uint32, len(tx.Outputs))
			for i := range j {
				rec.OutIdx[i] = uint32(i)
			}
		}
		if rec.OutIdx != nil {
			rec.OutIdx[j] = out.Index
		}
		p, a := names(out.Key, out.Address)
		addrNum := uint32(NoAddr)
		for i, name := range [2]string{p, a} {
			if name == "" {
				continue
			}
			e, err := w.addr(name)
			if err != nil {
				return err
			}
			if i == 0 {
				addrNum = e.rec.Num
			}
			g := w.aggOf(name, 0)
			g.recv = g.recv.add(amountU(uint64(out.Value)))
			g.credits++
		}
		w.outs.put(w.k.out(th, out.Index), outRec{
			Num: w.st.NextOut, Value: uint64(out.Value), Kind: out.Kind, Key: out.Key, Address: out.Address, Script: out.Script,
		})
		w.st.NextOut++
		row.Outs[j] = rowOut{Value: uint64(out.Value), Addr: addrNum}
	}
	if err := w.history(th, num, height, t); err != nil {
		return err
	}
	if err := w.b.Set(w.k.tx(th), rec.encode(w.model), nil); err != nil {
		return err
	}
	if err := w.b.Set(w.k.graph(num), row.encode(w.model), nil); err != nil {
		return err
	}
	d := &w.delta
	d.txs = append(d.txs, makeTxRow(row.FirstIn, row.FirstOut, rowHeight(height)))
	d.hashes = append(d.hashes, th)
	for _, c := range row.Ins {
		switch c {
		case rowInCoinbase:
			d.ins = append(d.ins, InputCoinbase)
		case rowInUnknown:
			d.ins = append(d.ins, InputUnknown)
		default:
			d.ins = append(d.ins, c-2)
		}
	}
	for _, o := range row.Outs {
		d.outs = append(d.outs, OutRec{Value: o.Value, Addr: o.Addr, SpentBy: NoTx})
	}
	return nil
}

func (w *writer) applyAccount(tx *chain.Tx, th hash32, pos int, bh hash32, height, t int64) error {
	num, err := w.nextTx()
	if err != nil {
		return err
	}
	w.txSeen[th] = struct{}{}
	rec := txRec{Num: num, Block: bh, Pos: uint32(pos)}
	if tx.Failed {
		rec.Flags |= txFailed
	}
	if tx.FailureUnknown {
		rec.Flags |= txFailureUnknown
	}
	row := graphRow{Hash: th, Height: height, FirstTransfer: w.st.NextTransfer}
	clear(w.agg)
	rec.Transfers = make([]xferRec, len(tx.Transfers))
	row.Xfers = make([]rowXfer, len(tx.Transfers))
	d := &w.delta
	for j := range tx.Transfers {
		tr := &tx.Transfers[j]
		from, to := canonKey(w.model, tr.From), canonKey(w.model, tr.To)
		assetID := tr.Asset
		if assetID == "" {
			assetID = chain.NativeAsset(w.cs.id)
		}
		asset, err := w.asset(assetID)
		if err != nil {
			return err
		}
		amt := amount{}
		if tr.Amount != nil {
			amt = amountBig(tr.Amount)
		}
		fe, err := w.addr(from)
		if err != nil {
			return err
		}
		te, err := w.addr(to)
		if err != nil {
			return err
		}
		g := w.aggOf(from, asset)
		g.sent = g.sent.add(amt)
		g.debits++
		g = w.aggOf(to, asset)
		g.recv = g.recv.add(amt)
		g.credits++
		x := xferRec{From: from, To: to, Asset: asset, Amount: amt, Kind: string(tr.Kind)}
		if tr.TokenID != nil {
			x.HasToken, x.TokenID = true, tr.TokenID.Bytes()
		}
		rec.Transfers[j] = x
		kind := kindCode(string(tr.Kind))
		row.Xfers[j] = rowXfer{From: fe.rec.Num, To: te.rec.Num, Asset: asset, Kind: uint8(kind), Amount: amt}
		xr := xferRow{Amount: amt.u, From: fe.rec.Num, To: te.rec.Num, Asset: asset, Tx: num}
		if amt.big != nil || amt.u == AmountOverflow {
			xr.Amount = AmountOverflow
			d.bigNums = append(d.bigNums, w.st.NextTransfer)
			d.bigAmts = append(d.bigAmts, amt.Big())
		}
		d.xfers = append(d.xfers, xr)
		d.kinds = append(d.kinds, kind)
		w.st.NextTransfer++
	}
	if err := w.history(th, num, height, t); err != nil {
		return err
	}
	if err := w.b.Set(w.k.tx(th), rec.encode(w.model), nil); err != nil {
		return err
	}
	if err := w.b.Set(w.k.graph(num), row.encode(w.model), nil); err != nil {
		return err
	}
	d.txs = append(d.txs, makeTxRow(0, row.FirstTransfer, rowHeight(height)))
	d.hashes = append(d.hashes, th)
	return nil
}

// validateBlock checks what Apply relies on before it writes anything.
func validateBlock(b *chain.Block) error {
	if b == nil {
		return fault.New(fault.Invalid, "chainstore: nil block")
	}
	model, err := modelOf(b.Chain)
	if err != nil {
		return err
	}
	h, err := parseHash(b.Hash)
	if err != nil {
		return fmt.Errorf("block: %w", err)
	}
	if h == (hash32{}) {
		return fault.New(fault.Invalid, "chainstore: block of %s without a hash", b.Chain)
	}
	if _, err := parseHash(b.Parent); err != nil {
		return fmt.Errorf("block %s parent: %w", b.Hash, err)
	}
	for i := range b.Txs {
		tx := &b.Txs[i]
		if _, err := parseHash(tx.Hash); err != nil {
			return fmt.Errorf("block %s tx %d: %w", b.Hash, i, err)
		}
		if model == modelUTXO {
			if !tx.Coinbase {
				for j := range tx.Inputs {
					if _, err := parseHash(tx.Inputs[j].Prev.Tx); err != nil {
						return fmt.Errorf("tx %s input %d: %w", tx.Hash, j, err)
					}
				}
			}
			for j := range tx.Outputs {
				if tx.Outputs[j].Value < 0 {
					return fault.New(fault.Invalid, "chainstore: tx %s output %d has a negative value", tx.Hash, j)
				}
				if j > 0 && tx.Outputs[j].Index <= tx.Outputs[j-1].Index {
					return fault.New(fault.Invalid, "chainstore: tx %s output indexes are not increasing", tx.Hash)
				}
			}
			continue
		}
		for j := range tx.Transfers {
			if a := tx.Transfers[j].Amount; a != nil && a.Sign() < 0 {
				return fault.New(fault.Invalid, "chainstore: tx %s transfer %d has a negative amount", tx.Hash, j)
			}
		}
	}
	return nil
}
