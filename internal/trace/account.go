package trace

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
)

// lot is a run of an account's balance that came from one seed (Clean
// for none). Account amounts are big: wei overflow 64 bits at 18.4 ETH.
type lot struct {
	amount *big.Int
	seed   int32
}

// holder is what an account trace knows of one address, in the asset
// traced: its balance and its taint, as the model keeps it.
type holder struct {
	balance *big.Int
	taint   *big.Int // haircut: tainted balance; poison: tainted while flagged
	flagged bool     // poison
	lots    []lot    // FIFO, LIFO, TIHO: the balance as lots, oldest first
	hops    int32
	// parent is the transfer that first brought taint, for paths.
	parent uint64
	// seedBudget is how much more of what a seed address receives is seed
	// taint, and seed the seed's index.
	seedBudget *big.Int
	seed       int32
}

// traceAccount follows one asset over an account chain: a sweep over every
// transfer of that asset in chain order, from the first seed on, keeping a
// holder for each address the taint reached. An address's balance before
// the taint reached it comes from its history in the index.
func (t *Tracer) traceAccount(ctx context.Context, g *chainstore.Graph, info chain.Info, seeds []Seed, opts Options) (*Result, error) {
	asset := ""
	for _, s := range seeds {
		a := s.Asset
		if a == "" {
			a = chain.NativeAsset(info.ID)
		}
		if asset != "" && a != asset {
			return nil, fault.New(fault.Invalid, "an account trace follows one asset; the seeds name %s and %s", asset, a)
		}
		asset = a
	}
	var assetNum uint32
	if asset != chain.NativeAsset(info.ID) {
		n, err := g.AssetNum(asset)
		if err != nil {
			return nil, seedErr(err, "asset %s", asset)
		}
		assetNum = n
	}
	r := t.newRun(ctx, g, opts, &Result{Chain: info.ID, Model: opts.Model, Asset: asset})
	a := &accountRun{run: r, t: t, info: info, asset: assetNum, assetID: asset, holders: map[uint32]*holder{}, parents: map[uint64]uint64{}, seeded: map[int32]*big.Int{}}

	// Seeds: the address (or a transaction's recipients) and where the
	// sweep starts.
	startTx := ^uint32(0)
	for i, s := range seeds {
		first, err := a.seed(ctx, i, s)
		if err != nil {
			return nil, err
		}
		startTx = min(startTx, first)
	}

	g.RLock()
	defer g.RUnlock()
	if startTx >= g.NumTx() {
		return nil, fault.New(fault.Conflict, "the graph of %s is behind its index; retry in a moment", info.ID)
	}
	first, _ := g.Transfers(startTx)
	for x := first; x < g.NumTransfers(); x++ {
		if x&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opts.Progress != nil {
				opts.Progress(r.res.Stats.Txs)
			}
		}
		tr := g.Transfer(x)
		if tr.Asset != assetNum {
			continue
		}
		if opts.MaxHeight > 0 && int64(g.Tx(tr.Tx).Height) > opts.MaxHeight {
			a.windowEnd = true
			break
		}
		if err := a.transfer(x, tr); err != nil {
			return nil, err
		}
	}
	a.finishAccount()
	r.res.Stats.Complete = true
	return r.res, nil
}

type accountRun struct {
	*run
	t       *Tracer
	info    chain.Info
	asset   uint32
	assetID string
	holders map[uint32]*holder
	// parents maps a transfer that carried taint to the transfer that
	// brought its sender the taint first.
	parents map[uint64]uint64
	// seeded sums what each seed tainted; seedTxs are the transaction
	// seeds, whose transfers taint their recipients.
	seeded    map[int32]*big.Int
	seedTxs   map[uint32]seedTx
	windowEnd bool
	lastTx    uint32 // the last transaction counted in Stats.Txs
	hasTx     bool
}

type seedTx struct {
	seed   int32
	budget *big.Int
}

// seed sets up seed i and returns the transaction the sweep must start at.
func (a *accountRun) seed(ctx context.Context, i int, s Seed) (uint32, error) {
	g := a.g
	var budget *big.Int // nil: no limit
	if s.Amount.Int != nil {
		if s.Amount.Sign() <= 0 {
			return 0, fault.New(fault.Invalid, "seed amount %s is not positive", s.Amount)
		}
		budget = new(big.Int).Set(s.Amount.Int)
	}
	sr := SeedResult{Seed: s}
	switch s.Kind {
	case SeedAddress:
		addr, err := g.AddrNum(s.Address)
		if err != nil {
			return 0, seedErr(err, "seed address %s", s.Address)
		}
		// The first transaction from FromHeight on that credited the
		// address in the asset.
		first := ^uint32(0)
		after := ""
		for first == ^uint32(0) {
			page, err := a.t.idx.History(ctx, a.info.ID, s.Address, after, 1000)
			if err != nil {
				return 0, fmt.Errorf("history of %s: %w", s.Address, err)
			}
			for _, e := range page.Entries {
				if e.Credits == 0 || e.Asset != a.assetID || (s.FromHeight > 0 && e.Height >= 0 && e.Height < s.FromHeight) || s.before(e.Time) {
					continue
				}
				if n, err := g.TxNum(e.Tx); err == nil {
					first = n
					break
				}
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		if first == ^uint32(0) {
			return 0, fault.New(fault.Invalid, "seed %s received no %s to trace", s.Address, a.assetID)
		}
		h := a.holders[addr]
		if h == nil {
			bal, err := a.balanceBefore(ctx, s.Address, first)
			if err != nil {
				return 0, err
			}
			h = newHolder(bal, 0)
			a.holders[addr] = h
		}
		h.seed, h.seedBudget = int32(i), budget
		if budget == nil {
			h.seedBudget = new(big.Int).Lsh(big.NewInt(1), 256) // all it receives
		}
		a.res.Seeds = append(a.res.Seeds, sr)
		return first, nil
	case SeedTx:
		n, err := g.TxNum(s.Tx)
		if err != nil {
			return 0, seedErr(err, "seed transaction %s", s.Tx)
		}
		a.res.Seeds = append(a.res.Seeds, sr)
		if budget == nil {
			budget = new(big.Int).Lsh(big.NewInt(1), 256)
		}
		if a.seedTxs == nil {
			a.seedTxs = map[uint32]seedTx{}
		}
		a.seedTxs[n] = seedTx{seed: int32(i), budget: budget}
		return n, nil
	default:
		return 0, fault.New(fault.Invalid, "%s is an account chain: seed an address (with its asset) or a transaction, not an output", a.info.ID)
	}
}

func newHolder(balance *big.Int, hops int32) *holder {
	h := &holder{balance: balance, taint: new(big.Int), hops: hops, parent: noParent}
	if balance.Sign() > 0 {
		h.lots = []lot{{new(big.Int).Set(balance), Clean}}
	}
	return h
}

// balanceBefore returns an address's balance in the asset before
// transaction n, from its history in the index.
func (a *accountRun) balanceBefore(ctx context.Context, addr string, n uint32) (*big.Int, error) {
	bal := new(big.Int)
	after := ""
	for {
		page, err := a.t.idx.History(ctx, a.info.ID, addr, after, 10_000)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", addr, err)
		}
		for _, e := range page.Entries {
			if e.Asset != a.assetID {
				continue
			}
			m, err := a.g.TxNum(e.Tx)
			if err != nil || m >= n {
				continue
			}
			bal.Add(bal, e.Received)
			bal.Sub(bal, e.Sent)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if bal.Sign() < 0 {
		bal.SetInt64(0) // history without its beginning
	}
	return bal, nil
}

// transfer moves what transfer x carries: taint out of its sender's
// holder, by the model, into its recipient's, or to an endpoint or a stop.
func (a *accountRun) transfer(x uint64, tr chainstore.TransferRec) error {
	amount := a.g.TransferAmount(x)
	if amount.Sign() == 0 {
		return nil
	}
	carried, lots := new(big.Int), []lot(nil)
	from := a.holders[tr.From]
	if from != nil {
		carried, lots = a.debit(from, amount)
	}
	hops := int32(0)
	parent := noParent
	if from != nil {
		hops, parent = from.hops+1, from.parent
	}
	// A seed transaction's transfers taint their recipients, as seeds.
	if st, ok := a.seedTxs[tr.Tx]; ok && tr.Kind != chainstore.KindFee && tr.Kind != chainstore.KindBurn && st.budget.Sign() > 0 {
		part := minBig(amount, st.budget)
		st.budget.Sub(st.budget, part)
		carried, lots, hops, parent = part, []lot{{part, st.seed}}, 0, noParent
		if rest := new(big.Int).Sub(amount, part); rest.Sign() > 0 {
			lots = append(lots, lot{rest, Clean})
		}
		a.addSeeded(st.seed, part)
	}
	to := a.holders[tr.To]
	// A seed address: what it receives is seed taint, up to its amount.
	if to != nil && to.seedBudget != nil && to.seedBudget.Sign() > 0 && tr.Kind != chainstore.KindFee && tr.Kind != chainstore.KindBurn {
		clean := new(big.Int).Sub(amount, carried)
		part := minBig(clean, to.seedBudget)
		if part.Sign() > 0 {
			to.seedBudget.Sub(to.seedBudget, part)
			carried = new(big.Int).Add(carried, part)
			lots = append(taintedLots(lots), lot{part, to.seed})
			if rest := new(big.Int).Sub(amount, carried); rest.Sign() > 0 {
				lots = append(lots, lot{rest, Clean})
			}
			hops, parent = 0, noParent
			if to.parent == noParent {
				to.parent = x
			}
			a.addSeeded(to.seed, part)
		}
	}
	if carried.Sign() == 0 {
		if to != nil {
			a.credit(to, amount, new(big.Int), []lot{{amount, Clean}})
		}
		return nil
	}
	a.countTx(tr.Tx)
	a.res.Stats.Outputs++
	a.parents[x] = parent
	if a.watch != nil && tr.Kind != chainstore.KindFee && tr.Kind != chainstore.KindBurn {
		a.arriveAccount(x, tr, carried, hops)
	}
	if from != nil || parent != noParent {
		a.edgeAccount(tr, carried, int(hops))
	}
	if tr.Kind == chainstore.KindFee || tr.Kind == chainstore.KindBurn {
		a.fees.Add(a.fees, carried)
		return nil
	}
	if l, ok := a.labelOf(tr.To); ok && a.endpoints[l.Category] {
		e := a.endAt(tr.To, x, tr.Tx, hops)
		e.amount.Add(e.amount, carried)
		for _, l := range lots {
			if l.seed != Clean {
				s := e.seedAcc(l.seed)
				s.Add(s, l.amount)
			}
		}
		return nil
	}
	if to == nil {
		switch {
		case tr.To == chainstore.NoAddr:
			a.stopAccount(StopBurned, tr, carried, hops)
			return nil
		case a.opts.Model != Poison && carried.IsUint64() && carried.Uint64() < a.dust:
			a.stopAccount(StopDust, tr, carried, hops)
			return nil
		case int(hops) >= a.opts.MaxHops:
			a.stopAccount(StopHops, tr, carried, hops)
			return nil
		}
		bal, err := a.balanceBefore(a.ctx, a.name(tr.To), tr.Tx)
		if err != nil {
			return err
		}
		to = newHolder(bal, hops)
		to.parent = x
		a.holders[tr.To] = to
	} else if to.parent == noParent && parent != noParent {
		to.parent = x
	}
	to.hops = min(to.hops, hops)
	a.credit(to, amount, carried, lots)
	return nil
}

// debit takes amount out of h and returns the taint it carries, with its
// lots, by the model.
func (a *accountRun) debit(h *holder, amount *big.Int) (*big.Int, []lot) {
	if h.balance.Cmp(amount) < 0 {
		// The index lacks some of the history that funded h: the missing
		// value is clean.
		missing := new(big.Int).Sub(amount, h.balance)
		h.balance.Add(h.balance, missing)
		h.lots = append(h.lots, lot{missing, Clean})
	}
	carried := new(big.Int)
	var lots []lot
	switch a.opts.Model {
	case Poison:
		if h.flagged {
			carried.Set(amount)
		}
	case Haircut:
		if h.taint.Sign() > 0 {
			carried.Mul(h.taint, amount)
			carried.Quo(carried, h.balance)
			h.taint.Sub(h.taint, carried)
		}
	default:
		lots, h.lots = takeLots(h.lots, amount, a.opts.Model)
		for _, l := range lots {
			if l.seed != Clean {
				carried.Add(carried, l.amount)
			}
		}
	}
	h.balance.Sub(h.balance, amount)
	if h.flagged {
		h.taint.Set(h.balance)
	}
	return carried, lots
}

// credit adds amount, of which carried is tainted, to h.
func (a *accountRun) credit(h *holder, amount, carried *big.Int, lots []lot) {
	h.balance.Add(h.balance, amount)
	switch a.opts.Model {
	case Poison:
		if carried.Sign() > 0 {
			h.flagged = true
		}
		if h.flagged {
			h.taint.Set(h.balance)
		}
	case Haircut:
		h.taint.Add(h.taint, carried)
	default:
		if carried.Sign() == 0 {
			lots = []lot{{new(big.Int).Set(amount), Clean}}
		}
		for _, l := range lots {
			h.lots = pushLot(h.lots, l)
		}
	}
}

// takeLots takes amount out of lots: from the front (FIFO), the back
// (LIFO), or the tainted lots first (TIHO). It returns what it took and
// what is left.
func takeLots(lots []lot, amount *big.Int, m Model) (taken, left []lot) {
	want := new(big.Int).Set(amount)
	idx := make([]int, 0, len(lots))
	switch m {
	case LIFO:
		for i := len(lots) - 1; i >= 0; i-- {
			idx = append(idx, i)
		}
	case TIHO:
		for i, l := range lots {
			if l.seed != Clean {
				idx = append(idx, i)
			}
		}
		for i, l := range lots {
			if l.seed == Clean {
				idx = append(idx, i)
			}
		}
	default:
		for i := range lots {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		if want.Sign() == 0 {
			break
		}
		l := &lots[i]
		n := minBig(l.amount, want)
		taken = pushLot(taken, lot{new(big.Int).Set(n), l.seed})
		l.amount = new(big.Int).Sub(l.amount, n)
		want.Sub(want, n)
	}
	for _, l := range lots {
		if l.amount.Sign() > 0 {
			left = pushLot(left, l)
		}
	}
	return taken, left
}

// pushLot appends l, merged into the last lot when they share a seed.
func pushLot(lots []lot, l lot) []lot {
	if l.amount.Sign() == 0 {
		return lots
	}
	if n := len(lots); n > 0 && lots[n-1].seed == l.seed {
		lots[n-1].amount = new(big.Int).Add(lots[n-1].amount, l.amount)
		return lots
	}
	return append(lots, l)
}

func taintedLots(lots []lot) []lot {
	var out []lot
	for _, l := range lots {
		if l.seed != Clean {
			out = append(out, l)
		}
	}
	return out
}

func minBig(x, y *big.Int) *big.Int {
	if x.Cmp(y) <= 0 {
		return new(big.Int).Set(x)
	}
	return new(big.Int).Set(y)
}

func (a *accountRun) addSeeded(seed int32, x *big.Int) {
	s := a.seeded[seed]
	if s == nil {
		s = new(big.Int)
		a.seeded[seed] = s
	}
	s.Add(s, x)
}

func (a *accountRun) countTx(n uint32) {
	if !a.hasTx || a.lastTx != n {
		a.res.Stats.Txs++
		a.lastTx, a.hasTx = n, true
		a.annotate(n)
	}
}

func (a *accountRun) edgeAccount(tr chainstore.TransferRec, carried *big.Int, hop int) {
	if len(a.res.Edges) >= a.opts.MaxEdges {
		a.res.EdgesTruncated = true
		return
	}
	a.res.Edges = append(a.res.Edges, Edge{Tx: a.g.TxHash(tr.Tx), From: []string{a.name(tr.From)}, To: a.name(tr.To), Amount: Amount{new(big.Int).Set(carried)}, Hop: hop})
}

func (a *accountRun) stopAccount(reason string, tr chainstore.TransferRec, carried *big.Int, hops int32) {
	a.stopAt(reason, carried)
	if len(a.res.Stops) >= a.opts.MaxStops {
		a.res.StopsTruncated = true
		return
	}
	s := Stop{Reason: reason, Address: a.name(tr.To), Tx: a.g.TxHash(tr.Tx), Amount: Amount{new(big.Int).Set(carried)}, Hops: int(hops), Height: int64(a.g.Tx(tr.Tx).Height)}
	if l, ok := a.labelOf(tr.To); ok {
		s.Label = &l
	}
	a.res.Stops = append(a.res.Stops, s)
}

// holderTaint returns the taint h still holds.
func (a *accountRun) holderTaint(h *holder) *big.Int {
	switch a.opts.Model {
	case Poison, Haircut:
		return h.taint
	}
	t := new(big.Int)
	for _, l := range h.lots {
		if l.seed != Clean {
			t.Add(t, l.amount)
		}
	}
	return t
}

// finishAccount reports the taint the holders still hold as stops, and
// fills in the result.
func (a *accountRun) finishAccount() {
	reason := StopUnspent
	if a.windowEnd {
		reason = StopWindow
	}
	for addr, h := range a.holders {
		t := a.holderTaint(h)
		if t.Sign() == 0 {
			continue
		}
		a.stopAt(reason, t)
		if len(a.res.Stops) >= a.opts.MaxStops {
			a.res.StopsTruncated = true
			continue
		}
		s := Stop{Reason: reason, Address: a.name(addr), Amount: Amount{new(big.Int).Set(t)}, Hops: int(h.hops)}
		if l, ok := a.labelOf(addr); ok {
			s.Label = &l
		}
		a.res.Stops = append(a.res.Stops, s)
	}
	total := new(big.Int)
	for i := range a.res.Seeds {
		s := a.seeded[int32(i)]
		if s == nil {
			s = new(big.Int)
		}
		a.res.Seeds[i].Tainted = Amount{s}
		total.Add(total, s)
	}
	a.res.Tainted = Amount{total}
	a.finish(a.path)
}

// path returns the transactions from a seed to transfer x, and the
// addresses that received the taint on the way.
func (a *accountRun) path(x uint64) (txs, via []string) {
	first := true
	for x != noParent {
		tr := a.g.Transfer(x)
		if h := a.g.TxHash(tr.Tx); len(txs) == 0 || txs[len(txs)-1] != h {
			txs = append(txs, h)
		}
		if !first {
			via = append(via, a.name(tr.To))
		}
		first = false
		next, ok := a.parents[x]
		if !ok {
			break
		}
		x = next
	}
	slices.Reverse(txs)
	slices.Reverse(via)
	return txs, via
}
