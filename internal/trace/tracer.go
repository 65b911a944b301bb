package trace

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
)

// Index is the chain index a trace reads: the dense graph, and address
// histories to resolve address seeds.
type Index interface {
	Graph(chainID string) *chainstore.Graph
	History(ctx context.Context, chainID, addr, after string, limit int) (*chainstore.HistoryPage, error)
}

// Tracer runs traces over a chain index.
type Tracer struct {
	idx Index

	// nums remembers the address numbers of label keys, per chain, for
	// one graph generation: resolving thousands of labels through the
	// index on every trace would cost more than most traces.
	mu   sync.Mutex
	nums map[string]*addrMemo
	// keys remembers address keys by number, per chain and generation,
	// for the names of edges, stops and endpoints: most traces name the
	// same addresses again.
	keys map[string]*keyMemo
}

type keyMemo struct {
	gen uint64
	m   map[uint32]string
}

// maxKeyMemo bounds the address keys a tracer remembers per chain.
const maxKeyMemo = 1 << 20

// keyMemo returns g's memo of address keys, fresh for its generation.
func (t *Tracer) keyMemo(g *chainstore.Graph) *keyMemo {
	gen := g.Generation()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[string]*keyMemo{}
	}
	m := t.keys[g.Chain()]
	if m == nil || m.gen != gen || len(m.m) > maxKeyMemo {
		m = &keyMemo{gen: gen, m: map[uint32]string{}}
		t.keys[g.Chain()] = m
	}
	return m
}

func (t *Tracer) lookupKey(m *keyMemo, a uint32) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := m.m[a]
	return s, ok
}

func (t *Tracer) rememberKey(m *keyMemo, a uint32, s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m.m[a] = s
}

type addrMemo struct {
	gen uint64
	m   map[string]uint32
}

// addrNums returns the address numbers of keys on g's chain that the
// index holds.
func (t *Tracer) addrNums(g *chainstore.Graph, keys map[string]Label) map[uint32]Label {
	gen := g.Generation()
	t.mu.Lock()
	if t.nums == nil {
		t.nums = map[string]*addrMemo{}
	}
	memo := t.nums[g.Chain()]
	if memo == nil || memo.gen != gen {
		memo = &addrMemo{gen: gen, m: map[string]uint32{}}
		t.nums[g.Chain()] = memo
	}
	out := make(map[uint32]Label, len(keys))
	var missing []string
	for key, l := range keys {
		if n, ok := memo.m[key]; ok {
			out[n] = l
		} else {
			missing = append(missing, key)
		}
	}
	t.mu.Unlock()
	found := map[string]uint32{}
	for _, key := range missing {
		if n, err := g.AddrNum(key); err == nil {
			out[n] = keys[key]
			found[key] = n
		}
	}
	if len(found) > 0 {
		t.mu.Lock()
		if memo := t.nums[g.Chain()]; memo != nil && memo.gen == gen {
			for k, n := range found {
				memo.m[k] = n
			}
		}
		t.mu.Unlock()
	}
	return out
}

// New returns a tracer over idx.
func New(idx Index) *Tracer { return &Tracer{idx: idx} }

// Trace follows the seeds' value forward on chainID under opts. It holds
// the graph's read lock for the whole trace, so it sees one consistent
// graph (and delays the ingest of a block for that long).
func (t *Tracer) Trace(ctx context.Context, chainID string, seeds []Seed, opts Options) (*Result, error) {
	info, ok := chain.Lookup(chainID)
	if !ok {
		return nil, fault.New(fault.Invalid, "unknown chain %q", chainID)
	}
	if len(seeds) == 0 {
		return nil, fault.New(fault.Invalid, "a trace needs at least one seed")
	}
	opts.ensureDefaults()
	if _, err := ParseModel(string(opts.Model)); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "%v", err)
	}
	if opts.Dust.Sign() < 0 {
		return nil, fault.New(fault.Invalid, "dust %s is negative", opts.Dust)
	}
	g := t.idx.Graph(chainID)
	if g == nil {
		return nil, fault.New(fault.NotFound, "no chain data for %s in this node's index (cointrail ingest)", chainID)
	}
	start := time.Now()
	var res *Result
	var err error
	if info.Model == chain.UTXO {
		res, err = t.traceUTXO(ctx, g, info, seeds, opts)
	} else {
		res, err = t.traceAccount(ctx, g, info, seeds, opts)
	}
	if err != nil {
		return nil, err
	}
	res.Stats.Elapsed = time.Since(start)
	res.Stats.Millis = float64(res.Stats.Elapsed.Microseconds()) / 1000
	res.Options = ResultOptions{MaxHops: opts.MaxHops, Dust: opts.Dust.String(), MaxHeight: opts.MaxHeight, Endpoints: opts.EndpointCategories}
	sortResult(res)
	return res, nil
}

// taint is what a trace knows of one tainted output.
type taint struct {
	amount uint64
	hops   int32
	// parent is the tainted output this one got most of its taint from
	// (noParent for a seed's output); it gives an endpoint its path.
	parent uint64
	segs   segs // segmented models
	// followed: the taint goes on into the spending transaction.
	followed bool
}

const noParent = ^uint64(0)

// run is one trace's state.
type run struct {
	ctx   context.Context
	g     *chainstore.Graph
	opts  Options
	dust  uint64 // opts.Dust, saturated to 64 bits
	res   *Result
	names map[uint32]string // address names looked up so far

	labels    map[uint32]Label
	endpoints map[string]bool
	t         *Tracer
	keys      *keyMemo
	lazy      map[uint32]labelHit // labels looked up by key, when there are many
	watch     map[uint32]bool     // Options.Watch by address number

	tainted map[uint64]*taint
	queue   txHeap
	queued  map[uint32]bool

	ends     map[uint32]*endAcc
	fees     *big.Int
	unspent  *big.Int
	stopTot  map[string]*stopAcc
	annotate func(n uint32)
}

type endAcc struct {
	amount     *big.Int
	hops       int32
	firstOut   uint64 // the output (UTXO) or transfer (account) of the first arrival
	firstTx    uint32
	firstBlock int64
	deposits   int
	bySeed     map[int32]*big.Int
}

type stopAcc struct {
	count  int
	amount *big.Int
}

// newRun returns the state of a trace over g.
func (t *Tracer) newRun(ctx context.Context, g *chainstore.Graph, opts Options, res *Result) *run {
	r := &run{
		ctx: ctx, g: g, opts: opts, res: res,
		names:     map[uint32]string{},
		endpoints: map[string]bool{},
		tainted:   map[uint64]*taint{},
		queued:    map[uint32]bool{},
		ends:      map[uint32]*endAcc{},
		stopTot:   map[string]*stopAcc{},
		fees:      new(big.Int),
		unspent:   new(big.Int),
		dust:      saturate(opts.Dust),
	}
	r.annotate = newAnnotator(r)
	r.watch = watchNums(g, opts.Watch)
	for _, c := range opts.EndpointCategories {
		r.endpoints[c] = true
	}
	// Labels by address number; a label on an address the index has
	// never seen cannot be reached.
	r.t, r.keys = t, t.keyMemo(g)
	if len(opts.Labels) <= eagerLabels {
		r.labels = t.addrNums(g, opts.Labels)
	} else {
		r.labels = nil // looked up by key, address by address: see labelOf
	}
	return r
}

// eagerLabels is the most labels a trace resolves to address numbers up
// front; with more (a node that imported large TagPacks), a trace looks
// up the key of each address it reaches instead, which costs less than
// resolving every label when a trace reaches a few thousand addresses.
const eagerLabels = 4096

// labelOf returns the label of address number a, if it has one.
func (r *run) labelOf(a uint32) (Label, bool) {
	if a == chainstore.NoAddr {
		return Label{}, false
	}
	if r.labels != nil {
		l, ok := r.labels[a]
		return l, ok
	}
	if hit, seen := r.lazy[a]; seen {
		return hit.l, hit.ok
	}
	l, ok := r.opts.Labels[r.name(a)]
	if r.lazy == nil {
		r.lazy = map[uint32]labelHit{}
	}
	r.lazy[a] = labelHit{l, ok}
	return l, ok
}

// labelHit is the label of an address a trace has looked up by key.
type labelHit struct {
	l  Label
	ok bool
}

func (t *Tracer) traceUTXO(ctx context.Context, g *chainstore.Graph, info chain.Info, seeds []Seed, opts Options) (*Result, error) {
	r := t.newRun(ctx, g, opts, &Result{Chain: info.ID, Model: opts.Model, Asset: chain.NativeAsset(info.ID)})
	// Seeds resolve through the index (no graph lock needed); their
	// numbers are checked under the lock.
	type seeded struct {
		out    uint64
		amount uint64
		seed   int32
	}
	var initial []seeded
	for i, s := range seeds {
		outs, err := t.resolveUTXO(ctx, g, info, s)
		if err != nil {
			return nil, err
		}
		sr := SeedResult{Seed: s}
		var total uint64
		for _, o := range outs {
			initial = append(initial, seeded{o.out, o.amount, int32(i)})
			sr.Outputs = append(sr.Outputs, o.name)
			total += o.amount
		}
		sr.Tainted = amt(total)
		r.res.Seeds = append(r.res.Seeds, sr)
	}

	g.RLock()
	defer g.RUnlock()
	var tainted uint64
	for _, s := range initial {
		if s.out >= g.NumOutputs() {
			return nil, fault.New(fault.Conflict, "the graph of %s is behind its index; retry in a moment", info.ID)
		}
		if _, dup := r.tainted[s.out]; dup {
			continue // two seeds name one output: the first counts
		}
		v := g.Output(s.out).Value
		tn := &taint{amount: s.amount, parent: noParent}
		if opts.Model.segmented() {
			tn.segs = segs{}.push(Seg{s.amount, s.seed}).push(Seg{v - s.amount, Clean})
		}
		if opts.Model == Poison {
			tn.amount = v
		}
		r.tainted[s.out] = tn
		tainted += tn.amount
		r.release(s.out, tn, g.TxOf(s.out))
	}
	r.res.Tainted = amt(tainted)

	for r.queue.Len() > 0 {
		n := r.queue.pop()
		if r.res.Stats.Txs&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opts.Progress != nil {
				opts.Progress(r.res.Stats.Txs)
			}
		}
		r.step(n)
	}
	r.finish(r.path)
	r.res.Stats.Complete = true
	return r.res, nil
}

// resolved is a seed's output with the amount it taints.
type resolved struct {
	out    uint64
	amount uint64
	name   string
}

// resolveUTXO finds the outputs a seed names.
func (t *Tracer) resolveUTXO(ctx context.Context, g *chainstore.Graph, info chain.Info, s Seed) ([]resolved, error) {
	limit := ^uint64(0)
	if s.Amount.Int != nil {
		if s.Amount.Sign() <= 0 {
			return nil, fault.New(fault.Invalid, "seed amount %s is not positive", s.Amount)
		}
		limit = saturate(s.Amount.Int)
	}
	var outs []resolved
	take := func(o uint64, name string) {
		v := g.Output(o).Value
		a := min(v, limit)
		if a == 0 {
			return
		}
		limit -= a
		outs = append(outs, resolved{o, a, name})
	}
	switch s.Kind {
	case SeedOutput:
		op, err := chain.ParseOutpoint(s.Output)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "seed: %v", err)
		}
		o, err := g.OutputNum(op)
		if err != nil {
			return nil, seedErr(err, "seed output %s", s.Output)
		}
		g.RLock()
		ok := o < g.NumOutputs()
		if ok {
			take(o, op.String())
		}
		g.RUnlock()
	case SeedTx:
		n, err := g.TxNum(s.Tx)
		if err != nil {
			return nil, seedErr(err, "seed transaction %s", s.Tx)
		}
		g.RLock()
		if n < g.NumTx() {
			tr := g.Tx(n)
			for j := range uint64(tr.NumOut) {
				take(tr.FirstOut+j, fmt.Sprintf("%s:%d", s.Tx, j))
			}
		}
		g.RUnlock()
	case SeedAddress:
		if s.Asset != "" && s.Asset != info.ID+":"+info.Symbol {
			return nil, fault.New(fault.Invalid, "asset %q is not %s's native asset %s:%s", s.Asset, info.ID, info.ID, info.Symbol)
		}
		a, err := g.AddrNum(s.Address)
		if err != nil {
			return nil, seedErr(err, "seed address %s", s.Address)
		}
		after := ""
		for limit > 0 {
			page, err := t.idx.History(ctx, info.ID, s.Address, after, 10_000)
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", s.Address, err)
			}
			g.RLock()
			for _, e := range page.Entries {
				if e.Credits == 0 || (s.FromHeight > 0 && e.Height >= 0 && e.Height < s.FromHeight) || s.before(e.Time) {
					continue
				}
				n, err := g.TxNum(e.Tx)
				if err != nil || n >= g.NumTx() {
					continue
				}
				tr := g.Tx(n)
				for j := range uint64(tr.NumOut) {
					if limit > 0 && g.Output(tr.FirstOut+j).Addr == a {
						take(tr.FirstOut+j, fmt.Sprintf("%s:%d", e.Tx, j))
					}
				}
			}
			g.RUnlock()
			if page.Next == "" {
				break
			}
			after = page.Next
		}
	default:
		return nil, fault.New(fault.Invalid, "unknown seed kind %q", s.Kind)
	}
	if len(outs) == 0 {
		return nil, fault.New(fault.Invalid, "seed %s names no value to trace", seedName(s))
	}
	return outs, nil
}

func seedName(s Seed) string {
	switch s.Kind {
	case SeedOutput:
		return s.Output
	case SeedTx:
		return s.Tx
	}
	return s.Address
}

func seedErr(err error, format string, args ...any) error {
	if errors.Is(err, chain.ErrNotFound) {
		return fault.Wrap(fault.NotFound, err, format+": not in the chain index", args...)
	}
	return fault.Wrap(fault.Invalid, err, format+": %v", append(args, err)...)
}

// release decides what happens to a tainted output o of transaction n:
// it is an endpoint, a stop, or followed into its spender.
func (r *run) release(o uint64, tn *taint, n uint32) {
	out := r.g.Output(o)
	if l, ok := r.labelOf(out.Addr); ok && r.endpoints[l.Category] {
		r.arrive(o, tn, n, out.Addr)
		return
	}
	switch {
	case out.Addr == chainstore.NoAddr:
		r.stop(StopBurned, o, tn, n)
	case tn.amount < r.dust && r.opts.Model != Poison:
		r.stop(StopDust, o, tn, n)
	case r.opts.Model == Poison && out.Value < r.dust:
		r.stop(StopDust, o, tn, n)
	case out.SpentBy == chainstore.NoTx:
		r.stop(StopUnspent, o, tn, n)
	case out.SpentBy >= r.g.NumTx():
		r.stop(StopNotFound, o, tn, n)
	case int(tn.hops) >= r.opts.MaxHops:
		r.stop(StopHops, o, tn, n)
	case r.opts.MaxHeight > 0 && int64(r.g.Tx(out.SpentBy).Height) > r.opts.MaxHeight:
		r.stop(StopWindow, o, tn, n)
	default:
		tn.followed = true
		if !r.queued[out.SpentBy] {
			r.queued[out.SpentBy] = true
			r.queue.push(out.SpentBy)
		}
	}
}

// step moves the taint of transaction n's inputs to its outputs and fee.
func (r *run) step(n uint32) {
	g := r.g
	tr := g.Tx(n)
	r.res.Stats.Txs++
	var v, t uint64
	hops := int32(-1)
	var parent uint64 = noParent
	var best uint64
	in := make([]segs, tr.NumIn)
	var from []uint32
	for k := range uint64(tr.NumIn) {
		o := g.Input(tr.FirstIn + k)
		var value uint64
		if o < chainstore.InputUnknown {
			value = g.Output(o).Value
		}
		v += value
		tn := r.tainted[o]
		if o >= chainstore.InputUnknown || tn == nil || !tn.followed {
			in[k] = segs{{value, Clean}}
			continue
		}
		t += tn.amount
		if hops < 0 || tn.hops < hops {
			hops = tn.hops
		}
		if parent == noParent || tn.amount > best {
			parent, best = o, tn.amount
		}
		if r.opts.Model.segmented() {
			in[k] = tn.segs
		}
		tn.segs = nil // consumed: only the path pointers stay
		if len(from) < 8 && !slices.Contains(from, g.Output(o).Addr) {
			from = append(from, g.Output(o).Addr)
		}
	}
	w := make([]uint64, tr.NumOut)
	var sumW uint64
	for j := range w {
		w[j] = g.Output(tr.FirstOut + uint64(j)).Value
		sumW += w[j]
	}
	var fee uint64
	if v > sumW {
		fee = v - sumW
	}
	var shares []uint64
	var outSegs []segs
	var feeTaint uint64
	switch r.opts.Model {
	case Poison:
		shares, feeTaint = w, fee
	case Haircut:
		shares, feeTaint = haircut(t, v, w, fee)
	default:
		var feeSegs segs
		switch r.opts.Model {
		case LIFO:
			outSegs, feeSegs = lifo(in, w)
		case TIHO:
			outSegs, feeSegs = tiho(in, w)
		default:
			outSegs, feeSegs = fifo(in, w)
		}
		shares = make([]uint64, len(w))
		for j := range outSegs {
			shares[j] = outSegs[j].tainted()
		}
		feeTaint = feeSegs.tainted()
	}
	addU(r.fees, feeTaint)
	r.annotate(n)
	for j, a := range shares {
		if a == 0 {
			continue
		}
		o := tr.FirstOut + uint64(j)
		tn := &taint{amount: a, hops: hops + 1, parent: parent}
		if outSegs != nil {
			tn.segs = outSegs[j]
		}
		r.tainted[o] = tn
		r.res.Stats.Outputs++
		if r.watch != nil {
			r.arriveUTXO(o, tn, n)
		}
		r.edge(n, from, g.Output(o).Addr, a, int(tn.hops))
		r.release(o, tn, n)
	}
}

// arrive records taint reaching a labelled service.
func (r *run) arrive(o uint64, tn *taint, n uint32, addr uint32) {
	e := r.endAt(addr, o, n, tn.hops)
	addU(e.amount, tn.amount)
	for _, s := range tn.segs {
		if s.Seed != Clean {
			addU(e.seedAcc(s.Seed), s.Amount)
		}
	}
}

// endAt returns the accumulator of endpoint addr, counting one more
// arrival, at output or transfer o of transaction n, hops deep.
func (r *run) endAt(addr uint32, o uint64, n uint32, hops int32) *endAcc {
	e := r.ends[addr]
	if e == nil {
		e = &endAcc{amount: new(big.Int), hops: hops, firstOut: o, firstTx: n, firstBlock: int64(r.g.Tx(n).Height), bySeed: map[int32]*big.Int{}}
		r.ends[addr] = e
	}
	e.deposits++
	e.hops = min(e.hops, hops)
	return e
}

func (e *endAcc) seedAcc(s int32) *big.Int {
	b := e.bySeed[s]
	if b == nil {
		b = new(big.Int)
		e.bySeed[s] = b
	}
	return b
}

// stopAt counts one more stop for reason, of amount a.
func (r *run) stopAt(reason string, a *big.Int) {
	acc := r.stopTot[reason]
	if acc == nil {
		acc = &stopAcc{amount: new(big.Int)}
		r.stopTot[reason] = acc
	}
	acc.count++
	acc.amount.Add(acc.amount, a)
	if reason == StopUnspent {
		r.unspent.Add(r.unspent, a)
	}
}

// addU adds x to b.
func addU(b *big.Int, x uint64) {
	if x != 0 {
		b.Add(b, new(big.Int).SetUint64(x))
	}
}

// stop records taint that the trace does not follow further.
func (r *run) stop(reason string, o uint64, tn *taint, n uint32) {
	r.stopAt(reason, new(big.Int).SetUint64(tn.amount))
	if len(r.res.Stops) >= r.opts.MaxStops {
		r.res.StopsTruncated = true
		return
	}
	tr := r.g.Tx(n)
	out := r.g.Output(o)
	s := Stop{Reason: reason, Output: fmt.Sprintf("%s:%d", r.g.TxHash(n), o-tr.FirstOut), Tx: r.g.TxHash(n),
		Amount: amt(tn.amount), Hops: int(tn.hops), Height: int64(tr.Height)}
	if out.Addr != chainstore.NoAddr {
		s.Address = r.name(out.Addr)
		if l, ok := r.labelOf(out.Addr); ok {
			s.Label = &l
		}
	}
	r.res.Stops = append(r.res.Stops, s)
}

func (r *run) edge(n uint32, from []uint32, to uint32, a uint64, hop int) {
	if len(r.res.Edges) >= r.opts.MaxEdges {
		r.res.EdgesTruncated = true
		return
	}
	e := Edge{Tx: r.g.TxHash(n), To: r.name(to), Amount: amt(a), Hop: hop, From: []string{}}
	for _, f := range from {
		e.From = append(e.From, r.name(f))
	}
	r.res.Edges = append(r.res.Edges, e)
}

// name returns an address number's key, "" for none.
func (r *run) name(a uint32) string {
	if a == chainstore.NoAddr {
		return ""
	}
	if s, ok := r.names[a]; ok {
		return s
	}
	if s, ok := r.t.lookupKey(r.keys, a); ok {
		r.names[a] = s
		return s
	}
	s, err := r.g.AddrKey(a)
	if err != nil {
		s = fmt.Sprintf("#%d", a)
	} else {
		r.t.rememberKey(r.keys, a, s)
	}
	r.names[a] = s
	return s
}

// path returns the transactions from a seed to output o, and the
// addresses of the outputs before o on the way.
func (r *run) path(o uint64) (txs, via []string) {
	first := true
	for o != noParent {
		txs = append(txs, r.g.TxHash(r.g.TxOf(o)))
		if !first {
			if a := r.g.Output(o).Addr; a != chainstore.NoAddr {
				via = append(via, r.name(a))
			}
		}
		first = false
		tn := r.tainted[o]
		if tn == nil {
			break
		}
		o = tn.parent
	}
	slices.Reverse(txs)
	slices.Reverse(via)
	return txs, via
}

// finish turns the accumulators into the result; path gives an
// endpoint's path from its first arrival.
func (r *run) finish(path func(first uint64) (txs, via []string)) {
	res := r.res
	for addr, e := range r.ends {
		l, _ := r.labelOf(addr)
		ep := Endpoint{
			Address: r.name(addr), Entity: l.Entity, Category: l.Category, Confidence: l.Confidence,
			Amount: Amount{e.amount}, Hops: int(e.hops), FirstBlock: e.firstBlock, FirstTx: r.g.TxHash(e.firstTx),
			Deposits: e.deposits,
		}
		ep.Path, ep.Via = path(e.firstOut)
		for s, a := range e.bySeed {
			ep.BySeed = append(ep.BySeed, SeedAmount{Seed: int(s), Amount: Amount{a}})
		}
		res.Endpoints = append(res.Endpoints, ep)
	}
	res.StopTotals = map[string]StopTotal{}
	for k, a := range r.stopTot {
		res.StopTotals[k] = StopTotal{Count: a.count, Amount: Amount{a.amount}}
	}
	res.Fees = Amount{r.fees}
	res.Unspent = Amount{r.unspent}
}

// sortResult orders a result's lists: endpoints by amount, largest first;
// stops by amount; seeds of an endpoint by seed.
func sortResult(res *Result) {
	cmpAmt := func(a, b Amount) int { return b.Cmp(a.Int) }
	sort.SliceStable(res.Endpoints, func(i, j int) bool {
		if c := cmpAmt(res.Endpoints[i].Amount, res.Endpoints[j].Amount); c != 0 {
			return c < 0
		}
		return res.Endpoints[i].Address < res.Endpoints[j].Address
	})
	for i := range res.Endpoints {
		sort.Slice(res.Endpoints[i].BySeed, func(a, b int) bool { return res.Endpoints[i].BySeed[a].Seed < res.Endpoints[i].BySeed[b].Seed })
	}
	sort.SliceStable(res.Stops, func(i, j int) bool { return cmpAmt(res.Stops[i].Amount, res.Stops[j].Amount) < 0 })
	if res.Endpoints == nil {
		res.Endpoints = []Endpoint{}
	}
	if res.Stops == nil {
		res.Stops = []Stop{}
	}
	if res.Edges == nil {
		res.Edges = []Edge{}
	}
	if res.Annotations == nil {
		res.Annotations = []Annotation{}
	}
}

// saturate returns x as uint64, MaxUint64 when it is larger.
func saturate(x *big.Int) uint64 {
	if x.IsUint64() {
		return x.Uint64()
	}
	return ^uint64(0)
}

// txHeap is a min-heap of transaction numbers: taint moves in chain
// order, so a transaction is stepped after every transaction it spends
// from.
type txHeap []uint32

func (h txHeap) Len() int { return len(h) }

func (h *txHeap) push(n uint32) {
	*h = append(*h, n)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *txHeap) pop() uint32 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l, m := 2*i+1, i
		if l < len(s) && s[l] < s[m] {
			m = l
		}
		if l+1 < len(s) && s[l+1] < s[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
