package trace

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cointrail/cointrail/internal/access"
	"github.com/cointrail/cointrail/internal/fault"
	"github.com/cointrail/cointrail/internal/intel"
)

// Intel is what a trace reads of the node's intelligence: wallet labels
// and incidents, as one viewer sees them.
type Intel interface {
	Labels(ctx context.Context, v access.Viewer, q intel.FlagQuery) ([]intel.WalletLabel, error)
	Incidents(ctx context.Context, v access.Viewer) ([]intel.Incident, error)
}

// SeedRole is the role of an incident's wallets that seed its trace.
const SeedRole = "theft-destination"

// LabelsFor returns the labels of chainID's addresses that v may see, by
// address. Of several labels on one address, the one of an endpoint
// category wins, then the most confident.
func LabelsFor(ctx context.Context, in Intel, v access.Viewer, chainID string, endpoints []string) (map[string]Label, error) {
	ws, err := in.Labels(ctx, v, intel.FlagQuery{Chain: chainID})
	if err != nil {
		return nil, fmt.Errorf("labels of %s: %w", chainID, err)
	}
	return LabelsFrom(ws, endpoints), nil
}

// LabelsFrom returns wallet labels by address, as LabelsFor does, from
// labels already read.
func LabelsFrom(ws []intel.WalletLabel, endpoints []string) map[string]Label {
	if endpoints == nil {
		endpoints = DefaultEndpointCategories
	}
	rank := func(l Label) int {
		r := 0
		if slices.Contains(endpoints, l.Category) {
			r = 1000
		}
		if l.Confidence != nil {
			r += *l.Confidence
		}
		return r
	}
	out := map[string]Label{}
	for _, w := range ws {
		l := Label{Entity: w.Entity, Category: w.Category, Confidence: w.Confidence, Source: w.Source}
		if old, ok := out[w.Address]; ok && rank(old) >= rank(l) {
			continue
		}
		out[w.Address] = l
	}
	return out
}

// IncidentSeeds returns the seeds of incident id on chainID as v sees it:
// its wallets related with role theft-destination.
func IncidentSeeds(ctx context.Context, in Intel, v access.Viewer, id, chainID string) ([]Seed, error) {
	incs, err := in.Incidents(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	for _, inc := range incs {
		if inc.ID != id {
			continue
		}
		seeds := SeedsOf(inc, chainID)
		if len(seeds) == 0 {
			return nil, fault.New(fault.Invalid, "incident %s has no %s wallet on %s to trace from", id, SeedRole, chainID)
		}
		return seeds, nil
	}
	return nil, fault.New(fault.NotFound, "no incident %s visible to this organisation", id)
}

// SeedMargin is how long before an incident's date its seeds' funds start
// to count. Dates are often given to the day, in the victim's time zone
// (a theft at 00:30 in Tokyo is the day before in UTC), or to the month as
// its first day; block times may run up to two hours behind their blocks.
const SeedMargin = 48 * time.Hour

// SeedsOf returns the seeds of an incident on chainID: its wallets there
// related with role theft-destination. When the incident is dated (the
// theft's own date, not the record's), funds that reached those wallets
// more than [SeedMargin] before it do not count.
func SeedsOf(inc intel.Incident, chainID string) []Seed {
	var from time.Time
	if inc.Dated {
		if t, err := time.Parse(time.RFC3339, inc.Date); err == nil {
			from = t.Add(-SeedMargin)
		}
	}
	var seeds []Seed
	for _, w := range inc.Wallets {
		if w.Role == SeedRole && w.Chain == chainID {
			seeds = append(seeds, Seed{Kind: SeedAddress, Address: w.Value, From: from, Note: fmt.Sprintf("%s of %s", SeedRole, inc.ID)})
		}
	}
	return seeds
}

// before says whether a block time t is before the seed's From.
func (s *Seed) before(t time.Time) bool {
	return !s.From.IsZero() && !t.IsZero() && t.Before(s.From)
}
