package web

import (
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cointrail/cointrail/internal/intel"
)

type homePage struct {
	Incidents, Actors, Flagged int
	LossUSD                    string
	Chains                     []chainSummary
	Coincheck                  *intel.Incident
	TraceURL, TraceName        string
	Anonymous, PublicRead      bool
}

type chainSummary struct {
	Chain       string
	Blocks, Txs uint64
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	p := homePage{Anonymous: v.Anonymous(), PublicRead: s.opts.PublicRead}
	if v.Anonymous() && !s.opts.PublicRead {
		return s.render(w, r, "home", "Home", p)
	}
	incs, err := s.svc.Incidents(r.Context(), v)
	if err != nil {
		return err
	}
	p.Incidents = len(incs)
	total := new(big.Rat)
	actors := map[string]bool{}
	for i := range incs {
		inc := &incs[i]
		if x, ok := new(big.Rat).SetString(inc.LossUSD); ok {
			total.Add(total, x)
		}
		for _, a := range inc.Actors {
			actors[a.ID] = true
		}
		if p.Coincheck == nil && slices.ContainsFunc(inc.Victims, func(v intel.Party) bool { return strings.EqualFold(v.Name, "Coincheck") }) {
			p.Coincheck = inc
		}
	}
	p.Actors = len(actors)
	p.LossUSD = total.FloatString(2)
	flags, err := s.svc.Flags(r.Context(), v, intel.FlagQuery{})
	if err != nil {
		return err
	}
	p.Flagged = len(flags)
	if s.opts.Chain != nil {
		indexed := map[string]bool{}
		for _, c := range s.opts.Chain.Chains() {
			st, err := s.opts.Chain.Status(c)
			if err != nil || st.Txs == 0 {
				continue
			}
			indexed[c] = true
			p.Chains = append(p.Chains, chainSummary{Chain: c, Blocks: st.Blocks, Txs: st.Txs})
		}
		// The trace to try first: the latest incident whose stolen funds
		// went to an address on a chain the node indexes.
		for i := len(incs) - 1; i >= 0 && p.TraceURL == ""; i-- {
			for _, w := range incs[i].Wallets {
				if w.Role == "theft-destination" && indexed[w.Chain] {
					p.TraceURL = "/trace?" + url.Values{"chain": {w.Chain}, "incident": {incs[i].ID}}.Encode()
					p.TraceName = incs[i].Name
					break
				}
			}
		}
	}
	return s.render(w, r, "home", "Home", p)
}
