// Package screen answers the question an exchange asks of every deposit:
// is this address flagged, or did stolen value reach it? A screening is
// done as one viewer: it sees only the flags, labels and incidents that
// viewer may see, so another organisation's AMBER flag raises nothing for
// an organisation outside its recipients.
//
// The score, 0 to 100, is the larger of the direct and the indirect score:
//
//   - direct: for each flag on the address, the weight of its category
//     (DirectWeights) times its confidence (0-100, 100 when not given) /
//     100; a flag that reaches the address through its cluster counts
//     ClusterFactor of that. The direct score is the largest.
//   - indirect: for each incident whose traced value reached the address,
//     IndirectMax times the share of the address's receipts that was
//     tainted (capped at 1), times HopDecay for every hop beyond the
//     first; at least IndirectFloor when any taint arrived. The indirect
//     score is the largest.
//
// Levels: none (0), low (1-24), medium (25-49), high (50-79), severe
// (80-100).
package screen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// The constants of the score (see the package documentation).
const (
	IndirectMax   = 90.0
	IndirectFloor = 20.0
	HopDecay      = 0.9
	ClusterFactor = 0.5
	// MaxBatch is the most addresses one batch screens.
	MaxBatch = 10_000
)

// DirectWeights weigh a flag's category: the wallet roles of incidents,
// "actor" (a wallet a threat actor uses), indicator types, and the abuse
// categories of labels. A category not listed weighs DefaultWeight.
var DirectWeights = map[string]float64{
	"theft-destination":  100,
	"actor":              100,
	"laundering":         100,
	"cash-out":           80,
	"malicious-activity": 90,
	"sanctions":          100,
	"ransomware":         90,
	"scam":               80,
	"perpetrator":        100,
	"mixing_service":     60,
	"victim":             0, // a victim's wallet is no risk
}

// DefaultWeight weighs a flag of a category DirectWeights does not list.
const DefaultWeight = 70.0

// Level names a score's band.
func Level(score int) string {
	switch {
	case score <= 0:
		return "none"
	case score < 25:
		return "low"
	case score < 50:
		return "medium"
	case score < 80:
		return "high"
	}
	return "severe"
}

// Intel is what screening reads of the node's intelligence, as a viewer.
type Intel interface {
	trace.Intel
	Flags(ctx context.Context, v access.Viewer, q intel.FlagQuery) ([]intel.FlaggedAddress, error)
	// LastAdded changes whenever the intelligence does: the screener's
	// cache of a viewer's flags, labels and exposure holds until then.
	LastAdded(ctx context.Context) (int64, error)
	// AuditEvidence logs the AMBER and RED objects a cached screening
	// showed.
	AuditEvidence(ctx context.Context, v access.Viewer, ev []intel.Evidence, how string) error
}

// Index is what screening reads of the chain index.
type Index interface {
	trace.Index
	// Received is what an address received in the chain's own coin.
	Received(ctx context.Context, chainID, addr string) (*big.Int, error)
}

// Clusters gives the addresses an address is clustered with.
type Clusters interface {
	// Cluster returns up to limit other addresses of addr's cluster and
	// the cluster's size (1 when addr stands alone).
	Cluster(ctx context.Context, chainID, addr string, limit int) (members []string, size int, err error)
}

// Options configure a Screener.
type Options struct {
	// Model is the taint model of the indirect evidence. Default: FIFO.
	Model trace.Model
	// MaxHops bounds the traces. Default: the tracer's.
	MaxHops int
	// Clusters, if set, adds the flags of an address's cluster.
	Clusters Clusters
	// ClusterLimit is how many cluster members' flags are read. Default:
	// 1,000.
	ClusterLimit int
}

// Screener screens addresses.
type Screener struct {
	in     Intel
	idx    Index
	tracer *trace.Tracer
	opts   Options

	mu    sync.Mutex
	cache map[string]*view // by chain and viewer organisation
}

// view is what one viewer may see of one chain's intelligence, and what
// the traces of its incidents bring to each address: kept until the
// intelligence or the chain changes.
type view struct {
	added    int64
	flagsOf  map[string][]intel.Flag
	labelsOf map[string][]intel.WalletLabel
	incTLP   map[string]string
	// traced are the incidents with seeds on the chain, and labels the
	// labels their traces end at.
	traced []intel.Incident
	labels map[string]trace.Label
	exp    *exposure
}

// New returns a screener.
func New(in Intel, idx Index, opts Options) *Screener {
	if opts.Model == "" {
		opts.Model = trace.FIFO
	}
	if opts.ClusterLimit <= 0 {
		opts.ClusterLimit = 1000
	}
	return &Screener{in: in, idx: idx, tracer: trace.New(idx), opts: opts, cache: map[string]*view{}}
}

// Result is a screening.
type Result struct {
	Chain    string     `json:"chain"`
	Address  string     `json:"address"`
	Level    string     `json:"level"`
	Score    int        `json:"score"`
	Direct   []Direct   `json:"direct"`
	Indirect []Indirect `json:"indirect"`
	// ClusterSize is the size of the address's cluster, when clustering
	// is on.
	ClusterSize int `json:"cluster_size,omitempty"`
	// Received is what the address received in the chain's own coin.
	Received trace.Amount `json:"received"`
}

// Direct is a flag on the address (or on an address of its cluster): the
// flagging object as intel.Flag describes it, or a label of a risky
// category, with its source.
type Direct struct {
	intel.Flag
	Source string `json:"source,omitempty"`
	// Via is the cluster member that carries the flag ("" for the
	// address itself).
	Via   string  `json:"via,omitempty"`
	Score float64 `json:"score"`
}

// Indirect is stolen value that reached the address.
type Indirect struct {
	Incident     string       `json:"incident"`
	IncidentName string       `json:"incident_name"`
	Model        trace.Model  `json:"model"`
	Amount       trace.Amount `json:"amount"`
	// Share is the tainted amount over all the address received.
	Share float64  `json:"share"`
	Hops  int      `json:"hops"`
	Tx    string   `json:"tx"`
	Path  []string `json:"path"`
	Score float64  `json:"score"`
}

// exposure is, for one chain and one viewer, what the traces of the
// incidents it may see bring to each address, as of numTx transactions.
type exposure struct {
	numTx uint32
	by    map[string][]Indirect
}

// Screen screens one address as v.
func (s *Screener) Screen(ctx context.Context, v access.Viewer, chainID, addr string) (*Result, error) {
	rs, err := s.Batch(ctx, v, chainID, []string{addr})
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// Batch screens up to MaxBatch addresses of one chain as v.
func (s *Screener) Batch(ctx context.Context, v access.Viewer, chainID string, addrs []string) ([]Result, error) {
	if _, ok := chain.Lookup(chainID); !ok {
		return nil, fault.New(fault.Invalid, "unknown chain %q", chainID)
	}
	if len(addrs) == 0 {
		return nil, fault.New(fault.Invalid, "no address to screen")
	}
	if len(addrs) > MaxBatch {
		return nil, fault.New(fault.TooLarge, "%d addresses: a batch screens at most %d", len(addrs), MaxBatch)
	}
	canon := make([]string, len(addrs))
	for i, a := range addrs {
		c, err := address.Canonical(chainID, a)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "addresses[%d]: %v", i, errText(err))
		}
		canon[i] = c
	}
	vw, err := s.view(ctx, v, chainID)
	if err != nil {
		return nil, err
	}
	flagsOf, labelsOf, exp := vw.flagsOf, vw.labelsOf, vw.exp
	out := make([]Result, len(canon))
	for i, a := range canon {
		r := Result{Chain: chainID, Address: a, Direct: []Direct{}, Indirect: []Indirect{}, Received: trace.Amount{Int: new(big.Int)}}
		addDirect := func(member, via string) {
			for _, f := range flagsOf[member] {
				d := Direct{Flag: f, Via: via}
				d.Score = directScore(f.Category, f.Confidence, via != "")
				r.Direct = append(r.Direct, d)
			}
			for _, l := range labelsOf[member] {
				cat := l.Abuse
				if cat == "" {
					cat = l.Category
				}
				if _, risky := DirectWeights[cat]; !risky {
					continue // an exchange's or a miner's label is no flag
				}
				d := Direct{Flag: intel.Flag{Object: l.Object, Type: "relationship", Category: cat, Confidence: l.Confidence, TLP: l.TLP, Owner: l.Owner}, Source: l.Source, Via: via}
				d.Score = directScore(cat, l.Confidence, via != "")
				r.Direct = append(r.Direct, d)
			}
		}
		addDirect(a, "")
		if s.opts.Clusters != nil {
			members, size, err := s.opts.Clusters.Cluster(ctx, chainID, a, s.opts.ClusterLimit)
			if err != nil && fault.CodeOf(err) != fault.NotFound {
				return nil, err
			}
			r.ClusterSize = size
			for _, m := range members {
				addDirect(m, m)
			}
		}
		if recv, err := s.idx.Received(ctx, chainID, a); err == nil {
			r.Received.Int = recv
		}
		for _, in := range exp.by[a] {
			in.Share = share(in.Amount.Int, r.Received.Int)
			in.Score = indirectScore(in.Share, in.Hops)
			r.Indirect = append(r.Indirect, in)
		}
		best := 0.0
		for _, d := range r.Direct {
			best = math.Max(best, d.Score)
		}
		for _, in := range r.Indirect {
			best = math.Max(best, in.Score)
		}
		r.Score = int(math.Round(best))
		r.Level = Level(r.Score)
		sort.SliceStable(r.Direct, func(i, j int) bool { return r.Direct[i].Score > r.Direct[j].Score })
		sort.SliceStable(r.Indirect, func(i, j int) bool { return r.Indirect[i].Score > r.Indirect[j].Score })
		out[i] = r
	}
	var shown []intel.Evidence
	for _, r := range out {
		for _, d := range r.Direct {
			shown = append(shown, intel.Evidence{ID: d.Object, TLP: d.TLP})
		}
		for _, in := range r.Indirect {
			shown = append(shown, intel.Evidence{ID: in.Incident, TLP: vw.incTLP[in.Incident]})
		}
	}
	if err := s.in.AuditEvidence(ctx, v, shown, "screen"); err != nil {
		return nil, err
	}
	return out, nil
}

// view returns v's view of chainID: from the cache while neither the
// intelligence nor the chain changed.
func (s *Screener) view(ctx context.Context, v access.Viewer, chainID string) (*view, error) {
	added, err := s.in.LastAdded(ctx)
	if err != nil {
		return nil, err
	}
	var numTx uint32
	if g := s.idx.Graph(chainID); g != nil {
		g.RLock()
		numTx = g.NumTx()
		g.RUnlock()
	}
	key := chainID + "\x00" + v.Org
	s.mu.Lock()
	old, ok := s.cache[key]
	s.mu.Unlock()
	if ok && old.added == added && old.exp.numTx == numTx {
		return old, nil
	}
	vw := old
	if !ok || old.added != added {
		// The intelligence changed: read the viewer's flags, labels and
		// incidents again. When only the chain grew, they stand.
		if vw, err = s.readIntel(ctx, v, chainID, added); err != nil {
			return nil, err
		}
	} else {
		cp := *old
		vw = &cp
	}
	if vw.exp, err = s.exposure(ctx, chainID, numTx, vw); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = vw
	s.mu.Unlock()
	return vw, nil
}

// readIntel reads what v may see of chainID's intelligence.
func (s *Screener) readIntel(ctx context.Context, v access.Viewer, chainID string, added int64) (*view, error) {
	vw := &view{added: added, flagsOf: map[string][]intel.Flag{}, labelsOf: map[string][]intel.WalletLabel{}, incTLP: map[string]string{}}
	flags, err := s.in.Flags(ctx, v, intel.FlagQuery{Chain: chainID})
	if err != nil {
		return nil, err
	}
	for _, f := range flags {
		vw.flagsOf[f.Address] = append(vw.flagsOf[f.Address], f.Flags...)
	}
	labels, err := s.in.Labels(ctx, v, intel.FlagQuery{Chain: chainID})
	if err != nil {
		return nil, err
	}
	for _, l := range labels {
		vw.labelsOf[l.Address] = append(vw.labelsOf[l.Address], l)
	}
	incs, err := s.in.Incidents(ctx, v)
	if err != nil {
		return nil, err
	}
	for _, inc := range incs {
		vw.incTLP[inc.ID] = inc.TLP
		if len(trace.SeedsOf(inc, chainID)) > 0 {
			vw.traced = append(vw.traced, inc)
		}
	}
	vw.labels = trace.LabelsFrom(labels, nil)
	return vw, nil
}

func directScore(category string, confidence *int, viaCluster bool) float64 {
	w, ok := DirectWeights[category]
	if !ok {
		w = DefaultWeight
	}
	c := 100.0
	if confidence != nil {
		c = float64(*confidence)
	}
	s := w * c / 100
	if viaCluster {
		s *= ClusterFactor
	}
	return s
}

func share(tainted, received *big.Int) float64 {
	if received == nil || received.Sign() <= 0 {
		return 1
	}
	f, _ := new(big.Rat).SetFrac(tainted, received).Float64()
	return math.Min(f, 1)
}

func indirectScore(share float64, hops int) float64 {
	s := IndirectMax * share * math.Pow(HopDecay, float64(max(hops-1, 0)))
	return math.Max(s, IndirectFloor)
}

// exposure traces the view's incidents on chainID, as of numTx
// transactions, and files what each brings to each address.
func (s *Screener) exposure(ctx context.Context, chainID string, numTx uint32, vw *view) (*exposure, error) {
	e := &exposure{numTx: numTx, by: map[string][]Indirect{}}
	if numTx == 0 {
		return e, nil
	}
	for _, inc := range vw.traced {
		res, err := s.tracer.Trace(ctx, chainID, trace.SeedsOf(inc, chainID), trace.Options{Model: s.opts.Model, MaxHops: s.opts.MaxHops, Labels: vw.labels, MaxEdges: math.MaxInt32})
		if err != nil {
			if fault.CodeOf(err) == fault.NotFound || fault.CodeOf(err) == fault.Invalid {
				continue // a seed the index does not hold: nothing traced yet
			}
			return nil, fmt.Errorf("trace of %s: %w", inc.ID, err)
		}
		addExposure(e, inc, res)
	}
	return e, nil
}

// addExposure files what one incident's trace brought to each address.
func addExposure(e *exposure, inc intel.Incident, res *trace.Result) {
	paths := map[string][]string{}
	for _, ep := range res.Endpoints {
		paths[ep.Address] = ep.Path
	}
	acc := map[string]*Indirect{}
	var order []string
	for _, ed := range res.Edges {
		if ed.To == "" {
			continue
		}
		in := acc[ed.To]
		if in == nil {
			in = &Indirect{Incident: inc.ID, IncidentName: inc.Name, Model: res.Model, Amount: trace.Amount{Int: new(big.Int)}, Hops: ed.Hop, Tx: ed.Tx, Path: paths[ed.To]}
			if in.Path == nil {
				in.Path = []string{ed.Tx}
			}
			acc[ed.To] = in
			order = append(order, ed.To)
		}
		in.Amount.Add(in.Amount.Int, ed.Amount.Int)
		in.Hops = min(in.Hops, ed.Hop)
	}
	for _, a := range order {
		e.by[a] = append(e.by[a], *acc[a])
	}
}

func errText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return strings.TrimSpace(err.Error())
}
