package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/address"
	"github.com/cointrail/cointrail/internal/chain"
	"github.com/cointrail/cointrail/internal/chainstore"
	"github.com/cointrail/cointrail/internal/chart"
	"github.com/cointrail/cointrail/internal/cluster"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/screen"
	"github.com/cointrail/cointrail/internal/stix"
	"github.com/cointrail/cointrail/internal/trace"
)

// What the chain pages show at most, so that each answers quickly
// whatever the chain's size.
const (
	// historyPageSize is the entries of an address's history a page lists.
	historyPageSize = 25
	// clusterShown is how many other addresses of its cluster the address
	// page lists, each with the merges that join it to the address.
	clusterShown = 20
	// annotationsShown is how many transactions of each shape the trace
	// page lists.
	annotationsShown = 50
	// maxTraceHops is the deepest trace the pages run.
	maxTraceHops = 100
	// traceTimeout bounds a trace the pages run, besides the request's
	// own context (a visitor who leaves cancels it).
	traceTimeout = 30 * time.Second
)

// addressHref is the address page of addr on chainID.
func addressHref(chainID, addr string) string {
	return "/address/" + url.PathEscape(chainID) + "/" + url.PathEscape(addr)
}

// addressKey returns the index key of addr on chainID: its canonical form,
// or a script key ("script:<sha256 hex>") as given.
func addressKey(chainID, addr string) (string, error) {
	if strings.HasPrefix(addr, "script:") {
		return addr, nil
	}
	return address.Canonical(chainID, addr)
}

// addressPage is what the address page shows.
type addressPage struct {
	Chain, Address string
	// NoIndex: the node indexes no chain. Unseen: the index has never
	// seen the address.
	NoIndex, Unseen bool
	// Screen is nil when the node screens nothing.
	Screen   *screen.Result
	Direct   []directEvidence
	Indirect []indirectEvidence
	Labels   []intel.WalletLabel
	Cluster  *clusterView
	TxCount  uint64
	Balances []chainstore.AssetBalance
	History  []chainstore.HistoryEntry
	// Paged says History is not the first page; FirstURL links the
	// first, NextURL the next.
	Paged             bool
	FirstURL, NextURL string
	// Native is the asset of the chain's own coin, for amounts.
	Native string
}

// directEvidence is an object that flags the address, with its links.
type directEvidence struct {
	screen.Direct
	Href, Name       string // the flagging object
	IncidentHref     string // the incident it ties the address to
	IncidentName     string
	ActorHref        string
	ViaHref          string // the cluster member that carries the flag
	ConfidenceString string
}

// indirectEvidence is stolen value that reached the address, with the
// path it took.
type indirectEvidence struct {
	screen.Indirect
	Href  string
	Share string
	Steps []pathStep
}

// pathStep is a transaction of a path, and the address the value went to
// next ("" after the last transaction, or where the index does not say).
type pathStep struct {
	Tx, Via, ViaHref string
}

// clusterView is the address's cluster.
type clusterView struct {
	// Account: account chains are not clustered by common inputs.
	Account bool
	Size    int
	Members []clusterMember
	More    int
}

// clusterMember is another address of the cluster and the merges that
// join it to the address, in order.
type clusterMember struct {
	Address, Href string
	Steps         []cluster.Step
}

// address is the address page: its screening as the viewer with the
// evidence, its labels, and from the chain index its balance, history
// (paged by ?after=) and cluster with the merges that make it one.
func (s *Server) address(w http.ResponseWriter, r *http.Request) error {
	ctx, v := r.Context(), viewerOf(r)
	chainID := r.PathValue("chain")
	info, ok := chain.Lookup(chainID)
	if !ok {
		return fault.New(fault.NotFound, "unknown chain %q", chainID)
	}
	key, err := addressKey(chainID, r.PathValue("address"))
	if err != nil {
		return err
	}
	p := addressPage{Chain: chainID, Address: key, NoIndex: s.opts.Chain == nil, Native: chain.NativeAsset(chainID)}
	if s.opts.Screener != nil && !strings.HasPrefix(key, "script:") {
		if p.Screen, err = s.opts.Screener.Screen(ctx, v, chainID, key); err != nil {
			return err
		}
		if err := s.evidence(ctx, v, &p); err != nil {
			return err
		}
	}
	if p.Labels, err = s.svc.Labels(ctx, v, intel.FlagQuery{Chain: chainID, Address: key}); err != nil {
		return err
	}
	if s.opts.Chain != nil {
		view, err := s.opts.Chain.Address(ctx, chainID, key)
		switch {
		case fault.CodeOf(err) == fault.NotFound:
			p.Unseen = true
		case err != nil:
			return err
		default:
			p.TxCount, p.Balances = view.TxCount, view.Balances
			after := r.URL.Query().Get("after")
			hist, err := s.opts.Chain.History(ctx, chainID, key, after, historyPageSize)
			if err != nil {
				return err
			}
			p.History, p.Paged, p.FirstURL = hist.Entries, after != "", addressHref(chainID, key)+"#history"
			if hist.Next != "" {
				p.NextURL = addressHref(chainID, key) + "?" + url.Values{"after": {hist.Next}}.Encode()
			}
		}
	}
	if s.opts.Clusters != nil && !p.Unseen && !p.NoIndex {
		if info.Model != chain.UTXO {
			p.Cluster = &clusterView{Account: true, Size: 1}
		} else if p.Cluster, err = s.clusterOf(ctx, chainID, key); err != nil {
			return err
		}
	}
	return s.render(w, r, "address", short(key)+" on "+chainID, p)
}

// evidence fills in the links and paths of the page's screening.
func (s *Server) evidence(ctx context.Context, v access.Viewer, p *addressPage) error {
	res := p.Screen
	names := map[string]string{}
	if slices.ContainsFunc(res.Direct, func(d screen.Direct) bool { return d.Incident != "" || d.Type == "incident" }) {
		incs, err := s.svc.Incidents(ctx, v)
		if err != nil {
			return err
		}
		for _, inc := range incs {
			names[inc.ID] = inc.Name
		}
	}
	for _, d := range res.Direct {
		e := directEvidence{Direct: d, Href: "/api/v1/objects/" + url.PathEscape(d.Object), Name: d.Type}
		if d.Type == "incident" {
			e.Href, e.Name = "/incidents/"+url.PathEscape(d.Object), cmp.Or(names[d.Object], d.Object)
		}
		if d.Incident != "" && d.Incident != d.Object {
			e.IncidentHref, e.IncidentName = "/incidents/"+url.PathEscape(d.Incident), cmp.Or(names[d.Incident], d.Incident)
		}
		if d.Actor != "" {
			e.ActorHref = "/actors/" + url.PathEscape(d.Actor)
		}
		if d.Via != "" {
			e.ViaHref = addressHref(p.Chain, d.Via)
		}
		if d.Confidence != nil {
			e.ConfidenceString = strconv.Itoa(*d.Confidence)
		}
		p.Direct = append(p.Direct, e)
	}
	txs := map[string]*chainstore.TxView{} // the transactions read, by hash
	for _, in := range res.Indirect {
		e := indirectEvidence{Indirect: in, Href: "/incidents/" + url.PathEscape(in.Incident), Share: strconv.FormatFloat(in.Share*100, 'f', 1, 64) + "%"}
		for i, tx := range in.Path {
			st := pathStep{Tx: tx}
			if i+1 < len(in.Path) {
				st.Via = s.paidTo(ctx, p.Chain, tx, in.Path[i+1], txs)
				if st.Via != "" {
					st.ViaHref = addressHref(p.Chain, st.Via)
				}
			}
			e.Steps = append(e.Steps, st)
		}
		p.Indirect = append(p.Indirect, e)
	}
	return nil
}

// paidTo returns the address that transaction tx paid and transaction
// next spent from: where value went between two steps of a path. It
// returns "" when the index does not say (an account chain, or a
// transaction it lacks).
func (s *Server) paidTo(ctx context.Context, chainID, tx, next string, seen map[string]*chainstore.TxView) string {
	if s.opts.Chain == nil {
		return ""
	}
	t, ok := seen[tx]
	if !ok {
		t, _ = s.opts.Chain.Tx(ctx, chainID, tx)
		seen[tx] = t
	}
	if t == nil {
		return ""
	}
	for _, o := range t.Outputs {
		if o.SpentBy != nil && o.SpentBy.Tx == next {
			return cmp.Or(o.Key, o.Address)
		}
	}
	return ""
}

// clusterOf returns key's cluster on a UTXO chain, with the merges that
// join each listed member to key.
func (s *Server) clusterOf(ctx context.Context, chainID, key string) (*clusterView, error) {
	members, size, err := s.opts.Clusters.Cluster(ctx, chainID, key, clusterShown)
	if fault.CodeOf(err) == fault.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cv := &clusterView{Size: size, More: max(size-1-len(members), 0)}
	c, err := s.opts.Clusters.Clusterer(ctx, chainID)
	if err != nil || c == nil {
		return cv, err
	}
	g := c.Graph()
	a, err := g.AddrNum(key)
	if err != nil {
		return cv, nil
	}
	for _, m := range members {
		cm := clusterMember{Address: m, Href: addressHref(chainID, m)}
		if n, err := g.AddrNum(m); err == nil {
			if path, same := c.Explain(a, n); same {
				if cm.Steps, err = cluster.Describe(g, path); err != nil {
					return nil, err
				}
			}
		}
		cv.Members = append(cv.Members, cm)
	}
	return cv, nil
}

// traceKey names a trace as a page shows it: it changes when the
// intelligence (seeds, labels, visibility) or the chain does.
type traceKey struct {
	org, role, chain string
	// seeds is the incident, or the seed outpoints as given.
	seeds     string
	model     trace.Model
	maxHops   int
	lastAdded int64
	txs       uint64
}

// traceQuery is what a trace page is asked: the chain, the seeds (an
// incident's, or outputs and transactions) and the model.
type traceQuery struct {
	Chain    string
	Incident string
	From     []string
	Model    trace.Model
	MaxHops  int
}

// values returns the query's URL parameters.
func (q traceQuery) values() url.Values {
	v := url.Values{"chain": {q.Chain}, "model": {string(q.Model)}}
	if q.Incident != "" {
		v.Set("incident", q.Incident)
	} else {
		v.Set("from", strings.Join(q.From, ","))
	}
	if q.MaxHops > 0 {
		v.Set("max_hops", strconv.Itoa(q.MaxHops))
	}
	return v
}

// parseTraceQuery reads a trace's parameters. It returns false when the
// request names no seeds (the form is to be shown).
func parseTraceQuery(r *http.Request) (traceQuery, bool, error) {
	in := r.URL.Query()
	q := traceQuery{Chain: in.Get("chain"), Incident: strings.TrimSpace(in.Get("incident")), Model: trace.FIFO}
	if f := strings.TrimSpace(in.Get("from")); f != "" {
		q.From = strings.Split(f, ",")
	}
	if q.Incident == "" && len(q.From) == 0 {
		return q, false, nil
	}
	if q.Incident != "" && len(q.From) > 0 {
		return q, true, fault.New(fault.Malformed, "a trace starts from an incident or from outputs (from=TXID:VOUT,...), not both")
	}
	if q.Chain == "" {
		return q, true, fault.New(fault.Malformed, "a trace needs a chain (chain=...)")
	}
	if _, ok := chain.Lookup(q.Chain); !ok {
		return q, true, fault.New(fault.NotFound, "unknown chain %q", q.Chain)
	}
	if m := in.Get("model"); m != "" {
		model, err := trace.ParseModel(m)
		if err != nil {
			return q, true, fault.Wrap(fault.Malformed, err, "%v", err)
		}
		q.Model = model
	}
	if h := in.Get("max_hops"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 || n > maxTraceHops {
			return q, true, fault.New(fault.Malformed, "max_hops %q is not a number from 1 to %d", h, maxTraceHops)
		}
		q.MaxHops = n
	}
	return q, true, nil
}

// runTrace runs q as the request's viewer: the seeds and the labels are
// those the viewer may see.
func (s *Server) runTrace(r *http.Request, q traceQuery) (*trace.Result, error) {
	if s.opts.Tracer == nil || s.opts.Chain == nil {
		return nil, fault.New(fault.Unavailable, "this node indexes no chain to trace on")
	}
	ctx, v := r.Context(), viewerOf(r)
	last, err := s.svc.LastAdded(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.opts.Chain.Status(q.Chain)
	if err != nil {
		return nil, err
	}
	key := traceKey{org: v.Org, role: string(v.Role), chain: q.Chain, seeds: q.Incident + "|" + strings.Join(q.From, ","),
		model: q.Model, maxHops: q.MaxHops, lastAdded: last, txs: st.Txs}
	if res, ok := s.traces.get(key); ok {
		return res, nil
	}
	var seeds []trace.Seed
	if q.Incident != "" {
		seeds, err = trace.IncidentSeeds(ctx, s.svc, v, q.Incident, q.Chain)
	} else {
		seeds, err = trace.ParseFrom(q.Chain, q.From, nil, "")
	}
	if err != nil {
		return nil, err
	}
	labels, err := trace.LabelsFor(ctx, s.svc, v, q.Chain, nil)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, traceTimeout)
	defer cancel()
	res, err := s.opts.Tracer.Trace(tctx, q.Chain, seeds, trace.Options{Model: q.Model, MaxHops: q.MaxHops, Labels: labels})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil, fault.Wrap(fault.Unavailable, err, "the trace took longer than %s: trace fewer hops (max_hops) or from fewer seeds", traceTimeout)
	}
	if err != nil {
		return nil, err
	}
	s.traces.put(key, res)
	return res, nil
}

// tracePage is what the trace page shows: the form, or a trace.
type tracePage struct {
	Form *traceForm
	traceQuery
	IncidentName string
	Res          *trace.Result
	Models       []modelLink
	Flow, Bars   template.HTML
	Stops        []stopRow
	Annotations  []annotationGroup
	JSONURL      string
	STIXURL      string
	// Export are the parameters of the STIX export form.
	Export url.Values
}

// modelLink is an entry of the model switch.
type modelLink struct {
	Model   trace.Model
	Href    string
	Current bool
}

// annotationGroup is the transactions of a trace that have one shape.
type annotationGroup struct {
	Kind string
	// Count counts the transactions; Txs lists the first of them.
	Count int
	Txs   []trace.Annotation
	// MinPeel and MaxPeel bound the lengths of the peel chains.
	MinPeel, MaxPeel int
}

// annotationGroups groups a trace's annotations by kind, in the order
// the kinds first occur.
func annotationGroups(as []trace.Annotation) []annotationGroup {
	var out []annotationGroup
	at := map[string]int{}
	for _, a := range as {
		for _, k := range a.Kinds {
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, annotationGroup{Kind: k})
			}
			g := &out[i]
			g.Count++
			if len(g.Txs) < annotationsShown {
				g.Txs = append(g.Txs, a)
			}
			if a.PeelLength > 0 {
				if g.MinPeel == 0 || a.PeelLength < g.MinPeel {
					g.MinPeel = a.PeelLength
				}
				g.MaxPeel = max(g.MaxPeel, a.PeelLength)
			}
		}
	}
	return out
}

// stopRow is the total of one reason a trace stopped for.
type stopRow struct {
	Reason, Meaning string
	trace.StopTotal
}

// stopReasons are the reasons a trace stops, in the order shown, with
// what each means.
var stopReasons = [][2]string{
	{trace.StopUnspent, "still in unspent outputs"},
	{trace.StopHops, "beyond the hop limit"},
	{trace.StopDust, "below the dust threshold"},
	{trace.StopWindow, "beyond the block window"},
	{trace.StopBurned, "sent to no address (burned)"},
	{trace.StopNotFound, "spent by transactions the index lacks"},
}

// traceForm asks what to trace.
type traceForm struct {
	Chains    []string
	Incidents []incidentOption
	Models    []trace.Model
}

// incidentOption is an incident the viewer may trace: one with
// theft-destination wallets on an indexed chain.
type incidentOption struct {
	ID, Name, Chain string
}

// traceView is the trace page: without seeds, the form that asks for
// them; with them, the trace run as the viewer under the chosen model,
// drawn as a flow, with its endpoints, stops, annotations and exports.
func (s *Server) traceView(w http.ResponseWriter, r *http.Request) error {
	q, seeded, err := parseTraceQuery(r)
	if err != nil {
		return err
	}
	if !seeded {
		f, err := s.traceForm(r)
		if err != nil {
			return err
		}
		return s.render(w, r, "trace", "Trace", tracePage{Form: f})
	}
	res, err := s.runTrace(r, q)
	if err != nil {
		return err
	}
	p := tracePage{traceQuery: q, Res: res}
	title := "Trace"
	if q.Incident != "" {
		incs, err := s.svc.Incidents(r.Context(), viewerOf(r))
		if err != nil {
			return err
		}
		for _, inc := range incs {
			if inc.ID == q.Incident {
				p.IncidentName = inc.Name
				title = "Trace of " + inc.Name
			}
		}
	}
	for _, m := range trace.Models {
		mq := q
		mq.Model = m
		p.Models = append(p.Models, modelLink{Model: m, Href: "/trace?" + mq.values().Encode(), Current: m == q.Model})
	}
	format := baseFormat(res.Asset)
	p.Flow = template.HTML(chart.Flow(res, chart.FlowOptions{
		Title:  title + " (" + string(q.Model) + ")",
		Width:  960,
		Href:   func(a string) string { return addressHref(q.Chain, a) },
		Format: format,
	}))
	p.Bars = template.HTML(serviceBars(res, q.Chain, format))
	for _, sr := range stopReasons {
		if t, ok := res.StopTotals[sr[0]]; ok {
			p.Stops = append(p.Stops, stopRow{Reason: sr[0], Meaning: sr[1], StopTotal: t})
		}
	}
	p.Annotations = annotationGroups(res.Annotations)
	ex := q.values()
	ex.Set("format", "json")
	p.JSONURL = "/trace/export?" + ex.Encode()
	ex.Set("format", "stix")
	ex.Set("tlp", "green")
	p.STIXURL = "/trace/export?" + ex.Encode()
	ex.Del("tlp")
	p.Export = ex
	return s.render(w, r, "trace", title, p)
}

// traceForm lists what the viewer may trace.
func (s *Server) traceForm(r *http.Request) (*traceForm, error) {
	f := &traceForm{Models: trace.Models}
	if s.opts.Chain == nil || s.opts.Tracer == nil {
		return f, nil
	}
	f.Chains = s.opts.Chain.Chains()
	incs, err := s.svc.Incidents(r.Context(), viewerOf(r))
	if err != nil {
		return nil, err
	}
	for i := len(incs) - 1; i >= 0; i-- {
		for _, c := range f.Chains {
			if len(trace.SeedsOf(incs[i], c)) > 0 {
				f.Incidents = append(f.Incidents, incidentOption{ID: incs[i].ID, Name: incs[i].Name, Chain: c})
			}
		}
	}
	return f, nil
}

// traceExport downloads the trace the page shows: its result as JSON
// (format=json), or a STIX bundle to share (format=stix, marked as tlp,
// TLP:GREEN by default, authored by the viewer's organisation).
func (s *Server) traceExport(w http.ResponseWriter, r *http.Request) error {
	q, seeded, err := parseTraceQuery(r)
	if err != nil {
		return err
	}
	if !seeded {
		return fault.New(fault.Malformed, "an export needs the trace's seeds: incident=ID or from=TXID:VOUT,...")
	}
	format := r.URL.Query().Get("format")
	var level stix.TLP
	switch format {
	case "json":
	case "stix":
		if level, err = stix.ParseTLP(cmp.Or(r.URL.Query().Get("tlp"), "green")); err != nil {
			return fault.Wrap(fault.Malformed, err, "tlp: %v", err)
		}
	default:
		return fault.New(fault.Malformed, "format %q: export as json or stix", format)
	}
	res, err := s.runTrace(r, q)
	if err != nil {
		return err
	}
	var body any = res
	ctype := "application/json"
	if format == "stix" {
		objs, err := res.STIX(trace.ShareOptions{TLP: level, Incident: q.Incident, CreatedBy: viewerOf(r).Org, Now: s.opts.Now()})
		if err != nil {
			return err
		}
		body, ctype = stix.NewBundle(objs), "application/stix+json;version=2.1"
	}
	out, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("trace-%s-%s.%s.json", q.Chain, q.Model, format)
	if format == "json" {
		name = fmt.Sprintf("trace-%s-%s.json", q.Chain, q.Model)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(append(out, '\n'))
	return nil
}

// baseFormat writes an amount of asset given in base units in the
// asset's whole units ("150000000" is "1.5 BTC").
func baseFormat(asset string) func(string) string {
	return func(base string) string {
		n, ok := new(big.Int).SetString(base, 10)
		if !ok {
			return base
		}
		return amount(n, asset)
	}
}

// serviceBars charts the amounts that reached each service a trace
// ended at, largest first, each bar linked to the service's address that
// got the most.
func serviceBars(res *trace.Result, chainID string, format func(string) string) []byte {
	type service struct {
		label, href string
		total       *big.Int
	}
	var order []*service
	by := map[string]*service{}
	for _, e := range res.Endpoints { // largest first: the first seen gets the link
		name := cmp.Or(e.Entity, e.Address)
		sv := by[name]
		if sv == nil {
			label := name
			if e.Category != "" {
				label += " (" + e.Category + ")"
			}
			sv = &service{label: label, href: addressHref(chainID, e.Address), total: new(big.Int)}
			by[name] = sv
			order = append(order, sv)
		}
		if e.Amount.Int != nil {
			sv.total.Add(sv.total, e.Amount.Int)
		}
	}
	slices.SortStableFunc(order, func(a, b *service) int { return b.total.Cmp(a.total) })
	bars := make([]chart.Bar, len(order))
	for i, sv := range order {
		f, _ := new(big.Float).SetInt(sv.total).Float64()
		bars[i] = chart.Bar{Label: sv.label, Value: f, Href: sv.href}
	}
	return chart.Bars(chart.BarChart{
		Title: "Traced value reaching each service",
		Bars:  bars,
		Width: 720,
		Format: func(v float64) string {
			n, _ := new(big.Float).SetFloat64(v).Int(nil)
			return format(n.String())
		},
	})
}
