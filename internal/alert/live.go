package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// Index is the chain index live traces read: the tracer's, the chains it
// holds, and a transaction's block.
type Index interface {
	trace.Index
	Chains() []string
	Tx(ctx context.Context, chainID, hash string) (*chainstore.TxView, error)
}

// Models are the taint models every live trace runs; an alert carries the
// amount under each.
var Models = []trace.Model{trace.FIFO, trace.Haircut}

// LiveOptions configure [Live]. The zero value is valid.
type LiveOptions struct {
	// Logger receives what happens. Default: discard.
	Logger *slog.Logger
	// Interval is how often the chain index is checked for new
	// transactions, besides each Notify. Default: 200ms.
	Interval time.Duration
	// Refresh is the least time between two reads of the incidents and
	// labels after the intelligence changed. Default: 1s.
	Refresh time.Duration
	// MaxHops is how many transactions deep a live trace follows value.
	// Default: 50.
	MaxHops int
}

// Live keeps one live trace per incident and chain: the incidents the
// node's operator may see that have theft-destination wallets on a chain
// the index holds, each traced under [Models] with the operator's labels.
// A live trace keeps its tainted frontier: the outputs its unspent taint
// sits in (UTXO), or the addresses that hold taint (account), and the
// seed addresses themselves.
//
// After each block (Notify, or the next check), Live reads the new
// transactions of the chain's graph: a trace is re-run when one of them
// spends from its frontier or pays one of its seed addresses. A re-run is
// a full trace from the incident's seeds: simple, and exactly what a fresh
// trace gives. When the graph was cut back or its last transaction
// changed (a reorg), every trace of the chain is re-run; so too when the
// labels, the incident's seeds or the set of watched addresses change.
// Each run lists the tainted outputs that reached a watched address;
// those not alerted yet (by incident, watch, transaction and address)
// raise alerts for the watches' organisations that may see the incident.
// The arrivals are matched again whenever the watches or the
// intelligence change, so a new watch, or an incident an organisation
// may now see, alerts on what had already arrived.
//
// The incidents, labels and visibility are read apart, when the
// intelligence changed, by a goroutine of Run's; so are the alerts'
// sightings recorded: neither delays an alert.
//
// Run drives it from one goroutine; Notify may be called from any.
type Live struct {
	svc    *Service
	idx    Index
	tracer *trace.Tracer
	opts   LiveOptions
	log    *slog.Logger
	wake   chan struct{}

	// view is the intelligence as the refresher last read it.
	view struct {
		sync.Mutex
		cur *view
	}

	// What follows belongs to the goroutine of Run's loop.

	cur       *view                             // the view in use
	incidents map[string]intel.Incident         // the operator's view
	labels    map[string]map[string]trace.Label // by chain: the operator's
	labelSig  map[string]string
	visible   map[string]map[string]bool        // by org: incidents it may see
	orgLabels map[string]map[string]trace.Label // by org and chain
	watchSig  string
	watched   map[string]map[string][]Watch // by chain and address
	chains    map[string]*chainState
	traces    map[liveKey]*liveTrace
	alerted   map[alertKey]bool
	rematch   bool // a match failed: match every trace next time
	// synced and syncedChains are the view and the chains the traces
	// were last made for.
	synced       *view
	syncedChains string
	runs         int // traces run, for tests
}

type liveKey struct{ incident, chain string }

// chainState is what Live knows of one chain's graph.
type chainState struct {
	started bool
	// seen is the number of transactions read, last the hash of the last
	// of them and height its block's height.
	seen   uint32
	last   [32]byte
	height int64
	// watch holds the watched addresses, for trace.Options.Watch.
	watch map[string]bool
	// The frontier of the chain's traces, indexed; stale when a trace
	// changed since it was built.
	stale bool
	outs  map[uint64][]*liveTrace
	addrs map[uint32][]*liveTrace
	seeds map[uint32][]*liveTrace
}

// liveTrace is one incident's live trace on one chain.
type liveTrace struct {
	key   liveKey
	seeds []string // canonical seed addresses, sorted
	dirty bool
	// always: the frontier is not complete (too many stops), so every new
	// transaction re-runs the trace.
	always   bool
	outs     []uint64 // frontier outputs (UTXO)
	addrs    []uint32 // frontier addresses (account)
	seedNums []uint32
	missing  []string // seed addresses the index has not seen yet
	frontier []string
	arrivals []*arrival
	state    LiveState
}

// arrival is taint reaching a watched address in one transaction, under
// each model.
type arrival struct {
	address, tx, output string
	height              int64
	hops                int
	path, via           []string
	amount              map[trace.Model]*big.Int
}

// NewLive returns the live traces of svc's alerts over idx.
func NewLive(svc *Service, idx Index, opts LiveOptions) *Live {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.MaxHops <= 0 {
		opts.MaxHops = 50
	}
	return &Live{
		svc: svc, idx: idx, tracer: trace.New(idx), opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		labels: map[string]map[string]trace.Label{}, labelSig: map[string]string{},
		chains: map[string]*chainState{}, traces: map[liveKey]*liveTrace{},
	}
}

// Notify tells Live that the index applied blocks of chainID: it checks at
// once rather than at the next interval.
func (l *Live) Notify(chainID string) {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run keeps the live traces until ctx ends. A restarted node re-runs every
// trace once, and so raises what it missed while it was down. Besides the
// loop over the chain, it runs two goroutines of its own, and waits for
// them: one reads the intelligence when it changed, one records the
// alerts' sightings.
func (l *Live) Run(ctx context.Context) error {
	if err := l.init(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.refresh(ctx)
	}()
	go func() {
		defer wg.Done()
		l.sightings(ctx)
	}()
	t := time.NewTicker(l.opts.Interval)
	defer t.Stop()
	for {
		if err := l.step(ctx); err != nil && ctx.Err() == nil {
			l.log.WarnContext(ctx, "live traces: check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-l.wake:
		}
	}
}

// init reads the keys of the alerts raised so far and the intelligence.
func (l *Live) init(ctx context.Context) error {
	keys, err := l.svc.store.alertKeys(ctx)
	if err != nil {
		return err
	}
	l.alerted = keys
	_, err = l.reread(ctx)
	return err
}

// step brings the live traces up to date with the intelligence, the
// watches and the chain index, and raises the alerts that follow.
func (l *Live) step(ctx context.Context) error {
	rematch := false
	if v := l.published(); v != l.cur {
		l.use(v)
		rematch = true
	}
	if err := l.syncTraces(ctx); err != nil {
		return err
	}
	changed, err := l.refreshWatches(ctx)
	if err != nil {
		return err
	}
	rematch = rematch || changed

	ran := map[*liveTrace]bool{}
	for id, cs := range l.chains {
		g := l.idx.Graph(id)
		if g == nil {
			continue
		}
		l.scan(g, id, cs)
		for _, lt := range l.traces {
			if lt.key.chain != id || !lt.dirty {
				continue
			}
			if err := l.run(ctx, g, cs, lt); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				l.log.WarnContext(ctx, "live trace failed", "incident", lt.key.incident, "chain", id, "err", err)
				continue
			}
			ran[lt] = true
		}
		if cs.stale {
			cs.index(l.traces, id)
		}
	}
	var errs []error
	rematch = rematch || l.rematch
	l.rematch = false
	for _, lt := range l.traces {
		if rematch || ran[lt] {
			if err := l.match(ctx, lt); err != nil {
				l.rematch = true // raise the rest next time
				errs = append(errs, err)
			}
		}
	}
	// Saved after the alerts are raised: the state is for the record,
	// and the alerts are what is waited for.
	if len(ran) > 0 {
		states := make([]LiveState, 0, len(ran))
		for lt := range ran {
			states = append(states, lt.state)
		}
		if err := l.svc.store.saveLive(ctx, states); err != nil {
			errs = append(errs, fmt.Errorf("save live traces: %w", err))
		}
	}
	return errors.Join(errs...)
}

// use makes v the view in use: its incidents, labels and visibility; a
// chain whose labels changed has its traces re-run.
func (l *Live) use(v *view) {
	l.cur, l.incidents = v, v.incidents
	for id, labels := range v.labels {
		l.setLabels(id, labels)
	}
	// Local copies: misses are filled in by the loop.
	l.visible = make(map[string]map[string]bool, len(v.visible))
	for k, m := range v.visible {
		l.visible[k] = m
	}
	l.orgLabels = make(map[string]map[string]trace.Label, len(v.orgLabels))
	for k, m := range v.orgLabels {
		l.orgLabels[k] = m
	}
}

// operator is the viewer live traces read incidents and labels as.
func (l *Live) operator() access.Viewer {
	return access.Viewer{Org: l.svc.opts.Operator, Role: access.Reader}
}

// loadLabels reads chainID's labels as the operator sees them, for a chain
// the index has begun to hold since the view was read.
func (l *Live) loadLabels(ctx context.Context, chainID string) error {
	labels, err := trace.LabelsFor(ctx, l.svc.intel, l.operator(), chainID, nil)
	if err != nil {
		return err
	}
	l.setLabels(chainID, labels)
	return nil
}

// setLabels sets chainID's labels; when they changed, the chain's traces
// are re-run.
func (l *Live) setLabels(chainID string, labels map[string]trace.Label) {
	sig := labelSig(labels)
	if old, ok := l.labelSig[chainID]; ok && old != sig {
		l.markChain(chainID)
	}
	l.labels[chainID], l.labelSig[chainID] = labels, sig
}

func labelSig(labels map[string]trace.Label) string {
	keys := make([]string, 0, len(labels))
	for a, lab := range labels {
		keys = append(keys, a+"\x00"+lab.Entity+"\x00"+lab.Category)
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x01")
}

// markChain marks every trace of chainID for a re-run.
func (l *Live) markChain(chainID string) {
	for _, lt := range l.traces {
		if lt.key.chain == chainID {
			lt.dirty = true
		}
	}
}

// chain returns the state of chainID.
func (l *Live) chain(id string) *chainState {
	cs := l.chains[id]
	if cs == nil {
		cs = &chainState{stale: true}
		l.chains[id] = cs
	}
	return cs
}

// syncTraces makes one live trace per incident and held chain with
// theft-destination wallets, and drops the others. A chain the index has
// just begun to hold gets its labels.
func (l *Live) syncTraces(ctx context.Context) error {
	held := map[string]bool{}
	chains := l.idx.Chains()
	for _, id := range chains {
		held[id] = true
		if _, ok := l.labels[id]; !ok {
			if err := l.loadLabels(ctx, id); err != nil {
				return err
			}
		}
	}
	// Only a new view or a new chain changes the traces wanted.
	if sig := strings.Join(chains, ","); l.synced == l.cur && sig == l.syncedChains {
		return nil
	} else {
		l.synced, l.syncedChains = l.cur, sig
	}
	want := map[liveKey][]string{}
	for _, inc := range l.incidents {
		for _, w := range inc.Wallets {
			if w.Role != trace.SeedRole || !held[w.Chain] {
				continue
			}
			a, err := address.Canonical(w.Chain, w.Value)
			if err != nil {
				a = w.Value
			}
			k := liveKey{inc.ID, w.Chain}
			if !slices.Contains(want[k], a) {
				want[k] = append(want[k], a)
			}
		}
	}
	for k, seeds := range want {
		sort.Strings(seeds)
		if lt := l.traces[k]; lt != nil && slices.Equal(lt.seeds, seeds) {
			continue
		}
		l.traces[k] = &liveTrace{key: k, seeds: seeds, dirty: true}
		l.chain(k.chain).stale = true
	}
	for k := range l.traces {
		if _, ok := want[k]; !ok {
			delete(l.traces, k)
			l.chain(k.chain).stale = true
			if err := l.svc.store.deleteLive(ctx, k.incident, k.chain); err != nil {
				l.log.WarnContext(ctx, "forgetting a live trace failed", "incident", k.incident, "err", err)
			}
		}
	}
	return nil
}

// refreshWatches reads the watches and resolves their labels. A chain
// whose set of watched addresses changed has its traces re-run. It
// reports whether any watch changed.
func (l *Live) refreshWatches(ctx context.Context) (bool, error) {
	ws, err := l.svc.store.Watches(ctx, "")
	if err != nil {
		return false, err
	}
	watched := map[string]map[string][]Watch{}
	var sig []string
	for _, w := range ws {
		addrs := w.Addresses
		if w.Label != "" {
			labels, err := l.labelsOf(ctx, w.Org, w.Chain)
			if err != nil {
				return false, err
			}
			for a, lab := range labels {
				if strings.EqualFold(lab.Entity, w.Label) {
					addrs = append(addrs, a)
				}
			}
		}
		if watched[w.Chain] == nil {
			watched[w.Chain] = map[string][]Watch{}
		}
		for _, a := range addrs {
			watched[w.Chain][a] = append(watched[w.Chain][a], w)
			sig = append(sig, w.ID+"\x00"+w.Chain+"\x00"+a+"\x00"+w.Min)
		}
	}
	sort.Strings(sig)
	s := strings.Join(sig, "\x01")
	changed := s != l.watchSig
	l.watchSig, l.watched = s, watched
	for _, id := range l.idx.Chains() {
		set := map[string]bool{}
		for a := range watched[id] {
			set[a] = true
		}
		cs := l.chain(id)
		if !sameSet(cs.watch, set) {
			cs.watch = set
			l.markChain(id)
		}
	}
	return changed, nil
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// labelsOf returns the labels of chainID that org may see.
func (l *Live) labelsOf(ctx context.Context, org, chainID string) (map[string]trace.Label, error) {
	k := orgChain(org, chainID)
	if labels, ok := l.orgLabels[k]; ok {
		return labels, nil
	}
	labels, err := trace.LabelsFor(ctx, l.svc.intel, access.Viewer{Org: org, Role: access.Reader}, chainID, nil)
	if err != nil {
		return nil, fmt.Errorf("labels of %s for %s: %w", chainID, org, err)
	}
	l.orgLabels[k] = labels
	return labels, nil
}

// visibleTo reports whether org may see incident.
func (l *Live) visibleTo(ctx context.Context, org, incident string) (bool, error) {
	vis, ok := l.visible[org]
	if !ok {
		var err error
		if vis, err = visibleIncidents(ctx, l.svc.intel, org); err != nil {
			return false, err
		}
		l.visible[org] = vis
	}
	return vis[incident], nil
}

// scan reads the transactions the chain's graph gained since the last
// scan and marks the traces they touch.
func (l *Live) scan(g *chainstore.Graph, chainID string, cs *chainState) {
	var touched []*liveTrace
	g.RLock()
	n := g.NumTx()
	reorg := cs.started && (n < cs.seen || (cs.seen > 0 && g.TxID(cs.seen-1) != cs.last))
	grew := n != cs.seen
	if cs.started && !reorg {
		utxo := g.Model() == chain.UTXO
		for k := cs.seen; k < n; k++ {
			tr := g.Tx(k)
			if utxo {
				for i := tr.FirstIn; i < tr.FirstIn+uint64(tr.NumIn); i++ {
					if o := g.Input(i); o < chainstore.InputUnknown {
						touched = append(touched, cs.outs[o]...)
					}
				}
				for o := tr.FirstOut; o < tr.FirstOut+uint64(tr.NumOut); o++ {
					touched = append(touched, cs.seeds[g.Output(o).Addr]...)
				}
				continue
			}
			for x := tr.FirstOut; x < tr.FirstOut+uint64(tr.NumOut); x++ {
				t := g.Transfer(x)
				touched = append(touched, cs.addrs[t.From]...)
				touched = append(touched, cs.seeds[t.To]...)
			}
		}
	}
	cs.seen = n
	if n > 0 {
		cs.last, cs.height = g.TxID(n-1), int64(g.Tx(n-1).Height)
	}
	g.RUnlock()
	cs.started = true
	if reorg {
		l.log.Info("live traces: the chain was reorganised; re-running its traces", "chain", chainID)
		l.markChain(chainID)
	}
	for _, lt := range touched {
		lt.dirty = true
	}
	if !grew {
		return
	}
	for _, lt := range l.traces {
		if lt.key.chain != chainID || lt.dirty {
			continue
		}
		if lt.always {
			lt.dirty = true
			continue
		}
		for _, a := range lt.missing {
			if _, err := g.AddrNum(a); err == nil {
				lt.dirty = true
				break
			}
		}
	}
}

// run re-runs lt from its seeds under each model, up to the block the
// last scan reached, and keeps its frontier and arrivals.
func (l *Live) run(ctx context.Context, g *chainstore.Graph, cs *chainState, lt *liveTrace) error {
	cs.stale = true
	lt.outs, lt.addrs, lt.seedNums, lt.missing, lt.frontier, lt.arrivals, lt.always = nil, nil, nil, nil, nil, nil, false
	lt.state = LiveState{Incident: lt.key.incident, Chain: lt.key.chain, Seeds: lt.seeds, Tainted: map[string]string{}, Unspent: map[string]string{}, Txs: cs.seen, Updated: time.Now().UTC()}
	var seeds []trace.Seed
	for _, a := range lt.seeds {
		n, err := g.AddrNum(a)
		if err != nil {
			lt.missing = append(lt.missing, a) // nothing paid to it yet
			continue
		}
		lt.seedNums = append(lt.seedNums, n)
		seeds = append(seeds, trace.Seed{Kind: trace.SeedAddress, Address: a, Note: fmt.Sprintf("%s of %s", trace.SeedRole, lt.key.incident)})
	}
	lt.dirty = false
	l.runs++
	if len(seeds) == 0 {
		return nil
	}
	isUTXO := g.Model() == chain.UTXO
	frontier := map[string]bool{}
	merged := map[[2]string]*arrival{}
	var order []*arrival
	for _, m := range Models {
		opts := trace.Options{
			Model: m, MaxHops: l.opts.MaxHops, MaxHeight: cs.height, Labels: l.labels[lt.key.chain],
			Watch: cs.watch, MaxEdges: 1, MaxStops: 1 << 20,
		}
		if opts.MaxHeight < 0 {
			opts.MaxHeight = 0 // unknown heights: no window
		}
		res, err := l.tracer.Trace(ctx, lt.key.chain, seeds, opts)
		if err != nil {
			// Try again with the next transaction (the graph may be
			// behind its index for a moment).
			lt.state.Error, lt.always = fault.MessageOf(err), true
			return fmt.Errorf("trace %s under %s: %w", lt.key.incident, m, err)
		}
		lt.state.Tainted[string(m)], lt.state.Unspent[string(m)] = res.Tainted.String(), res.Unspent.String()
		lt.always = lt.always || res.StopsTruncated
		for _, s := range res.Stops {
			if s.Reason != trace.StopUnspent && s.Reason != trace.StopWindow {
				continue
			}
			if isUTXO {
				frontier[s.Output] = true
			} else if s.Address != "" {
				frontier[s.Address] = true
			}
		}
		for _, a := range res.Arrivals {
			k := [2]string{a.Tx, a.Address}
			ar := merged[k]
			if ar == nil {
				ar = &arrival{address: a.Address, tx: a.Tx, output: a.Output, height: a.Height, hops: a.Hops, path: a.Path, via: a.Via, amount: map[trace.Model]*big.Int{}}
				merged[k] = ar
				order = append(order, ar)
			}
			if ar.amount[m] == nil {
				ar.amount[m] = new(big.Int)
			}
			ar.amount[m].Add(ar.amount[m], a.Amount.Int)
			ar.hops = min(ar.hops, a.Hops)
		}
	}
	lt.arrivals = order
	for f := range frontier {
		lt.frontier = append(lt.frontier, f)
		if isUTXO {
			op, err := chain.ParseOutpoint(f)
			if err != nil {
				continue
			}
			if o, err := g.OutputNum(op); err == nil {
				lt.outs = append(lt.outs, o)
			}
		} else if n, err := g.AddrNum(f); err == nil {
			lt.addrs = append(lt.addrs, n)
		}
	}
	sort.Strings(lt.frontier)
	lt.state.Frontier = lt.frontier
	return nil
}

// index rebuilds the chain's frontier index from its traces.
func (cs *chainState) index(traces map[liveKey]*liveTrace, chainID string) {
	cs.outs, cs.addrs, cs.seeds = map[uint64][]*liveTrace{}, map[uint32][]*liveTrace{}, map[uint32][]*liveTrace{}
	for _, lt := range traces {
		if lt.key.chain != chainID {
			continue
		}
		for _, o := range lt.outs {
			cs.outs[o] = append(cs.outs[o], lt)
		}
		for _, a := range lt.addrs {
			cs.addrs[a] = append(cs.addrs[a], lt)
		}
		for _, a := range lt.seedNums {
			cs.seeds[a] = append(cs.seeds[a], lt)
		}
	}
	cs.stale = false
}

// match raises the alerts lt's arrivals call for.
func (l *Live) match(ctx context.Context, lt *liveTrace) error {
	byAddr := l.watched[lt.key.chain]
	if len(byAddr) == 0 || len(lt.arrivals) == 0 {
		return nil
	}
	inc := l.incidents[lt.key.incident]
	for _, ar := range lt.arrivals {
		for _, w := range byAddr[ar.address] {
			k := alertKey{lt.key.incident, w.ID, ar.tx, ar.address}
			if l.alerted[k] {
				continue
			}
			fifo, haircut := amountOf(ar, trace.FIFO), amountOf(ar, trace.Haircut)
			most := fifo
			if haircut.Cmp(most) > 0 {
				most = haircut
			}
			if most.Sign() == 0 || most.Cmp(w.min()) < 0 {
				continue
			}
			ok, err := l.visibleTo(ctx, w.Org, lt.key.incident)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			tv, err := l.idx.Tx(ctx, lt.key.chain, ar.tx)
			if err != nil {
				return fmt.Errorf("transaction %s: %w", ar.tx, err)
			}
			a := &Alert{
				Org: w.Org, Watch: w.ID, Chain: lt.key.chain, Asset: chain.NativeAsset(lt.key.chain), Address: ar.address,
				Incident: inc.ID, IncidentName: inc.Name, Actors: []Actor{},
				Amounts: Amounts{FIFO: fifo.String(), Haircut: haircut.String()},
				Tx:      ar.tx, Output: ar.output, Block: tv.Block, BlockHeight: tv.Height, BlockTime: tv.Time.UTC(),
				Hops: ar.hops, Path: ar.path, Via: ar.via,
			}
			for _, act := range inc.Actors {
				a.Actors = append(a.Actors, Actor{ID: act.ID, Name: act.Name})
			}
			if a.Via == nil {
				a.Via = []string{}
			}
			if _, err := l.svc.Raise(ctx, a, w); err != nil {
				return err
			}
			l.alerted[k] = true
		}
	}
	return nil
}

func amountOf(ar *arrival, m trace.Model) *big.Int {
	if a := ar.amount[m]; a != nil {
		return a
	}
	return new(big.Int)
}
