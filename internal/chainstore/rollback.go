package chainstore

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Rollback. The index keeps every output, spent or not, so a block's undo
// data is small: its transaction list and the numbers it took (blockRec).
// Rolling a transaction back reads its tx record and the output records
// it created and spent, and subtracts from the totals what its history
// entries added. First and last seen, which a subtraction cannot restore,
// are recomputed from the address's history when they pointed at a rolled
// back transaction. The numbers a block took are cut back when nothing
// was numbered after them (the tip of the numbering, as in every reorg of
// a followed chain); otherwise they are retired in place (tombstone graph
// rows, RemovedHeight in the graph).

// rollbackTo rolls segment seg back until parent is its tip.
func (w *writer) rollbackTo(seg uint32, parent hash32) error {
	se, err := w.seg(seg)
	if err != nil {
		return err
	}
	for se.rec.Tip != parent {
		h := se.rec.Tip
		be, err := w.block(h)
		if err != nil {
			return err
		}
		if !be.found || be.rec.State != blockApplied {
			return fmt.Errorf("segment %d tip %x is not an applied block: %w", seg, h, errCorrupt)
		}
		if be.rec.Height >= 0 && se.rec.StartHeight >= 0 && be.rec.Height < se.rec.StartHeight {
			return fmt.Errorf("segment %d rolled back below its start: %w", seg, errCorrupt)
		}
		if h == se.rec.StartHash {
			return fmt.Errorf("segment %d would lose its first block: %w", seg, errCorrupt)
		}
		w.s.log.Info("rolling back block", "chain", w.cs.id, "block", showHash(w.model, h), "height", be.rec.Height)
		if err := w.rollbackBlock(h, be, se); err != nil {
			return fmt.Errorf("roll back block %s: %w", showHash(w.model, h), err)
		}
	}
	return w.recomputeSeen()
}

func (w *writer) rollbackBlock(h hash32, be *ent[blockRec], se *ent[segRec]) error {
	br := be.rec
	indexed := 0
	for i := len(br.Txs) - 1; i >= 0; i-- {
		if slices.Contains(br.Skipped, uint32(i)) {
			continue
		}
		indexed++
		th := br.Txs[i]
		var rec txRec
		if err := w.fetch(w.k.tx(th), func(p []byte) (err error) { rec, err = decodeTx(w.model, p); return err }); err != nil {
			return fmt.Errorf("tx %s: %w", showHash(w.model, th), err)
		}
		var err error
		if w.model == modelUTXO {
			err = w.rollbackUTXO(th, &rec)
		} else {
			err = w.rollbackAccount(&rec)
		}
		if err != nil {
			return fmt.Errorf("tx %s: %w", showHash(w.model, th), err)
		}
		if err := w.b.Delete(w.k.tx(th), nil); err != nil {
			return err
		}
	}
	st := &w.st
	r := br.R
	if st.NextTx == r.EndTx && st.NextOut == r.EndOut && st.NextIn == r.EndIn && st.NextTransfer == r.EndTransfer {
		for n := r.FirstTx; n < r.EndTx; n++ {
			if err := w.b.Delete(w.k.graph(n), nil); err != nil {
				return err
			}
		}
		st.NextTx, st.NextOut, st.NextIn, st.NextTransfer = r.FirstTx, r.FirstOut, r.FirstIn, r.FirstTransfer
		w.delta.steps = append(w.delta.steps, func(g *Graph) { g.truncate(r.FirstTx, r.FirstOut, r.FirstIn, r.FirstTransfer) })
		if st.NextAddr == r.EndAddr && w.allDeleted(r.FirstAddr, r.EndAddr) {
			st.NextAddr = r.FirstAddr
		}
	} else {
		for n := r.FirstTx; n < r.EndTx; n++ {
			if err := w.tombstone(n); err != nil {
				return err
			}
			w.delta.steps = append(w.delta.steps, func(g *Graph) { g.kill(n) })
		}
	}
	be.rec = blockRec{State: blockStale, Seg: br.Seg, Height: br.Height, Parent: br.Parent, Time: br.Time, NTx: br.NTx}
	be.dirty = true
	if br.Height >= 0 {
		if err := w.b.Delete(w.k.height(br.Height, h), nil); err != nil {
			return err
		}
	}
	se.rec.Tip = br.Parent
	se.rec.Blocks--
	se.rec.Txs -= uint64(indexed)
	se.dirty = true
	st.Blocks--
	st.Txs -= uint64(indexed)
	return nil
}

func (w *writer) allDeleted(first, end uint32) bool {
	for n := first; n < end; n++ {
		if !w.deletedAddrs[n] {
			return false
		}
	}
	return true
}

// tombstone replaces graph row n with a removed row of the same shape.
func (w *writer) tombstone(n uint32) error {
	var row graphRow
	if err := w.fetch(w.k.graph(n), func(p []byte) (err error) { row, err = decodeGraphRow(w.model, p); return err }); err != nil {
		return fmt.Errorf("graph row %d: %w", n, err)
	}
	row.Hash, row.Height = hash32{}, removedRowHeight
	for i := range row.Ins {
		row.Ins[i] = rowInUnknown
	}
	for i := range row.Outs {
		row.Outs[i] = rowOut{Addr: NoAddr}
	}
	for i := range row.Xfers {
		row.Xfers[i] = rowXfer{From: NoAddr, To: NoAddr, Asset: NoAddr}
	}
	return w.b.Set(w.k.graph(n), row.encode(w.model), nil)
}

func (w *writer) rollbackUTXO(th hash32, rec *txRec) error {
	clear(w.agg)
	for i := 0; i < int(rec.NOut); i++ {
		e, err := w.outs.get(w.fetch, w.k.out(th, rec.outIndex(i)))
		if err != nil {
			return err
		}
		if !e.found {
			return fmt.Errorf("output %d: %w", rec.outIndex(i), errCorrupt)
		}
		if e.rec.Spent {
			if err := w.detach(&e.rec); err != nil {
				return err
			}
		}
		p, a := names(e.rec.Key, e.rec.Address)
		for _, name := range [2]string{p, a} {
			if name != "" {
				g := w.aggOf(name, 0)
				g.recv = g.recv.add(amountU(e.rec.Value))
				g.credits++
			}
		}
		e.found, e.dirty = false, true
	}
	if rec.Flags&txCoinbase == 0 {
		for j, in := range rec.Inputs {
			e, err := w.outs.get(w.fetch, w.k.out(in.Tx, in.Index))
			if err != nil {
				return err
			}
			if !e.found || !e.rec.Spent || e.rec.SpentTx != th || e.rec.SpentIn != uint32(j) {
				continue
			}
			e.rec.Spent, e.rec.SpentTx, e.rec.SpentIn, e.dirty = false, hash32{}, 0, true
			o := e.rec.Num
			w.delta.steps = append(w.delta.steps, func(g *Graph) { g.unspend(o) })
			p, a := names(e.rec.Key, e.rec.Address)
			for _, name := range [2]string{p, a} {
				if name != "" {
					g := w.aggOf(name, 0)
					g.sent = g.sent.add(amountU(e.rec.Value))
					g.debits++
				}
			}
		}
	}
	return w.unhistory(rec.Num)
}

func (w *writer) rollbackAccount(rec *txRec) error {
	clear(w.agg)
	for _, t := range rec.Transfers {
		g := w.aggOf(t.From, t.Asset)
		g.sent = g.sent.add(t.Amount)
		g.debits++
		g = w.aggOf(t.To, t.Asset)
		g.recv = g.recv.add(t.Amount)
		g.credits++
	}
	return w.unhistory(rec.Num)
}

// unhistory removes the history entries of transaction num that w.agg
// describes, subtracting them from the totals.
func (w *writer) unhistory(num uint32) error {
	clear(w.names)
	for k, a := range w.agg {
		if err := w.b.Delete(w.k.hist(k.name, num, k.asset), nil); err != nil {
			return err
		}
		if err := w.unbalance(k, a.recv, a.sent, num, true); err != nil {
			return err
		}
		w.names[k.name] = struct{}{}
	}
	for name := range w.names {
		if err := w.unaddr(name); err != nil {
			return err
		}
	}
	return nil
}

// unbalance subtracts from an address's totals; removed says the
// transaction's history entry is gone.
func (w *writer) unbalance(k aggKey, recv, sent amount, num uint32, removed bool) error {
	bk := w.k.bal(k.name, k.asset)
	e, err := w.bals.get(w.fetch, bk)
	if err != nil {
		return err
	}
	var ok1, ok2 bool
	if e.found {
		e.rec.Received, ok1 = e.rec.Received.sub(recv)
		e.rec.Sent, ok2 = e.rec.Sent.sub(sent)
	}
	if !e.found || !ok1 || !ok2 || (removed && e.rec.Txs == 0) {
		return fmt.Errorf("totals of %s asset %d do not cover tx %d: %w", k.name, k.asset, num, errCorrupt)
	}
	e.dirty = true
	if !removed {
		return nil
	}
	e.rec.Txs--
	if e.rec.Txs == 0 {
		e.found = false
		delete(w.recompute, string(bk))
		return nil
	}
	if e.rec.First.Tx == num || e.rec.Last.Tx == num {
		w.recompute[string(bk)] = k
	}
	return nil
}

// unaddr counts one transaction less for name, deleting the address when
// none is left.
func (w *writer) unaddr(name string) error {
	e, err := w.addrs.get(w.fetch, w.k.addr(name))
	if err != nil {
		return err
	}
	if !e.found || e.rec.Txs == 0 {
		return fmt.Errorf("address %s: %w", name, errCorrupt)
	}
	e.rec.Txs--
	e.dirty = true
	if e.rec.Txs > 0 {
		return nil
	}
	e.found = false
	w.deletedAddrs[e.rec.Num] = true
	return w.b.Delete(w.k.addrNum(e.rec.Num), nil)
}

// detach undoes the spend of an output whose creating transaction is
// rolled back while its spender, in another segment, stays: the spender's
// input becomes an unknown outpoint again.
func (w *writer) detach(o *outRec) error {
	var srec txRec
	if err := w.fetch(w.k.tx(o.SpentTx), func(p []byte) (err error) { srec, err = decodeTx(w.model, p); return err }); err != nil {
		return fmt.Errorf("spender %x: %w", o.SpentTx, err)
	}
	w.s.log.Warn("rolled back output was spent in another segment; the spend is detached",
		"chain", w.cs.id, "spender", showHash(w.model, o.SpentTx), "input", o.SpentIn)
	var row graphRow
	gk := w.k.graph(srec.Num)
	if err := w.fetch(gk, func(p []byte) (err error) { row, err = decodeGraphRow(w.model, p); return err }); err != nil {
		return fmt.Errorf("graph row %d: %w", srec.Num, err)
	}
	j := uint64(o.SpentIn)
	if j >= uint64(len(row.Ins)) {
		return fmt.Errorf("graph row %d has no input %d: %w", srec.Num, j, errCorrupt)
	}
	row.Ins[j] = rowInUnknown
	if err := w.b.Set(gk, row.encode(w.model), nil); err != nil {
		return err
	}
	i := row.FirstIn + j
	w.delta.steps = append(w.delta.steps, func(g *Graph) { g.setInput(i, InputUnknown) })
	p, a := names(o.Key, o.Address)
	for _, name := range [2]string{p, a} {
		if name == "" {
			continue
		}
		hk := w.k.hist(name, srec.Num, 0)
		var h histRec
		if err := w.fetch(hk, func(p []byte) (err error) { h, err = decodeHist(p); return err }); err != nil {
			return fmt.Errorf("history of %s: %w", name, err)
		}
		var ok bool
		if h.Sent, ok = h.Sent.sub(amountU(o.Value)); !ok || h.Debits == 0 {
			return fmt.Errorf("history of %s: %w", name, errCorrupt)
		}
		h.Debits--
		removed := h.Credits == 0 && h.Debits == 0
		var err error
		if removed {
			err = w.b.Delete(hk, nil)
		} else {
			err = w.b.Set(hk, h.encode(), nil)
		}
		if err != nil {
			return err
		}
		if err := w.unbalance(aggKey{name, 0}, amount{}, amountU(o.Value), srec.Num, removed); err != nil {
			return err
		}
		if removed {
			if err := w.unaddr(name); err != nil {
				return err
			}
		}
	}
	o.Spent, o.SpentTx, o.SpentIn = false, hash32{}, 0
	return nil
}

// recomputeSeen sets first and last seen of the totals whose first or
// last transaction was rolled back, from the address's history.
func (w *writer) recomputeSeen() error {
	for bk, k := range w.recompute {
		e, err := w.bals.get(w.fetch, []byte(bk))
		if err != nil {
			return err
		}
		if !e.found {
			continue
		}
		prefix := w.k.histPrefix(k.name)
		it, err := w.r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		find := func(ok bool, step func() bool) (seen, bool, error) {
			for ; ok; ok = step() {
				key := it.Key()
				if len(key) != len(prefix)+8 || binary.BigEndian.Uint32(key[len(key)-4:]) != k.asset {
					continue
				}
				h, err := decodeHist(it.Value())
				if err != nil {
					return seen{}, false, err
				}
				return seen{Tx: binary.BigEndian.Uint32(key[len(key)-8:]), Height: h.Height, Time: h.Time}, true, nil
			}
			return seen{}, false, it.Error()
		}
		first, ok1, err1 := find(it.First(), it.Next)
		last, ok2, err2 := find(it.Last(), it.Prev)
		if err := it.Close(); err != nil {
			return err
		}
		if err1 != nil || err2 != nil {
			return fmt.Errorf("history of %s: %w", k.name, errCorrupt)
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("totals of %s asset %d without history: %w", k.name, k.asset, errCorrupt)
		}
		e.rec.First, e.rec.Last, e.dirty = first, last, true
	}
	clear(w.recompute)
	return nil
}
