package web

import (
	"cmp"
	"context"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/alert"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
	"github.com/cointrail/cointrail/internal/trace"
)

// incidentFilter is the incident list's query: free text and filters.
type incidentFilter struct {
	Q, Actor, Year, Country, TLP string
}

func filterOf(r *http.Request) incidentFilter {
	q := r.URL.Query()
	return incidentFilter{
		Q:       strings.TrimSpace(q.Get("q")),
		Actor:   q.Get("actor"),
		Year:    q.Get("year"),
		Country: strings.ToUpper(q.Get("country")),
		TLP:     q.Get("tlp"),
	}
}

// match says whether inc passes the filter. The text matches the
// incident's name, its victims and its actors, in any case.
func (f incidentFilter) match(inc *intel.Incident) bool {
	if f.Year != "" && !strings.HasPrefix(inc.Date, f.Year) {
		return false
	}
	if f.TLP != "" && !strings.EqualFold(inc.TLP, f.TLP) {
		return false
	}
	if f.Actor != "" && !slices.ContainsFunc(inc.Actors, func(a intel.Attribution) bool { return a.ID == f.Actor }) {
		return false
	}
	if f.Country != "" && !slices.ContainsFunc(inc.Victims, func(p intel.Party) bool { return p.Country == f.Country }) {
		return false
	}
	if f.Q == "" {
		return true
	}
	q := strings.ToLower(f.Q)
	hay := []string{inc.Name}
	for _, p := range inc.Victims {
		hay = append(hay, p.Name)
	}
	for _, a := range inc.Actors {
		hay = append(hay, a.Name)
	}
	for _, w := range inc.Wallets {
		hay = append(hay, w.Value)
	}
	return slices.ContainsFunc(hay, func(s string) bool { return strings.Contains(strings.ToLower(s), q) })
}

type incidentsPage struct {
	Filter    incidentFilter
	Incidents []intel.Incident
	Total     int
	LossUSD   string
	Actors    []intel.Attribution
	Years     []string
	Countries []string
	TLPs      []string
	CanCreate bool
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	all, err := s.svc.Incidents(r.Context(), v)
	if err != nil {
		return err
	}
	p := incidentsPage{Filter: filterOf(r), Total: len(all), CanCreate: access.Allowed(v, access.Write)}
	actors := map[string]intel.Attribution{}
	years, countries, tlps := map[string]bool{}, map[string]bool{}, map[string]bool{}
	total := new(big.Rat)
	for i := range all {
		inc := &all[i]
		for _, a := range inc.Actors {
			actors[a.ID] = a
		}
		if len(inc.Date) >= 4 {
			years[inc.Date[:4]] = true
		}
		for _, v := range inc.Victims {
			if v.Country != "" {
				countries[v.Country] = true
			}
		}
		tlps[inc.TLP] = true
		if p.Filter.match(inc) {
			p.Incidents = append(p.Incidents, *inc)
			if x, ok := new(big.Rat).SetString(inc.LossUSD); ok {
				total.Add(total, x)
			}
		}
	}
	// Latest first: the list is read for what is new.
	slices.SortStableFunc(p.Incidents, func(a, b intel.Incident) int { return cmp.Compare(b.Date, a.Date) })
	p.LossUSD = total.FloatString(2)
	for _, a := range actors {
		p.Actors = append(p.Actors, a)
	}
	slices.SortFunc(p.Actors, func(a, b intel.Attribution) int { return cmp.Compare(a.Name, b.Name) })
	p.Years, p.Countries, p.TLPs = sortedKeys(years), sortedKeys(countries), sortedKeys(tlps)
	slices.Reverse(p.Years)
	return s.render(w, r, "incidents", "Incidents", p)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// findIncident returns the incident id as the request's viewer sees it,
// or a not-found error that does not tell whether it exists.
func (s *Server) findIncident(ctx context.Context, v access.Viewer, id string) (*intel.Incident, error) {
	incs, err := s.svc.Incidents(ctx, v)
	if err != nil {
		return nil, err
	}
	for i := range incs {
		if incs[i].ID == id {
			return &incs[i], nil
		}
	}
	return nil, fault.New(fault.NotFound, "no incident %s that you may see", id)
}

type incidentPage struct {
	Incident   *intel.Incident
	Commentary []commentary
	Owner      string
	OwnIt      bool
	Wallets    []walletGroup
	Traces     []liveTrace
	Alerts     []alert.Alert
	AlertsOff  bool
}

type walletGroup struct {
	Role    string
	Wallets []intel.RoleWallet
}

// liveTrace is what an incident's stolen funds reached on one chain, per
// exchange (entity) and model, as the viewer sees the labels.
type liveTrace struct {
	Chain, Asset string
	Models       []trace.Model
	Rows         []liveRow
	Tainted      trace.Amount
	Err          string
	URL          string
}

type liveRow struct {
	Entity, Category string
	Amounts          []trace.Amount // by Models
}

// incidentModels are the models an incident page compares.
var incidentModels = []trace.Model{trace.FIFO, trace.Haircut, trace.Poison}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := viewerOf(r)
	inc, err := s.findIncident(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	p := incidentPage{Incident: inc, Owner: inc.Owner, OwnIt: !v.Anonymous() && inc.Owner == v.Org}
	if org, err := s.svc.Org(ctx, v, inc.Owner); err == nil {
		p.Owner = org.Name
	}
	byRole := map[string][]intel.RoleWallet{}
	chains := map[string]bool{}
	for _, w := range inc.Wallets {
		byRole[w.Role] = append(byRole[w.Role], w)
		if w.Role == "theft-destination" && w.Chain != "" {
			chains[w.Chain] = true
		}
	}
	for _, role := range sortedKeys(boolKeys(byRole)) {
		p.Wallets = append(p.Wallets, walletGroup{Role: role, Wallets: byRole[role]})
	}
	if s.opts.Chain != nil && s.opts.Tracer != nil {
		for _, c := range sortedKeys(chains) {
			if st, err := s.opts.Chain.Status(c); err != nil || st.Txs == 0 {
				continue
			}
			p.Traces = append(p.Traces, s.liveTrace(r, inc.ID, c))
		}
	}
	if p.Commentary, err = s.commentary(ctx, v, inc.ID); err != nil {
		return err
	}
	if s.opts.Alerts == nil || v.Anonymous() {
		p.AlertsOff = true
	} else {
		all, err := s.opts.Alerts.Alerts(ctx, v, alert.Filter{Org: v.Org})
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.Incident == inc.ID {
				p.Alerts = append(p.Alerts, a)
			}
		}
		slices.Reverse(p.Alerts)
	}
	return s.render(w, r, "incident", inc.Name, p)
}

// amountOf is a's value, zero when unset.
func amountOf(a trace.Amount) *big.Int {
	if a.Int == nil {
		return new(big.Int)
	}
	return a.Int
}

// commentary is a note or an opinion on an incident, with its author's
// name.
type commentary struct {
	intel.Commentary
	Author string
}

// commentary lists the notes and opinions the viewer may see on incident
// id or on its relationships (its attribution).
func (s *Server) commentary(ctx context.Context, v access.Viewer, id string) ([]commentary, error) {
	list, err := s.svc.CommentaryOn(ctx, v, id)
	if err != nil {
		return nil, err
	}
	out := make([]commentary, 0, len(list))
	for _, c := range list {
		author := c.Owner
		if org, err := s.svc.Org(ctx, v, c.Owner); err == nil {
			author = org.Name
		}
		out = append(out, commentary{Commentary: c, Author: author})
	}
	return out, nil
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// liveTrace traces incident id on chainID under each of incidentModels at
// once, side by side, as the trace page does (and sharing its kept traces),
// and tabulates the amounts per entity.
func (s *Server) liveTrace(r *http.Request, id, chainID string) liveTrace {
	q := traceQuery{Chain: chainID, Incident: id, Model: trace.FIFO}
	lt := liveTrace{Chain: chainID, Models: incidentModels, URL: "/trace?" + q.values().Encode()}
	results := make([]*trace.Result, len(incidentModels))
	errs := make([]error, len(incidentModels))
	var wg sync.WaitGroup
	for i, m := range incidentModels {
		wg.Go(func() {
			q := q
			q.Model = m
			results[i], errs[i] = s.runTrace(r, q)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			lt.Err = fault.MessageOf(err)
			return lt
		}
	}
	lt.Rows, lt.Tainted, lt.Asset = tabulate(results), results[0].Tainted, results[0].Asset
	return lt
}

// tabulate sets side by side the amounts each entity received under each
// of incidentModels, largest first under the first.
func tabulate(results []*trace.Result) []liveRow {
	rows := map[string]*liveRow{}
	for i, res := range results {
		for _, ep := range res.Endpoints {
			row := rows[ep.Entity]
			if row == nil {
				row = &liveRow{Entity: ep.Entity, Category: ep.Category, Amounts: make([]trace.Amount, len(incidentModels))}
				rows[ep.Entity] = row
			}
			sum := new(big.Int)
			if row.Amounts[i].Int != nil {
				sum.Set(row.Amounts[i].Int)
			}
			if ep.Amount.Int != nil {
				sum.Add(sum, ep.Amount.Int)
			}
			row.Amounts[i] = trace.Amount{Int: sum}
		}
	}
	out := make([]liveRow, 0, len(rows))
	for _, row := range rows {
		out = append(out, *row)
	}
	// Largest first under the first model.
	slices.SortFunc(out, func(a, b liveRow) int {
		if c := amountOf(b.Amounts[0]).Cmp(amountOf(a.Amounts[0])); c != 0 {
			return c
		}
		return cmp.Compare(a.Entity, b.Entity)
	})
	return out
}

type actorsPage struct {
	Actors []actorSummary
}

// actorSummary is an actor with what the viewer may see of its incidents.
type actorSummary struct {
	ID, Name, Type string
	Aliases        []string
	Description    string
	Incidents      []intel.Incident
	LossUSD        string
	Unpriced       int
	Wallets        []intel.RoleWallet
	TLP            string
}

// actorSummaries gathers the actors the viewer may see: the threat-actor
// and intrusion-set objects, and the actors incidents are attributed to.
func (s *Server) actorSummaries(ctx context.Context, v access.Viewer) ([]actorSummary, error) {
	byID := map[string]*actorSummary{}
	err := s.listAll(ctx, v, []string{"threat-actor", "intrusion-set"}, func(rec *intel.Record) error {
		o, err := rec.Object()
		if err != nil {
			return err
		}
		byID[o.ID] = &actorSummary{ID: o.ID, Name: o.String("name"), Type: o.Type, Aliases: o.Strings("aliases"), Description: o.String("description"), TLP: rec.TLP.String()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	incs, err := s.svc.Incidents(ctx, v)
	if err != nil {
		return nil, err
	}
	totals := map[string]*big.Rat{}
	for i := range incs {
		inc := &incs[i]
		for _, a := range inc.Actors {
			as := byID[a.ID]
			if as == nil {
				as = &actorSummary{ID: a.ID, Name: a.Name, Type: a.Type}
				byID[a.ID] = as
			}
			as.Incidents = append(as.Incidents, *inc)
			if x, ok := new(big.Rat).SetString(inc.LossUSD); ok {
				if totals[a.ID] == nil {
					totals[a.ID] = new(big.Rat)
				}
				totals[a.ID].Add(totals[a.ID], x)
			} else {
				as.Unpriced++
			}
			as.Wallets = append(as.Wallets, inc.Wallets...)
		}
	}
	out := make([]actorSummary, 0, len(byID))
	for id, as := range byID {
		as.LossUSD = "0.00"
		if t := totals[id]; t != nil {
			as.LossUSD = t.FloatString(2)
		}
		out = append(out, *as)
	}
	slices.SortFunc(out, func(a, b actorSummary) int {
		if c := cmp.Compare(len(b.Incidents), len(a.Incidents)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out, nil
}

func (s *Server) actors(w http.ResponseWriter, r *http.Request) error {
	all, err := s.actorSummaries(r.Context(), viewerOf(r))
	if err != nil {
		return err
	}
	return s.render(w, r, "actors", "Actors", actorsPage{Actors: all})
}

func (s *Server) actor(w http.ResponseWriter, r *http.Request) error {
	all, err := s.actorSummaries(r.Context(), viewerOf(r))
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for i := range all {
		if all[i].ID == id {
			return s.render(w, r, "actor", all[i].Name, &all[i])
		}
	}
	return fault.New(fault.NotFound, "no actor %s that you may see", id)
}
